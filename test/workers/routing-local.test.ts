/**
 * Routing with a server's own local runner: a pipeline without routing runs in the server (worker
 * null); one naming tags never does, and waits with a visible reason while no worker holds them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { addAction, makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';
import { removeDirs, runPipeline, runToEnd, waitFor } from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'a\n' } }]);

before(async () => {
  h = await startGantry();
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
});

test('an unrouted pipeline runs in the server; a tagged one waits for a worker, saying why', async () => {
  const plain = await setupPipeline(h, repo.dir, { name: 'plain' });
  await addAction(h, plain.pipelinePath, { name: 'a' });
  const ran = await runToEnd(h, plain.pipelinePath);
  assert.equal(ran.execution.status, 'SUCCESSFUL');
  assert.equal(ran.execution.worker, null);

  const tagged = await setupPipeline(h, repo.dir, { name: 'tagged', tags: ['gpu'], cpu: 'X64' });
  await addAction(h, tagged.pipelinePath, { name: 'a' });
  const waiting = await runPipeline(h, tagged.pipelinePath);
  assert.equal(waiting.status, 200);
  const reason = await waitFor(
    'a wait reason',
    async () => (await h.request('GET', waiting.path)).body.wait_reason,
  );
  assert.equal(reason, 'waiting for a worker with tags gpu on X64: none is connected');
  assert.equal((await h.request('GET', waiting.path)).body.status, 'ENQUEUED');
  // A cancel of the waiting run works as for any queued one.
  const cancelled = await h.request('PATCH', waiting.path, { operation: 'CANCEL' });
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.body.status, 'TERMINATED');
  assert.equal(cancelled.body.wait_reason, null);
});
