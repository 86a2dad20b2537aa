/**
 * Approval gates (WAIT_FOR_APPLY) end to end, with real Docker and the real API: a run stops at the
 * gate holding no container or runner slot, APPLY goes on from the next action on the same pipeline
 * filesystem and records the approver, CANCEL ends a waiting run, a restart keeps it waiting, and only
 * callers who may run the pipeline approve. Runs on SQLite and PostgreSQL (test/api).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SCOPES } from '../../src/domain/scopes.ts';
import { eventsSince } from '../../src/store/executions.ts';
import { createToken, findUserByEmailAddress } from '../../src/store/identity.ts';
import {
  addAction,
  freePort,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import {
  actionNamed,
  executionLabels,
  removeDirs,
  runningContainersWith,
  runPipeline,
  waitFor,
} from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);

before(async () => {
  h = await startGantry();
});
after(async () => {
  await h.close();
  removeDirs(repo.dir);
});

const waiting = (e: any) => e.status === 'WAITING_FOR_APPLY';

/** Build (writes a file), Notify (ON_WAIT_FOR_APPROVE), the gate, then Deploy (reads the file). */
async function gatedPipeline(pipeline: Record<string, unknown> = {}) {
  const p = await setupPipeline(h, repo.dir, pipeline);
  await addAction(h, p.pipelinePath, {
    name: 'Build',
    inline_commands: 'echo "built by $BUDDY_EXECUTION_ID" > artifact.txt; echo a >> a.txt',
  });
  await addAction(h, p.pipelinePath, {
    name: 'Notify',
    trigger_time: 'ON_WAIT_FOR_APPROVE',
    inline_commands: 'echo "approval needed for $BUDDY_EXECUTION_ID"',
  });
  const gate = await h.request('POST', `${p.pipelinePath}/actions`, {
    name: 'Approve',
    type: 'WAIT_FOR_APPLY',
    comment: 'Deploy execution $BUDDY_EXECUTION_ID?',
  });
  assert.equal(gate.status, 201, JSON.stringify(gate.body));
  assert.equal(gate.body.comment, 'Deploy execution $BUDDY_EXECUTION_ID?');
  await addAction(h, p.pipelinePath, { name: 'Deploy', inline_commands: 'cat artifact.txt; cat a.txt' });
  return { ...p, gateId: gate.body.id as number };
}

test('a run waits at the gate holding nothing, and APPLY goes on to SUCCESSFUL with the approver recorded', async () => {
  const { pipelinePath } = await gatedPipeline();
  const started = await runPipeline(h, pipelinePath);
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const e = await waitForExecution(h, started.path, 60_000, (x) => waiting(x) || x.finish_date !== null);
  assert.equal(e.status, 'WAITING_FOR_APPLY', JSON.stringify(e));
  assert.equal(e.finish_date, null);
  assert.equal(actionNamed(e, 'Build').status, 'SUCCESSFUL');
  assert.equal(actionNamed(e, 'Notify').status, 'SUCCESSFUL', 'ON_WAIT_FOR_APPROVE ran at the gate');
  assert.equal(actionNamed(e, 'Approve').status, 'WAITING_FOR_APPLY');
  assert.equal(actionNamed(e, 'Approve').approver_id, null);
  assert.equal(actionNamed(e, 'Deploy').status, 'ENQUEUED');
  const notify = await logsOf(h, started.path, actionNamed(e, 'Notify').action_execution_id);
  assert.ok(notify.includes(`approval needed for ${e.id}`), notify.join('\n'));
  const gateId = actionNamed(e, 'Approve').action_execution_id as string;
  const question = await logsOf(h, started.path, gateId);
  assert.equal(question[0], `Waiting for approval: Deploy execution ${e.id}?`);

  // Nothing holds a runner or a container while it waits; the pipeline shows the wait.
  await waitFor('the runner to let the execution go', () => h.gantry.engine.runningCount === 0);
  assert.deepEqual(runningContainersWith(...executionLabels(h.dataDir, e.id)), []);
  const pipeline = await h.request('GET', pipelinePath);
  assert.equal(pipeline.body.last_execution_status, 'WAITING_FOR_APPLY');
  // It stays waiting: no timer ends it.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await h.request('GET', started.path)).body.status, 'WAITING_FOR_APPLY');

  const applied = await h.request('PATCH', started.path, { operation: 'APPLY', comment: 'ship it' });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  const done = await waitForExecution(h, started.path);
  assert.equal(done.status, 'SUCCESSFUL', JSON.stringify(done));
  const me = (await h.request('GET', '/api/user')).body;
  const gate = actionNamed(done, 'Approve');
  assert.equal(gate.status, 'SUCCESSFUL');
  assert.equal(gate.approver_id, me.id);
  assert.ok(gate.approval_date && Date.parse(gate.approval_date) >= Date.parse(e.start_date));
  // The run went on where it stopped, on the same filesystem: Build did not run again.
  assert.equal(actionNamed(done, 'Build').start_date, actionNamed(e, 'Build').start_date);
  const deploy = await logsOf(h, started.path, actionNamed(done, 'Deploy').action_execution_id);
  assert.ok(deploy.includes(`built by ${e.id}`), deploy.join('\n'));
  assert.deepEqual(
    deploy.filter((l) => l === 'a'),
    ['a', 'a'],
    'the tracked file Build changed was not checked out again',
  );
  const gateLog = await logsOf(h, started.path, gateId);
  assert.match(gateLog.at(-1)!, /^Approved by .+: ship it$/);
  assert.equal((await h.request('GET', pipelinePath)).body.last_execution_status, 'SUCCESSFUL');

  // APPLY on an execution that does not wait is refused, saying why.
  const again = await h.request('PATCH', started.path, { operation: 'APPLY' });
  assert.equal(again.status, 400);
  assert.match(again.body.errors[0].message, /SUCCESSFUL, not waiting for an approval/);
});

test('CANCEL while waiting ends the run TERMINATED and APPLY is refused afterwards', async () => {
  const { pipelinePath } = await gatedPipeline();
  const started = await runPipeline(h, pipelinePath);
  await waitForExecution(h, started.path, 60_000, waiting);
  const cancelled = await h.request('PATCH', started.path, { operation: 'CANCEL' });
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  assert.equal(cancelled.body.status, 'TERMINATED');
  const gate = actionNamed(cancelled.body, 'Approve');
  assert.equal(gate.status, 'TERMINATED');
  assert.equal(gate.terminator_id, (await h.request('GET', '/api/user')).body.id);
  assert.equal(actionNamed(cancelled.body, 'Deploy').status, 'NOT_EXECUTED');
  const refused = await h.request('PATCH', started.path, { operation: 'APPLY' });
  assert.equal(refused.status, 400);
  assert.equal((await h.request('GET', pipelinePath)).body.last_execution_status, 'TERMINATED');
});

test('a run waiting at a restart still waits after it, and APPLY then finishes it', async () => {
  const { pipelinePath } = await gatedPipeline();
  const started = await runPipeline(h, pipelinePath);
  const before = await waitForExecution(h, started.path, 60_000, waiting);
  await h.restart();
  const after = (await h.request('GET', started.path)).body;
  assert.equal(after.status, 'WAITING_FOR_APPLY', JSON.stringify(after));
  assert.equal(after.error_message, null);
  assert.deepEqual(
    after.action_executions.map((a: any) => a.status),
    before.action_executions.map((a: any) => a.status),
  );
  const applied = await h.request('PATCH', started.path, { operation: 'APPLY' });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  const done = await waitForExecution(h, started.path);
  assert.equal(done.status, 'SUCCESSFUL', JSON.stringify(done));
  assert.equal(actionNamed(done, 'Build').start_date, actionNamed(before, 'Build').start_date);
});

test('a waiting run holds a one-at-a-time pipeline: the next run starts after the approval', async () => {
  const { pipelinePath } = await gatedPipeline();
  const first = await runPipeline(h, pipelinePath);
  await waitForExecution(h, first.path, 60_000, waiting);
  const second = await runPipeline(h, pipelinePath);
  assert.equal(second.status, 200);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await h.request('GET', second.path)).body.status, 'ENQUEUED');
  assert.equal((await h.request('PATCH', first.path, { operation: 'APPLY' })).status, 200);
  assert.equal((await waitForExecution(h, first.path)).status, 'SUCCESSFUL');
  // The second run reaches its own gate; the first was not skipped in favour of it.
  assert.equal((await waitForExecution(h, second.path, 60_000, waiting)).status, 'WAITING_FOR_APPLY');
  await h.request('PATCH', second.path, { operation: 'CANCEL' });
});

test('a READ_ONLY member may not approve; a RUN_ONLY member may, and is the approver', async () => {
  const { pipelinePath, projectPath } = await gatedPipeline();
  const tokenOf = async (email: string, setId: number): Promise<{ token: string; id: number }> => {
    const member = await h.request('POST', '/api/workspaces/ws/members', { email });
    assert.equal(member.status, 201, JSON.stringify(member.body));
    const granted = await h.request('POST', `${projectPath}/members`, {
      id: member.body.id,
      permission_set: { id: setId },
    });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    const user = await findUserByEmailAddress(h.gantry.db, email);
    const { token } = await createToken(h.gantry.db, {
      userId: user!.id,
      name: email,
      scopes: [...SCOPES],
      ipRestrictions: [],
      workspaceRestrictions: [],
      expiresAt: null,
    });
    return { token, id: member.body.id };
  };
  const sets = (await h.request('GET', '/api/workspaces/ws/permissions')).body.permission_sets as any[];
  const readOnly = sets.find((s) => s.type === 'READ_ONLY').id as number;
  const runner = await h.request('POST', '/api/workspaces/ws/permissions', {
    name: `runner-${Math.random().toString(36).slice(2, 6)}`,
    pipeline_access_level: 'RUN_ONLY',
    repository_access_level: 'READ_ONLY',
    project_team_access_level: 'READ_ONLY',
    sandbox_access_level: 'READ_ONLY',
    environment_access_level: 'USE_ONLY',
  });
  assert.equal(runner.status, 201, JSON.stringify(runner.body));
  const reader = await tokenOf('reader@example.com', readOnly);
  const approver = await tokenOf('runner@example.com', runner.body.id);

  const started = await runPipeline(h, pipelinePath);
  await waitForExecution(h, started.path, 60_000, waiting);
  const refused = await h.request('PATCH', started.path, { operation: 'APPLY' }, { token: reader.token });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal((await h.request('GET', started.path)).body.status, 'WAITING_FOR_APPLY');
  const applied = await h.request('PATCH', started.path, { operation: 'APPLY' }, { token: approver.token });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  const done = await waitForExecution(h, started.path);
  assert.equal(done.status, 'SUCCESSFUL');
  assert.equal(actionNamed(done, 'Approve').approver_id, approver.id);
});

test('the gate: saved fields, refused ones, and the waiting state in webhooks and the event stream', async () => {
  const { pipelinePath } = await gatedPipeline();
  const bad = [
    { trigger_time: 'ON_SUCCESS' },
    { permissions: { others: 'DENIED' } },
    { retry_count: 2 },
    { inline_commands: 'true' },
  ];
  for (const extra of bad) {
    const res = await h.request('POST', `${pipelinePath}/actions`, {
      name: `gate ${JSON.stringify(extra)}`,
      type: 'WAIT_FOR_APPLY',
      ...extra,
    });
    assert.equal(res.status, 400, `${JSON.stringify(extra)}: ${JSON.stringify(res.body)}`);
  }
  const hook = await h.request('POST', '/api/workspaces/ws/webhooks', {
    target_url: `http://127.0.0.1:${await freePort()}/hook`,
    events: ['EXECUTION_WAITING_FOR_APPLY'],
  });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  const started = await runPipeline(h, pipelinePath);
  await waitForExecution(h, started.path, 60_000, waiting);
  const requests = await waitFor('the webhook delivery', async () => {
    const w = await h.request('GET', `/api/workspaces/ws/webhooks/${hook.body.id}`);
    return (w.body.requests as any[]).find((r) => JSON.parse(r.body).execution.id === started.body.id);
  });
  assert.equal(requests.event, 'EXECUTION_WAITING_FOR_APPLY');
  assert.equal(JSON.parse(requests.body).execution.status, 'WAITING_FOR_APPLY');
  // The execution's event stream (and the workspace's) send these rows as they are written.
  const events = await eventsSince(h.gantry.db, started.body.id, 0);
  assert.ok(
    events.some((ev) => ev.type === 'execution' && JSON.parse(ev.payload).status === 'WAITING_FOR_APPLY'),
    JSON.stringify(events),
  );
  assert.ok(
    events.some(
      (ev) => ev.type === 'action_execution' && JSON.parse(ev.payload).status === 'WAITING_FOR_APPLY',
    ),
  );
  await h.request('PATCH', started.path, { operation: 'CANCEL' });
  await h.request('DELETE', `/api/workspaces/ws/webhooks/${hook.body.id}`);
});
