import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { openDatabase } from '../../src/store/database.ts';
import { addAction, makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';
import { runToEnd } from '../support/runs.ts';

/**
 * The pipeline list and GET action reuse each item's JSON while the rows it was made from read the
 * same (PresentedJsonCache). Every way those rows change must show on the very next read: writes
 * through the API, the engine's own (a run's status), and another process writing the database (a
 * second server, the CLI). Each test reads first, so the JSON is cached, then changes one thing.
 */
let h: Harness;
let projectPath: string;
let pipelinePath: string;
let pipelineId: number;
let actionPath: string;
let removeRepo: () => void;

before(async () => {
  h = await startGantry();
  const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'a\n' } }]);
  removeRepo = () => rmSync(repo.dir, { recursive: true, force: true });
  ({ projectPath, pipelinePath, pipelineId } = await setupPipeline(h, repo.dir));
  const first = await addAction(h, pipelinePath, { name: 'First' });
  const second = await addAction(h, pipelinePath, { name: 'Second' });
  actionPath = `${pipelinePath}/actions/${second.id}`;
  assert.equal((await h.request('GET', `${pipelinePath}/actions/${first.id}`)).status, 200);
});

after(async () => {
  await h.close();
  removeRepo();
});

async function listed(): Promise<any> {
  const res = await h.request('GET', `${projectPath}/pipelines`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const item = res.body.pipelines.find((p: any) => p.id === pipelineId);
  assert.ok(item, 'the pipeline is listed');
  return item;
}

async function action(): Promise<any> {
  const res = await h.request('GET', actionPath);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Writes through a second connection to the same database, as another server or the CLI would. */
async function otherProcess(
  write: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<unknown>,
): Promise<void> {
  const other = await openDatabase(h.databaseUrl, h.dataDir);
  try {
    await write(other);
  } finally {
    await other.destroy();
  }
}

test('the same answer twice: the second read comes from the cache and equals the first', async () => {
  assert.deepEqual(await listed(), await listed());
  assert.deepEqual(await action(), await action());
});

test('a pipeline PATCH (name, settings) shows in the list and in its actions', async () => {
  await listed();
  await action();
  const res = await h.request('PATCH', pipelinePath, { name: 'Renamed', priority: 'HIGH', refs: ['main'] });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const item = await listed();
  assert.equal(item.name, 'Renamed');
  assert.equal(item.priority, 'HIGH');
  assert.deepEqual(item.refs, ['main']);
  const a = await action();
  assert.equal(a.pipeline.name, 'Renamed');
  assert.equal(a.pipeline.priority, 'HIGH');
  assert.deepEqual(a.pipeline.refs, ['main']);
  // Back to no refs (runs below then take the repository's default branch), seen at once too.
  assert.equal((await h.request('PATCH', pipelinePath, { refs: [] })).status, 200);
  assert.deepEqual((await listed()).refs, []);
  assert.deepEqual((await action()).pipeline.refs, []);
});

test('an action PATCH and a move show at once (name, settings, after_action_id)', async () => {
  const before = await action();
  assert.notEqual(before.after_action_id, null);
  const res = await h.request('PATCH', actionPath, {
    name: 'Moved',
    inline_commands: 'echo hi',
    after_action_id: 0,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const a = await action();
  assert.equal(a.name, 'Moved');
  assert.equal(a.inline_commands, 'echo hi');
  assert.equal(a.after_action_id, null);
});

test("a run's outcome shows: the pipeline's and the action's last_execution_status and revision", async () => {
  const item = await listed();
  assert.equal(item.last_execution_status, 'INITIAL');
  assert.equal((await action()).last_execution_status, 'INITIAL');
  const { execution } = await runToEnd(h, pipelinePath);
  assert.equal(execution.status, 'SUCCESSFUL');
  const after = await listed();
  assert.equal(after.last_execution_status, 'SUCCESSFUL');
  assert.equal(after.last_execution_revision, execution.to_revision.revision);
  const a = await action();
  assert.equal(a.last_execution_status, 'SUCCESSFUL');
  assert.equal(a.current_revision, execution.to_revision.revision);
  assert.equal(a.pipeline.last_execution_status, 'SUCCESSFUL');
});

test("the creator's new name, the project's new display name and the workspace's new domain show", async () => {
  await listed();
  await action();
  assert.equal((await h.request('PATCH', '/api/user', { name: 'New Name' })).status, 200);
  assert.equal((await listed()).creator.name, 'New Name');
  const project = projectPath.split('/').pop();
  assert.equal((await h.request('PATCH', projectPath, { display_name: 'Shown Anew' })).status, 200);
  assert.equal((await listed()).project.display_name, 'Shown Anew');
  assert.equal((await h.request('PATCH', '/api/workspaces/ws', { domain: 'ws2' })).status, 200);
  try {
    projectPath = `/api/workspaces/ws2/projects/${project}`;
    pipelinePath = `${projectPath}/pipelines/${pipelineId}`;
    actionPath = `${pipelinePath}/actions/${actionPath.split('/').pop()}`;
    const item = await listed();
    assert.match(item.url, /\/workspaces\/ws2\//);
    assert.match(item.project.url, /\/workspaces\/ws2\//);
    assert.match(item.creator.url, /\/workspaces\/ws2\//);
    const a = await action();
    assert.match(a.url, /\/workspaces\/ws2\//);
    assert.match(a.pipeline.url, /\/workspaces\/ws2\//);
  } finally {
    assert.equal((await h.request('PATCH', '/api/workspaces/ws2', { domain: 'ws' })).status, 200);
    projectPath = projectPath.replace('/ws2/', '/ws/');
    pipelinePath = pipelinePath.replace('/ws2/', '/ws/');
    actionPath = actionPath.replace('/ws2/', '/ws/');
  }
  assert.match((await listed()).url, /\/workspaces\/ws\//);
});

test('writes by another process show on the next read (no time bound, nothing to invalidate)', async () => {
  await listed();
  await action();
  await otherProcess(async (db) => {
    await db
      .updateTable('pipelines')
      .set({
        last_execution_status: 'FAILED',
        last_skipped_trigger: JSON.stringify({
          date: '2026-01-01T00:00:00Z',
          trigger: 'PUSH',
          ref: 'x',
          reason: 'r',
        }),
      })
      .where('id', '=', pipelineId)
      .execute();
    await db
      .updateTable('actions')
      .set({ last_execution_status: 'TERMINATED', name: 'Elsewhere' })
      .where('id', '=', Number(actionPath.split('/').pop()))
      .execute();
  });
  const item = await listed();
  assert.equal(item.last_execution_status, 'FAILED');
  assert.equal(item.last_skipped_trigger.reason, 'r');
  const a = await action();
  assert.equal(a.last_execution_status, 'TERMINATED');
  assert.equal(a.name, 'Elsewhere');
  assert.equal(a.pipeline.last_execution_status, 'FAILED');
});

test("the page as a whole follows its counts and each creator's role, written by another process", async () => {
  const invited = await h.request('POST', '/api/workspaces/ws/members', { email: 'second@example.com' });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  const page = async (): Promise<any> => {
    const res = await h.request('GET', `${projectPath}/pipelines?page=1&per_page=20`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const before = await page();
  assert.deepEqual(await page(), before);
  let added = 0;
  await otherProcess(async (db) => {
    const row = await db
      .selectFrom('pipelines')
      .selectAll()
      .where('id', '=', pipelineId)
      .executeTakeFirstOrThrow();
    const { id: _id, ...copy } = row;
    added = (
      await db
        .insertInto('pipelines')
        .values({ ...copy, identifier: 'by-the-second', name: 'By the second', creator_id: invited.body.id })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  });
  const grown = await page();
  assert.equal(grown.total_element_count, before.total_element_count + 1);
  assert.equal(grown.element_count, before.element_count + 1);
  const theirs = grown.pipelines.find((p: any) => p.id === added);
  assert.equal(theirs.name, 'By the second');
  assert.equal(theirs.creator.id, invited.body.id);
  assert.equal(theirs.creator.admin, false);
  await otherProcess((db) =>
    db.updateTable('workspace_members').set({ admin: 1 }).where('user_id', '=', invited.body.id).execute(),
  );
  assert.equal((await page()).pipelines.find((p: any) => p.id === added).creator.admin, true);
  await otherProcess((db) => db.deleteFrom('pipelines').where('id', '=', added).execute());
  assert.deepEqual(await page(), before);
});

test('a deleted action and a deleted pipeline are gone at once', async () => {
  await action();
  assert.equal((await h.request('DELETE', actionPath)).status, 204);
  assert.equal((await h.request('GET', actionPath)).status, 404);
  await listed();
  assert.equal((await h.request('DELETE', pipelinePath)).status, 204);
  const res = await h.request('GET', `${projectPath}/pipelines`);
  assert.equal(res.status, 200);
  assert.equal(
    res.body.pipelines.some((p: any) => p.id === pipelineId),
    false,
  );
});
