/**
 * Seed 000's four example run requests against a pipeline of seed-004-style RUN_DOCKER_CONTAINER
 * actions on the local busybox image, through the real Docker engine and real git.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import {
  actionNamed,
  containersWith,
  executionCount,
  instanceLabel,
  removeDirs,
  runPipeline,
  runToEnd,
} from '../support/runs.ts';

/** Top-level keys of seed 000's example response; every one must be present (null is fine for environment/package). */
const EXECUTION_KEYS = [
  'url',
  'html_url',
  'id',
  'start_date',
  'finish_date',
  'triggered_on',
  'priority',
  'refresh',
  'clear_cache',
  'status',
  'comment',
  'branch',
  'to_revision',
  'creator',
  'environment',
  'package',
  'package_version',
  'pipeline',
  'action_executions',
];
const ACTION_EXECUTION_KEYS = [
  'url',
  'html_url',
  'action_execution_id',
  'start_date',
  'finish_date',
  'status',
  'progress',
  'action',
  'passed_variables',
  'outputted_variables',
];
const ACTION_KEYS = [
  'url',
  'html_url',
  'id',
  'name',
  'type',
  'current_revision',
  'trigger_time',
  'run_next',
  'disabled',
  'timeout',
  'ignore_errors',
  'last_execution_status',
];
/** Keys of the pipeline object nested in seed 000's example response. */
const PIPELINE_KEYS =
  'url html_url id identifier name definition_source git_config_ref refs events priority last_execution_status last_execution_revision execution_message_template always_from_scratch ignore_fail_on_project_status strict_context no_skip_to_most_recent terminate_stale_runs auto_clear_cache fail_on_prepare_env_warning concurrent_pipeline_runs do_not_create_commit_status waiting_for_push resources git_changeset_base filesystem_changeset_base cpu description_required'.split(
    ' ',
  );
const REVISION_KEYS = [
  'url',
  'html_url',
  'revision',
  'author_date',
  'commit_date',
  'message',
  'committer',
  'author',
];

let h: Harness;
let repo: { dir: string; shas: string[] };
let pipelinePath: string;
let actionIds: number[];
const short = (sha: string): string => sha.slice(0, 10);

function assertSeedShape(e: any): void {
  for (const key of EXECUTION_KEYS) assert.ok(key in e, `execution lacks "${key}"`);
  for (const key of REVISION_KEYS) assert.ok(key in e.to_revision, `to_revision lacks "${key}"`);
  for (const key of PIPELINE_KEYS) assert.ok(key in e.pipeline, `pipeline lacks "${key}"`);
  for (const key of ['url', 'html_url', 'name', 'default'])
    assert.ok(key in e.branch, `branch lacks "${key}"`);
  assert.equal(typeof e.id, 'number');
  assert.equal(typeof e.triggered_on, 'string');
  assert.equal(e.pipeline.id, Number(pipelinePath.split('/').pop()));
  assert.equal(e.action_executions.length, 3);
  for (const a of e.action_executions) {
    for (const key of ACTION_EXECUTION_KEYS) assert.ok(key in a, `action execution lacks "${key}"`);
    for (const key of ACTION_KEYS) assert.ok(key in a.action, `action lacks "${key}"`);
    assert.match(a.action_execution_id, /^[0-9a-f]{24}$/);
  }
}

before(async () => {
  h = await startGantry();
  repo = makeRepo([
    { message: 'first', files: { 'version.txt': 'one\n' } },
    { message: 'second', files: { 'version.txt': 'two\n' } },
  ]);
  ({ pipelinePath } = await setupPipeline(h, repo.dir, { refs: ['refs/heads/master'] }));
  // Seed 004's fields; the first writes a file the second reads, the third only proves it ran.
  const writer = await addAction(h, pipelinePath, {
    name: 'write',
    type: 'RUN_DOCKER_CONTAINER',
    docker_image_name: 'gantry-test/busybox',
    docker_image_tag: 'latest',
    inline_commands: 'cp version.txt seen.txt\nseq 1 10\necho "version=$version"\necho "pass=$pass"',
    mount_filesystem_disable: false,
  });
  const reader = await addAction(h, pipelinePath, {
    name: 'read',
    inline_commands: 'echo "read $(cat seen.txt)"\nenv | grep \'^version=\' || echo no-version',
  });
  const third = await addAction(h, pipelinePath, { name: 'third', inline_commands: 'echo third ran' });
  actionIds = [writer.id, reader.id, third.id];
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
});

test('body 1: to_revision (abbreviated sha) runs that commit; files pass from one action to the next; logs page by offset/limit', async () => {
  const started = await runPipeline(h, pipelinePath, {
    to_revision: { revision: short(repo.shas[0]!) },
    comment: 'Deploy hotfix to production',
  });
  assert.equal(started.status, 200);
  assertSeedShape(started.body);
  assert.ok(['ENQUEUED', 'INPROGRESS'].includes(started.body.status), started.body.status);
  assert.equal(started.body.to_revision.revision, repo.shas[0]);
  assert.equal(started.body.comment, 'Deploy hotfix to production');
  const path = started.path;
  const e = await waitForExecution(h, path);
  assertSeedShape(e);
  assert.equal(e.status, 'SUCCESSFUL');
  assert.ok(e.start_date && e.finish_date && e.finish_date >= e.start_date);
  assert.equal(e.to_revision.revision, repo.shas[0]);
  assert.equal(e.branch.name, 'master');
  assert.deepEqual(
    e.action_executions.map((a: any) => a.status),
    ['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL'],
  );
  assert.deepEqual(
    e.action_executions.map((a: any) => a.progress),
    [100, 100, 100],
  );
  // The second action read what the first wrote: the first commit's content.
  assert.ok((await logsOf(h, path, actionNamed(e, 'read').action_execution_id)).includes('read one'));
  const writeId = actionNamed(e, 'write').action_execution_id;
  const page = await h.request('GET', `${path}/action_executions/${writeId}/logs?offset=2&limit=3`);
  assert.equal(page.status, 200);
  assert.deepEqual(page.body.logs, ['3', '4', '5']);
  assert.equal(page.body.offset, 2);
  assert.equal(page.body.element_count, 3);
  assert.equal(page.body.total_element_count, 12);
  const single = await h.request('GET', `${path}/action_executions/${writeId}`);
  assert.equal(single.status, 200);
  assert.equal(single.body.status, 'SUCCESSFUL');
});

test('body 2: from_revision + priority HIGH + clear_cache run the second commit and report both revisions', async () => {
  const body = {
    to_revision: { revision: short(repo.shas[1]!) },
    from_revision: { revision: short(repo.shas[0]!) },
    comment: 'Testing new features',
    refresh: false,
    clear_cache: true,
    priority: 'HIGH',
  };
  const started = await runPipeline(h, pipelinePath, body);
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assertSeedShape(started.body);
  assert.equal(started.body.priority, 'HIGH');
  assert.equal(started.body.clear_cache, true);
  assert.equal(started.body.refresh, false);
  assert.equal(started.body.from_revision.revision, repo.shas[0]);
  const e = await waitForExecution(h, started.path);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  assert.equal(e.priority, 'HIGH');
  assert.equal(e.to_revision.revision, repo.shas[1]);
  assert.equal(e.from_revision.revision, repo.shas[0]);
  assert.ok((await logsOf(h, started.path, actionNamed(e, 'read').action_execution_id)).includes('read two'));
});

test('body 3: variables (one encrypted) reach the containers and actions_to_run runs only the chosen actions', async () => {
  // The pipeline's actions are the first of this server, so seed 000's literal ids 1 and 2 are real.
  assert.deepEqual(actionIds, [1, 2, 3]);
  const body = {
    to_revision: { revision: 'HEAD' },
    comment: 'hotfix',
    clear_cache: true,
    priority: 'HIGH',
    variables: [
      { key: 'version', value: '1.0' },
      { key: 'pass', value: 'qwerty', encrypted: true },
    ],
    actions_to_run: [1, 2],
  };
  const started = await runPipeline(h, pipelinePath, body);
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.ok(!JSON.stringify(started.body).includes('qwerty'));
  const e = await waitForExecution(h, started.path);
  assert.equal(e.status, 'SUCCESSFUL');
  assert.equal(e.to_revision.revision, repo.shas[1]);
  assert.deepEqual(
    e.action_executions.map((a: any) => [a.action.id, a.status]),
    [
      [actionIds[0], 'SUCCESSFUL'],
      [actionIds[1], 'SUCCESSFUL'],
      [actionIds[2], 'SKIPPED'],
    ],
  );
  const writeLogs = await logsOf(h, started.path, actionNamed(e, 'write').action_execution_id);
  assert.ok(writeLogs.includes('version=1.0'), writeLogs.join('\n'));
  assert.ok(writeLogs.includes('pass=***'), writeLogs.join('\n'));
  assert.ok(!writeLogs.join('\n').includes('qwerty'));
  // env proves the value is in the container's environment, not only substituted into the command.
  const readLogs = await logsOf(h, started.path, actionNamed(e, 'read').action_execution_id);
  assert.ok(readLogs.includes('version=1.0'), readLogs.join('\n'));
  assert.ok(!JSON.stringify(e).includes('qwerty'));
  const list = await h.request('GET', `${pipelinePath}/executions`);
  assert.ok(!JSON.stringify(list.body).includes('qwerty'));
});

test('body 4: environment "staging" is refused with 404 naming it, and nothing is created', async () => {
  const before = await executionCount(h, pipelinePath);
  const res = await runPipeline(h, pipelinePath, {
    to_revision: { revision: 'HEAD' },
    comment: 'Deploy specific package to staging',
    environment: 'staging',
    package_version: 'my_app:1.2.3',
  });
  assert.equal(res.status, 404);
  assert.match(res.body.errors[0].message, /staging/);
  assert.equal(await executionCount(h, pipelinePath), before);
});

test('an unknown revision, branch or action id is refused and creates nothing', async () => {
  const before = await executionCount(h, pipelinePath);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ to_revision: { revision: 'deadbeef00' } }, /deadbeef00/],
    [{ to_revision: { revision: 'no-such-ref' } }, /no-such-ref/],
    [{ branch: { name: 'no-such-branch' } }, /no-such-branch/],
    [{ from_revision: { revision: 'abcdef1234' } }, /abcdef1234/],
    [{ actions_to_run: [actionIds[0]!, 999_999] }, /999999/],
  ];
  for (const [body, message] of cases) {
    const res = await runPipeline(h, pipelinePath, body);
    assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
    assert.match(res.body.errors[0].message, message);
  }
  assert.equal(await executionCount(h, pipelinePath), before);
});

test('a failing command fails its action with "exit code 3" and the pipeline records the last status and revision', async () => {
  const failRepo = makeRepo([{ message: 'only', files: { 'a.txt': 'a' } }]);
  try {
    const { pipelinePath: failing } = await setupPipeline(h, failRepo.dir);
    await addAction(h, failing, { name: 'fails-with-exit-3', inline_commands: 'echo about to fail\nexit 3' });
    await addAction(h, failing, { name: 'after', inline_commands: 'echo never' });
    const { execution: e } = await runToEnd(h, failing);
    assert.equal(e.status, 'FAILED');
    assert.equal(actionNamed(e, 'fails-with-exit-3').status, 'FAILED');
    assert.equal(actionNamed(e, 'fails-with-exit-3').error_message, 'exit code 3');
    assert.equal(actionNamed(e, 'after').status, 'NOT_EXECUTED');
    let p = await h.request('GET', failing);
    assert.equal(p.body.last_execution_status, 'FAILED');
    assert.equal(p.body.last_execution_revision, failRepo.shas[0]);

    await h.request('PATCH', `${failing}/actions/${actionNamed(e, 'fails-with-exit-3').action.id}`, {
      inline_commands: 'true',
    });
    const { execution: ok } = await runToEnd(h, failing);
    assert.equal(ok.status, 'SUCCESSFUL');
    p = await h.request('GET', failing);
    assert.equal(p.body.last_execution_status, 'SUCCESSFUL');
    assert.equal(p.body.last_execution_revision, failRepo.shas[0]);
    // The execution's own pipeline object says the same once it has finished.
    assert.equal(
      (await h.request('GET', `${failing}/executions/${ok.id}`)).body.pipeline.last_execution_status,
      'SUCCESSFUL',
    );
  } finally {
    removeDirs(failRepo.dir);
  }
});

test('the main pipeline reports its last execution and revision', async () => {
  const p = await h.request('GET', pipelinePath);
  assert.equal(p.body.last_execution_status, 'SUCCESSFUL');
  assert.equal(p.body.last_execution_revision, repo.shas[1]);
});
