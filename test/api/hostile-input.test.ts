import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRepo, setupPipeline, startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';
import { assertBuddyError, snapshotRows } from '../support/api.ts';

/**
 * Issue 8 item 6: input the schemas let through and that broke later (a NUL in a ref made every later
 * run a 400; "1" was a date-time; 1e308 an integer; "/" a mount path; a BOM or UTF-16 body was saved as
 * garbage). Each is refused when sent, in Buddy's error shape with the right 4xx, and nothing is written.
 */

let h: Harness;
let pipelinePath = '';
let actionsPath = '';
let actionPath = '';

before(async () => {
  h = await startGantry();
  const setup = await setupPipeline(h, makeRepo([{ message: 'init', files: { a: '1' } }]).dir);
  pipelinePath = setup.pipelinePath;
  actionsPath = `${pipelinePath}/actions`;
  const action = await h.request('POST', actionsPath, ACTION);
  assert.equal(action.status, 201, JSON.stringify(action.body));
  actionPath = `${actionsPath}/${action.body.id}`;
});
after(() => h.close());

const ACTION = { name: 'Test', type: 'RUN_DOCKER_CONTAINER', ...TEST_IMAGE, inline_commands: 'true' };

interface Case {
  name: string;
  method: 'POST' | 'PATCH';
  path: () => string;
  body?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  mentions: string;
}

const RUN = { to_revision: { revision: 'HEAD' } };

const CASES: Case[] = [
  // NUL and control characters where names, refs and commands go.
  ...[
    ['pipeline refs with NUL', () => pipelinePath, { refs: ['a\u0000'] }, 'refs[0]'],
    ['pipeline refs with a bell', () => pipelinePath, { refs: ['main\u0007'] }, 'refs[0]'],
    ['pipeline name with a newline', () => pipelinePath, { name: 'x\ny' }, 'name'],
    ['image name with a newline', () => actionPath, { docker_image_name: 'busybox\n' }, 'docker_image_name'],
    ['image tag with NUL', () => actionPath, { docker_image_tag: 'la\u0000test' }, 'docker_image_tag'],
    ['run_as_user with NUL', () => actionPath, { run_as_user: 'root\u0000' }, 'run_as_user'],
    ['run_as_user with ESC', () => actionPath, { run_as_user: 'app\u001b[2J' }, 'run_as_user'],
    ['entrypoint with a control character', () => actionPath, { entrypoint: 'sh\u0001' }, 'entrypoint'],
    ['volume mapping with a tab', () => actionPath, { volume_mappings: ['a:/m\t'] }, 'volume_mappings[0]'],
    ['inline commands with NUL', () => actionPath, { inline_commands: 'echo a\u0000b' }, 'inline_commands'],
  ].map(([name, path, body, field]) => ({
    name: name as string,
    method: 'PATCH' as const,
    path: path as () => string,
    body,
    status: 400,
    mentions: `"${field as string}"`,
  })),
  {
    name: 'run with a tag holding NUL',
    method: 'POST',
    path: () => `${pipelinePath}/executions`,
    body: { ...RUN, tag: { name: 'v1\u0000' } },
    status: 400,
    mentions: 'tag.name',
  },
  {
    name: 'run with a branch holding a newline',
    method: 'POST',
    path: () => `${pipelinePath}/executions`,
    body: { ...RUN, branch: { name: 'main\nx' } },
    status: 400,
    mentions: 'branch.name',
  },
  {
    name: 'run variable value holding NUL',
    method: 'POST',
    path: () => `${pipelinePath}/executions`,
    body: { ...RUN, variables: [{ key: 'A', value: 'x\u0000' }] },
    status: 400,
    mentions: 'NUL',
  },
  // Dates.
  {
    name: 'delay_until "1"',
    method: 'POST',
    path: () => `${pipelinePath}/executions`,
    body: { ...RUN, delay_until: '1' },
    status: 400,
    mentions: 'delay_until',
  },
  {
    name: 'token expires_at "1"',
    method: 'POST',
    path: () => '/api/user/tokens',
    body: { name: 't', scopes: ['WORKSPACE'], expires_at: '1' },
    status: 400,
    mentions: 'expires_at',
  },
  // Numbers that are "integers" only to JSON Schema.
  {
    name: 'docker_build_action_id 1e308',
    method: 'PATCH',
    path: () => actionPath,
    raw: '{"docker_build_action_id": 1e308}',
    status: 400,
    mentions: 'out of range',
  },
  {
    name: 'priority id 9007199254740993',
    method: 'PATCH',
    path: () => actionPath,
    raw: '{"timeout": 9007199254740993}',
    status: 400,
    mentions: 'out of range',
  },
  // Mount paths.
  ...['/', '/..', '/x/../..', '/x:/y', '/x:ro', '/a,b', 'relative'].map((p) => ({
    name: `mount_filesystem_path ${p}`,
    method: 'PATCH' as const,
    path: () => actionPath,
    body: { mount_filesystem_path: p },
    status: 400,
    mentions: 'mount_filesystem_path',
  })),
  {
    name: 'volume mapping onto the container root',
    method: 'PATCH',
    path: () => actionPath,
    body: { volume_mappings: ['data:/'] },
    status: 400,
    mentions: 'root directory',
  },
  // Encodings.
  {
    name: 'JSON with a byte-order mark',
    method: 'PATCH',
    path: () => pipelinePath,
    raw: '\ufeff{"name":"bom"}',
    status: 400,
    mentions: 'byte-order mark',
  },
  {
    name: 'JSON declared UTF-16',
    method: 'PATCH',
    path: () => pipelinePath,
    raw: Buffer.from('{"name":"utf16"}', 'utf16le'),
    headers: { 'content-type': 'application/json; charset=utf-16' },
    status: 415,
    mentions: 'utf-16',
  },
  {
    name: 'JSON in UTF-16 without saying so',
    method: 'PATCH',
    path: () => pipelinePath,
    raw: Buffer.from('{"name":"utf16"}', 'utf16le'),
    status: 400,
    mentions: 'JSON',
  },
  {
    name: 'JSON that is not valid UTF-8',
    method: 'PATCH',
    path: () => pipelinePath,
    raw: Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    status: 400,
    mentions: 'UTF-8',
  },
];

test('hostile input is refused with a Buddy-shaped 4xx and nothing is written', async () => {
  const failures: string[] = [];
  for (const c of CASES) {
    const before = await snapshotRows(h.gantry.db);
    const res = await h.request(c.method, c.path(), c.body, {
      ...(c.raw !== undefined ? { raw: c.raw } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
    });
    try {
      assert.equal(res.status, c.status, `status ${res.status}, body ${JSON.stringify(res.body)}`);
      assertBuddyError(res.body);
      assert.ok(
        res.body.errors[0].message.toLowerCase().includes(c.mentions.toLowerCase()),
        `message "${res.body.errors[0].message}" does not mention ${c.mentions}`,
      );
      assert.deepEqual(await snapshotRows(h.gantry.db), before, 'something was written');
    } catch (err) {
      failures.push(`${c.name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  assert.deepEqual(failures, []);
  // Still runnable afterwards (nothing half-saved poisons later runs).
  const run = await h.request('POST', `${pipelinePath}/executions`, RUN);
  assert.equal(run.status, 200, JSON.stringify(run.body));
});

test('"Authorization: Bearer  <token>" with two spaces (or a tab) works', async () => {
  const token = (await h.request('POST', '/api/user/tokens', { name: 'spaces', scopes: ['WORKSPACE'] })).body
    .token as string;
  for (const header of [`Bearer  ${token}`, `Bearer\t${token}`, `bearer ${token} `]) {
    const res = await h.request('GET', '/api/workspaces', undefined, {
      token: null,
      headers: { authorization: header },
    });
    assert.equal(res.status, 200, `${JSON.stringify(header)}: ${JSON.stringify(res.body)}`);
  }
  const wrong = await h.request('GET', '/api/workspaces', undefined, {
    token: null,
    headers: { authorization: 'Bearer  nope' },
  });
  assert.equal(wrong.status, 401);
  assertBuddyError(wrong.body);
});
