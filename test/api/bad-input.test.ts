import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { makeRepo, startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';
import { assertBuddyError, snapshotRows } from '../support/api.ts';

/**
 * Every create and patch endpoint is sent bodies a careless or hostile client could send. Each must
 * answer 4xx (never 5xx) in Buddy's error shape, and must leave every table exactly as it was.
 */

type Body = Record<string, unknown>;

interface Endpoint {
  name: string;
  method: 'POST' | 'PATCH';
  path: string;
  /** A body this endpoint accepts; the cases below spoil it one way at a time. */
  valid: Body;
  /** Fields a create cannot do without. */
  required?: string[];
  /** Bodies that must be refused with 400, by what is wrong with them. */
  invalid: Record<string, unknown>;
  /** Bodies refused with another 4xx: 409 for a name that is taken, 404 for an object the body names. */
  refused?: Record<string, { body: Body; status: number }>;
  /** Paths naming objects that do not exist (answered 404 with the valid body). */
  unknownPaths: string[];
}

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  /** Text the error message must contain. */
  mentions?: string;
}

const LONG_NAME = 'x'.repeat(256);
const P = '/api/workspaces/ws/projects/proj';
let pipelineId = 0;
let actionId = 0;
let executionId = 0;
let variableId = 0;
let environmentId = '';
let repoDir = '';
let h: Harness;

const ACTION: Body = { name: 'Test', type: 'RUN_DOCKER_CONTAINER', ...TEST_IMAGE, inline_commands: 'true' };

function endpoints(): Endpoint[] {
  const pl = `${P}/pipelines/${pipelineId}`;
  return [
    {
      name: 'create workspace',
      method: 'POST',
      path: '/api/workspaces',
      valid: { name: 'Another', domain: 'another' },
      required: ['domain'],
      invalid: {
        'name of the wrong type': { name: 5, domain: 'another' },
        'domain of the wrong type': { name: 'Another', domain: ['another'] },
        'domain that is not a URL name': { name: 'Another', domain: 'Not A Domain!' },
        'over-long name': { name: LONG_NAME, domain: 'another' },
        'over-long domain': { name: 'Another', domain: 'a'.repeat(101) },
      },
      refused: { 'domain that is taken': { body: { name: 'Another', domain: 'ws' }, status: 409 } },
      unknownPaths: [],
    },
    {
      name: 'patch workspace',
      method: 'PATCH',
      path: '/api/workspaces/ws',
      valid: { name: 'Renamed' },
      invalid: {
        'name of the wrong type': { name: ['Renamed'] },
        'empty name': { name: '' },
        'over-long name': { name: LONG_NAME },
        'domain that is not a URL name': { domain: '../ws' },
      },
      unknownPaths: ['/api/workspaces/no-such-ws'],
    },
    {
      name: 'create project',
      method: 'POST',
      path: '/api/workspaces/ws/projects',
      valid: { display_name: 'Another project' },
      required: ['display_name'],
      invalid: {
        'display_name of the wrong type': { display_name: true },
        'over-long display_name': { display_name: LONG_NAME },
        'name that is not a URL name': { display_name: 'X', name: 'Has Spaces' },
        'repository URL git would read as an option': {
          display_name: 'X',
          custom_repo_url: '--upload-pack=touch /tmp/pwned',
        },
        'repository URL of an unknown kind': { display_name: 'X', custom_repo_url: 'relative/path' },
        'credentials without a repository URL': {
          display_name: 'X',
          custom_repo_user: 'me',
          custom_repo_pass: 'secret',
        },
      },
      refused: { 'name of an existing project': { body: { display_name: 'X', name: 'proj' }, status: 409 } },
      unknownPaths: ['/api/workspaces/no-such-ws/projects'],
    },
    {
      name: 'patch project',
      method: 'PATCH',
      path: P,
      valid: { display_name: 'Renamed project' },
      invalid: {
        'display_name of the wrong type': { display_name: 7 },
        'unknown status': { status: 'ARCHIVED' },
        'over-long display_name': { display_name: LONG_NAME },
        'repository URL git would read as an option': { custom_repo_url: '-oProxyCommand=x' },
      },
      unknownPaths: [
        '/api/workspaces/ws/projects/no-such-project',
        '/api/workspaces/no-such-ws/projects/proj',
      ],
    },
    {
      name: 'create pipeline',
      method: 'POST',
      path: `${P}/pipelines`,
      valid: { name: 'Another pipeline' },
      required: ['name'],
      invalid: {
        'name of the wrong type': { name: { text: 'x' } },
        'refs of the wrong type': { name: 'X', refs: 'refs/heads/master' },
        'unknown priority': { name: 'X', priority: 'URGENT' },
        'unknown "on"': { name: 'X', on: 'SOMETIMES' },
        'over-long name': { name: LONG_NAME },
        'identifier that is not a URL name': { name: 'X', identifier: 'Not/OK' },
        'variable with a bad key': { name: 'X', variables: [{ key: '1-bad key', value: 'v' }] },
      },
      refused: { 'identifier that is taken': { body: { name: 'X', identifier: 'pipeline' }, status: 409 } },
      unknownPaths: [
        `${P.replace('/proj', '/no-such-project')}/pipelines`,
        '/api/workspaces/no-such-ws/projects/proj/pipelines',
      ],
    },
    {
      name: 'patch pipeline',
      method: 'PATCH',
      path: pl,
      valid: { name: 'Renamed pipeline' },
      invalid: {
        'always_from_scratch of the wrong type': { always_from_scratch: 'yes' },
        'unknown git_changeset_base': { git_changeset_base: 'NEVER' },
        'unknown cpu': { cpu: 'RISCV' },
        'over-long name': { name: LONG_NAME },
        'clear_cache of the wrong type': { clear_cache: 1 },
      },
      unknownPaths: [
        `${P}/pipelines/999999`,
        `${P}/pipelines/abc`,
        `${P}/pipelines/0`,
        `${P}/pipelines/-1`,
        `${P}/pipelines/99999999999999999999`,
      ],
    },
    {
      name: 'create action',
      method: 'POST',
      path: `${pl}/actions`,
      valid: ACTION,
      required: ['name', 'type', 'docker_image_name', 'docker_image_tag', 'inline_commands'],
      invalid: {
        'mount_filesystem_disable of the wrong type': { ...ACTION, mount_filesystem_disable: 'no' },
        'volume_mappings of the wrong type': { ...ACTION, volume_mappings: '/:/mnt' },
        'unknown trigger_time': { ...ACTION, trigger_time: 'SOMETIMES' },
        'unknown run_next': { ...ACTION, run_next: 'LATER' },
        'over-long name': { ...ACTION, name: LONG_NAME },
        'over-long inline_commands': { ...ACTION, inline_commands: 'x'.repeat(100_001) },
        'image name with a space': { ...ACTION, docker_image_name: 'busybox; rm -rf /' },
        'volume mapping without a colon': { ...ACTION, volume_mappings: ['/just/a/path'] },
        'volume mapping escaping with ../': { ...ACTION, volume_mappings: ['../../etc:/mnt'] },
        'volume mapping escaping through a subfolder': { ...ACTION, volume_mappings: ['/src/../../..:/mnt'] },
        'export path escaping with ../': { ...ACTION, export_container_path: '../outside.tar' },
        'after_action_id of another pipeline': { ...ACTION, after_action_id: 987654 },
        'after_action_id of the wrong type': { ...ACTION, after_action_id: '1' },
        'an "!encrypted" password that was never shown': { ...ACTION, password: '!encrypted AAAA' },
        'variable given twice': {
          ...ACTION,
          variables: [
            { key: 'A', value: '1' },
            { key: 'A', value: '2' },
          ],
        },
      },
      unknownPaths: [`${P}/pipelines/999999/actions`, `${P}/pipelines/x1/actions`],
    },
    {
      name: 'patch action',
      method: 'PATCH',
      path: `${pl}/actions/${actionId}`,
      valid: { name: 'Renamed action' },
      invalid: {
        'name of the wrong type': { name: 42 },
        'type changed': { type: 'BUILD' },
        'required field set to null': { docker_image_name: null },
        'timeout of the wrong type': { timeout: '10' },
        'timeout out of range': { timeout: 1e300 },
        'unknown trigger_time': { trigger_time: 'SOMETIMES' },
        'over-long name': { name: LONG_NAME },
        'volume mapping without a colon': { volume_mappings: ['nocolon'] },
        'volume mapping escaping with ../': { volume_mappings: ['../:/mnt'] },
      },
      unknownPaths: [
        `${pl}/actions/999999`,
        `${pl}/actions/abc`,
        `${P}/pipelines/999999/actions/${actionId}`,
      ],
    },
    {
      name: 'create token',
      method: 'POST',
      path: '/api/user/tokens',
      valid: { name: 'another', scopes: ['WORKSPACE'] },
      required: ['name', 'scopes'],
      invalid: {
        'scopes of the wrong type': { name: 'another', scopes: 'WORKSPACE' },
        'unknown scope': { name: 'another', scopes: ['ROOT'] },
        'no scopes': { name: 'another', scopes: [] },
        'over-long name': { name: LONG_NAME, scopes: ['WORKSPACE'] },
        'expires_at that is not a date': { name: 'another', scopes: ['WORKSPACE'], expires_at: 'tomorrow' },
        'expires_at in the past': {
          name: 'another',
          scopes: ['WORKSPACE'],
          expires_at: '2001-01-01T00:00:00Z',
        },
        'negative expires_in': { name: 'another', scopes: ['WORKSPACE'], expires_in: -5 },
        'both expires_in and expires_at': {
          name: 'another',
          scopes: ['WORKSPACE'],
          expires_in: 60,
          expires_at: '2999-01-01T00:00:00Z',
        },
        'ip_restrictions entry that is not an address': {
          name: 'another',
          scopes: ['WORKSPACE'],
          ip_restrictions: ['not-an-ip'],
        },
        'ip_restrictions block with a bad mask': {
          name: 'another',
          scopes: ['WORKSPACE'],
          ip_restrictions: ['10.0.0.0/33'],
        },
        'workspace_restrictions naming no workspace': {
          name: 'another',
          scopes: ['WORKSPACE'],
          workspace_restrictions: ['no-such-ws'],
        },
      },
      unknownPaths: [],
    },
    {
      name: 'run pipeline',
      method: 'POST',
      path: `${pl}/executions`,
      valid: { comment: 'run' },
      invalid: {
        'refresh of the wrong type': { refresh: 'yes' },
        'to_revision of the wrong type': { to_revision: 'HEAD' },
        'unknown priority': { priority: 'URGENT' },
        'over-long comment': { comment: 'x'.repeat(10_001) },
        'delay_until that is not a date': { delay_until: 'later' },
        "actions_to_run naming another pipeline's action": { actions_to_run: [987654] },
        'variable with an unknown field': { variables: [{ key: 'A', value: '1', colour: 'red' }] },
        'revision that is not a revision': { to_revision: { revision: '--output=/tmp/x' } },
        'tag name climbing out with ..': { tag: { name: '../x' } },
      },
      refused: {
        'unknown branch': { body: { branch: { name: 'no-such-branch' } }, status: 404 },
        'unknown revision': { body: { to_revision: { revision: 'f'.repeat(40) } }, status: 404 },
        'unknown environment': { body: { environment: 'production' }, status: 404 },
      },
      unknownPaths: [`${P}/pipelines/999999/executions`],
    },
    {
      name: 'patch execution',
      method: 'PATCH',
      path: `${pl}/executions/${executionId}`,
      valid: { operation: 'CANCEL' },
      required: ['operation'],
      invalid: {
        'operation of the wrong type': { operation: 5 },
        'unknown operation': { operation: 'EXPLODE' },
        'over-long comment': { operation: 'CANCEL', comment: 'x'.repeat(10_001) },
      },
      unknownPaths: [`${pl}/executions/999999`, `${pl}/executions/abc`],
    },
    {
      name: 'create variable',
      method: 'POST',
      path: '/api/workspaces/ws/variables',
      valid: { key: 'NEW_VAR', value: 'x' },
      required: ['key', 'value'],
      invalid: {
        'key that is not a variable name': { key: 'NEW-VAR', value: 'x' },
        'value of the wrong type': { key: 'NEW_VAR', value: 5 },
        'unknown type': { key: 'NEW_VAR', value: 'x', type: 'SECRET' },
        'over-long description': { key: 'NEW_VAR', value: 'x', description: 'd'.repeat(1001) },
        'a plain variable placed as a file': {
          key: 'NEW_VAR',
          value: 'x',
          file_place: 'CONTAINER',
          file_path: '/tmp/x',
        },
        'relative file_path': { key: 'NEW_VAR', value: 'x', type: 'FILE', file_path: 'etc/x' },
        'file_chmod that is not a mode': {
          key: 'NEW_VAR',
          value: 'x',
          type: 'FILE',
          file_path: '/x',
          file_chmod: '999',
        },
        'two levels at once': {
          key: 'NEW_VAR',
          value: 'x',
          project: { name: 'proj' },
          pipeline: { id: pipelineId },
        },
        'an "!encrypted" value that was never shown': {
          key: 'NEW_VAR',
          value: '!encrypted AAAA',
          encrypted: true,
        },
      },
      refused: {
        'key that exists at this level': { body: { key: 'EXISTING', value: 'x' }, status: 409 },
        'unknown project': {
          body: { key: 'NEW_VAR', value: 'x', project: { name: 'no-such-project' } },
          status: 404,
        },
        'unknown pipeline': { body: { key: 'NEW_VAR', value: 'x', pipeline: { id: 999999 } }, status: 404 },
        'unknown action': { body: { key: 'NEW_VAR', value: 'x', action: { id: 999999 } }, status: 404 },
        'unknown environment': {
          body: { key: 'NEW_VAR', value: 'x', environment: { id: 'nope' } },
          status: 404,
        },
      },
      unknownPaths: ['/api/workspaces/no-such-ws/variables'],
    },
    {
      name: 'patch variable',
      method: 'PATCH',
      path: `/api/workspaces/ws/variables/${variableId}`,
      valid: { value: 'changed' },
      invalid: {
        'key that is not a variable name': { key: '1BAD' },
        'value of the wrong type': { value: ['x'] },
        'unknown type': { type: 'SECRET' },
        'moving to another level': { project: { name: 'proj' } },
        'decrypting without a new value': { encrypted: false },
        'an "!encrypted" value that was never shown': { value: '!encrypted AAAA' },
      },
      unknownPaths: [
        '/api/workspaces/ws/variables/999999',
        '/api/workspaces/ws/variables/abc',
        `/api/workspaces/no-such-ws/variables/${variableId}`,
      ],
    },
    {
      name: 'create environment',
      method: 'POST',
      path: '/api/workspaces/ws/environments',
      valid: { name: 'Production' },
      required: ['name'],
      invalid: {
        'name of the wrong type': { name: 1 },
        'identifier that is not a URL name': { name: 'Production', identifier: 'prod env!' },
        'tags of the wrong type': { name: 'Production', tags: 'prod' },
        'over-long name': { name: LONG_NAME },
        'variable with a bad key': { name: 'Production', variables: [{ key: 'A B', value: 'x' }] },
        'variable given twice': {
          name: 'Production',
          variables: [
            { key: 'A', value: '1' },
            { key: 'A', value: '2' },
          ],
        },
      },
      refused: {
        'identifier that is taken': { body: { name: 'Staging 2', identifier: 'staging' }, status: 409 },
        'unknown project': {
          body: { name: 'Production', project: { name: 'no-such-project' } },
          status: 404,
        },
      },
      unknownPaths: ['/api/workspaces/no-such-ws/environments'],
    },
    {
      name: 'patch environment',
      method: 'PATCH',
      path: `/api/workspaces/ws/environments/${environmentId}`,
      valid: { name: 'Renamed environment' },
      invalid: {
        'tags of the wrong type': { tags: [1] },
        'moving to a project': { project: { name: 'proj' } },
        'variable of the wrong type': { variables: [{ key: 'A', value: 1 }] },
        'variable given twice': {
          variables: [
            { key: 'A', value: '1' },
            { key: 'A', value: '2' },
          ],
        },
        'empty identifier': { identifier: '' },
      },
      unknownPaths: [
        '/api/workspaces/ws/environments/no-such-env',
        `/api/workspaces/no-such-ws/environments/${environmentId}`,
      ],
    },
  ];
}

/** The cases for one endpoint: its own invalid bodies plus the ones every endpoint must refuse. */
function casesOf(e: Endpoint): Case[] {
  const base = { method: e.method, path: e.path };
  const cases: Case[] = [
    { ...base, name: 'malformed JSON', raw: '{"name": "unterminated', status: 400 },
    {
      ...base,
      name: 'JSON with a trailing comma',
      raw: JSON.stringify(e.valid).replace(/}$/, ',}'),
      status: 400,
    },
    { ...base, name: 'an array instead of an object', body: [e.valid], status: 400 },
    { ...base, name: 'a string instead of an object', body: 'hello', status: 400 },
    { ...base, name: 'null instead of an object', raw: 'null', status: 400 },
    { ...base, name: 'empty body', raw: '', status: 400 },
    {
      ...base,
      name: 'a prototype-polluting key',
      raw: `{"__proto__": {"admin": true}, ${JSON.stringify(e.valid).slice(1)}`,
      status: 400,
    },
    {
      ...base,
      name: 'an unknown field',
      body: { ...e.valid, no_such_field: 1 },
      status: 400,
      mentions: 'no_such_field',
    },
    {
      ...base,
      name: 'body over 1 MB',
      body: { ...e.valid, padding: 'x'.repeat(1024 * 1024 + 1) },
      status: 413,
    },
    {
      ...base,
      name: 'a body that is not JSON',
      raw: 'name=x',
      headers: { 'content-type': 'text/plain' },
      status: 415,
    },
  ];
  for (const field of e.required ?? []) {
    const { [field]: _dropped, ...rest } = e.valid;
    cases.push({
      ...base,
      name: `missing required field ${field}`,
      body: rest,
      status: 400,
      mentions: field,
    });
  }
  for (const [name, body] of Object.entries(e.invalid)) cases.push({ ...base, name, body, status: 400 });
  for (const [name, r] of Object.entries(e.refused ?? {}))
    cases.push({ ...base, name, body: r.body, status: r.status });
  for (const path of e.unknownPaths)
    cases.push({
      method: e.method,
      path,
      name: `unknown object in path ${path}`,
      body: e.valid,
      status: 404,
    });
  return cases;
}

before(async () => {
  h = await startGantry();
  const repo = makeRepo([{ message: 'first', files: { 'README.md': 'hello\n' } }]);
  repoDir = repo.dir;
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  assert.equal(
    (
      await h.request('POST', '/api/workspaces/ws/projects', {
        display_name: 'Proj',
        name: 'proj',
        custom_repo_url: repoDir,
      })
    ).status,
    201,
  );
  const pipeline = await h.request('POST', `${P}/pipelines`, { name: 'Pipeline' });
  assert.equal(pipeline.status, 201);
  pipelineId = pipeline.body.id;
  const action = await h.request('POST', `${P}/pipelines/${pipelineId}/actions`, ACTION);
  assert.equal(action.status, 201, JSON.stringify(action.body));
  actionId = action.body.id;
  const variable = await h.request('POST', '/api/workspaces/ws/variables', {
    key: 'EXISTING',
    value: 'secret',
    encrypted: true,
  });
  assert.equal(variable.status, 201, JSON.stringify(variable.body));
  variableId = variable.body.id;
  const environment = await h.request('POST', '/api/workspaces/ws/environments', {
    name: 'Staging',
    identifier: 'staging',
    variables: [{ key: 'E', value: '1' }],
  });
  assert.equal(environment.status, 201, JSON.stringify(environment.body));
  environmentId = environment.body.id;
  // Delayed by a day, so the execution stays ENQUEUED and the tables stay still while the cases run.
  const delay = new Date(Date.now() + 86_400_000).toISOString();
  const execution = await h.request('POST', `${P}/pipelines/${pipelineId}/executions`, {
    delay_until: delay,
  });
  assert.equal(execution.status, 200, JSON.stringify(execution.body));
  assert.equal(execution.body.status, 'ENQUEUED');
  executionId = execution.body.id;
});

after(async () => {
  await h.close();
  rmSync(repoDir, { recursive: true, force: true });
});

describe("bad input is refused in Buddy's error shape and stores nothing", () => {
  test('every create and patch endpoint', async () => {
    const failures: string[] = [];
    let count = 0;
    for (const endpoint of endpoints()) {
      for (const c of casesOf(endpoint)) {
        count += 1;
        const label = `${endpoint.name} / ${c.name}`;
        const before = await snapshotRows(h.gantry.db);
        const res = await h.request(c.method, c.path, c.body, {
          ...(c.raw !== undefined ? { raw: c.raw } : {}),
          ...(c.headers ? { headers: c.headers } : {}),
        });
        const after = await snapshotRows(h.gantry.db);
        try {
          assert.equal(res.status, c.status, `status ${res.status}, body ${JSON.stringify(res.body)}`);
          assertBuddyError(res.body);
          if (c.mentions)
            assert.ok(
              res.body.errors[0].message.includes(c.mentions),
              `message does not name ${c.mentions}: ${res.body.errors[0].message}`,
            );
          assert.deepEqual(after, before, 'the request changed stored data');
        } catch (err) {
          failures.push(`${label}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    assert.ok(count > 250, `only ${count} cases ran`);
    assert.deepEqual(failures, []);
  });

  test('bad paths and query strings', async () => {
    const pl = `${P}/pipelines/${pipelineId}`;
    const cases: [string, string, number][] = [
      ['GET', '/api/workspaces/%E0%A4%A/projects', 400],
      ['POST', '/api/workspaces/%E0%A4%A/projects', 400],
      ['GET', `/api/workspaces/${'w'.repeat(300)}`, 414],
      ['GET', `${P}/pipelines?page=0`, 400],
      ['GET', `${P}/pipelines?page=abc`, 400],
      ['GET', `${P}/pipelines?page=1e300`, 400],
      ['GET', `${P}/pipelines?page=99999999999999999999`, 400],
      ['GET', `${P}/pipelines?per_page=101`, 400],
      ['GET', '/api/workspaces/ws/projects?page=1e300', 400],
      ['GET', '/api/workspaces/ws/projects?sort_by=password', 400],
      ['GET', '/api/workspaces/ws/projects?status=DELETED', 400],
      ['GET', `${pl}/executions?page=1e300`, 400],
      ['GET', `${pl}/executions?per_page=-1`, 400],
      ['GET', `${pl}/executions/${executionId}/action_executions/nope/logs?limit=1001`, 400],
      ['GET', `${pl}/executions/${executionId}/action_executions/nope`, 404],
      ['DELETE', '/api/user/tokens/no-such-token', 404],
      ['DELETE', `${pl}/actions/999999`, 404],
      ['GET', '/api/no/such/endpoint', 404],
    ];
    const failures: string[] = [];
    for (const [method, path, status] of cases) {
      const before = await snapshotRows(h.gantry.db);
      const res = await h.request(method, path);
      try {
        assert.equal(res.status, status, `status ${res.status}, body ${JSON.stringify(res.body)}`);
        assertBuddyError(res.body);
        assert.deepEqual(await snapshotRows(h.gantry.db), before);
      } catch (err) {
        failures.push(`${method} ${path.slice(0, 80)}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('an unknown action type is refused with the list of supported types', async () => {
    for (const [method, path] of [
      ['POST', `${P}/pipelines/${pipelineId}/actions`],
      ['PATCH', `${P}/pipelines/${pipelineId}/actions/${actionId}`],
    ] as const) {
      const before = await snapshotRows(h.gantry.db);
      const res = await h.request(method, path, { ...ACTION, type: 'TELEPORT' });
      assert.equal(res.status, 400);
      assertBuddyError(res.body);
      const message: string = res.body.errors[0].message;
      assert.match(message, method === 'POST' ? /TELEPORT/ : /type/);
      if (method === 'POST') assert.match(message, /RUN_DOCKER_CONTAINER/);
      assert.deepEqual(await snapshotRows(h.gantry.db), before);
    }
  });

  test('after all that, the objects are as they were created', async () => {
    const ws = await h.request('GET', '/api/workspaces/ws');
    assert.equal(ws.body.name, 'WS');
    const projects = await h.request('GET', '/api/workspaces/ws/projects');
    assert.deepEqual(
      projects.body.projects.map((p: { name: string }) => p.name),
      ['proj'],
    );
    const pipelines = await h.request('GET', `${P}/pipelines`);
    assert.deepEqual(
      pipelines.body.pipelines.map((p: { name: string }) => p.name),
      ['Pipeline'],
    );
    const actions = await h.request('GET', `${P}/pipelines/${pipelineId}/actions`);
    assert.deepEqual(
      actions.body.actions.map((a: { name: string }) => a.name),
      ['Test'],
    );
    const tokens = await h.request('GET', '/api/user/tokens');
    assert.deepEqual(
      tokens.body.access_tokens.map((t: { name: string }) => t.name),
      ['admin'],
    );
    const executions = await h.request('GET', `${P}/pipelines/${pipelineId}/executions`);
    assert.deepEqual(
      executions.body.executions.map((e: { id: number; status: string }) => [e.id, e.status]),
      [[executionId, 'ENQUEUED']],
    );
  });
});
