/**
 * Two servers with local runners on one database (a shared SQLite file): a server that starts ends
 * only the interrupted runs of its own data directory, never a run another server is executing.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addAction, makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';
import { removeDirs, runPipeline, waitFor } from '../support/runs.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-local-sessions-'));
const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'a\n' } }]);
const shared = {
  databaseUrl: `sqlite:${path.join(dir, 'shared.db')}`,
  secretKeyFile: path.join(dir, 'secret.key'),
};
const harnesses: Harness[] = [];

after(async () => {
  for (const h of harnesses) await h.close().catch(() => undefined);
  removeDirs(dir, repo.dir);
});

test("a server starting on a shared database leaves another server's running execution alone", async () => {
  const a = await startGantry({ dataDir: path.join(dir, 'a'), config: shared });
  harnesses.push(a);
  const p = await setupPipeline(a, repo.dir, { name: 'long' });
  await addAction(a, p.pipelinePath, { name: 'sleeps', inline_commands: 'sleep 600' });
  const run = await runPipeline(a, p.pipelinePath);
  assert.equal(run.status, 200);
  await waitFor(
    'the action to run',
    async () => (await a.request('GET', run.path)).body.action_executions[0].status === 'INPROGRESS',
  );
  // The second server finds the admin the first created; its token file is copied for the harness.
  mkdirSync(path.join(dir, 'b'));
  copyFileSync(path.join(dir, 'a', 'admin.token'), path.join(dir, 'b', 'admin.token'));
  const b = await startGantry({ dataDir: path.join(dir, 'b'), config: shared });
  harnesses.push(b);
  const seen = (await b.request('GET', run.path)).body;
  assert.equal(seen.status, 'INPROGRESS', JSON.stringify(seen.error_message));
  assert.equal(seen.worker, null);
  const cancelled = await a.request('PATCH', run.path, { operation: 'CANCEL' });
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.body.status, 'TERMINATED');
});
