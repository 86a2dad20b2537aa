/**
 * The permission matrix: every route of the server × every kind of caller → the answer it must get.
 * A route registered without a row here fails the first test, so whoever adds a route also decides who
 * may call it (see "Permissions" in the README). Mutating requests carry a querystring that fails
 * validation, which runs after the access check: a caller who is let through gets 400 and changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { SCOPES } from '../../src/domain/scopes.ts';
import { createToken, findUserByEmailAddress } from '../../src/store/identity.ts';
import { addAction, makeRepo, startGantry, type Harness } from '../support/harness.ts';
import { runToEnd } from '../support/runs.ts';
import { tarOf } from '../support/archives.ts';

/**
 * The callers, in the order of each row's expectation string:
 *  s  stranger: a user of the server who is no member of the workspace
 *  o  outsider: a workspace member who is no member of the projects
 *  r  READ_ONLY: project member with the built-in "Read only" set
 *  u  RUN_ONLY: project member with a set whose pipeline level is RUN_ONLY
 *  g  RUN_ONLY through a group: member of a group that holds the RUN_ONLY set in the projects
 *  w  READ_WRITE: project member with a set whose pipeline and repository levels are READ_WRITE
 *  m  MANAGE: project member with the built-in "Project manager" set
 *  a  workspace admin (not the owner)
 *  d  READ_WRITE in the project, but DENIED by the pipeline's own permissions
 * Expectation letters: y = let through (neither 401, 403 nor 404), f = 403, n = 404.
 */
const CALLERS = ['s', 'o', 'r', 'u', 'g', 'w', 'm', 'a', 'd'] as const;
type Caller = (typeof CALLERS)[number];

const ALL = 'yyyyyyyyy';
const WS_READ = 'nyyyyyyyy';
const WS_MANAGE = 'nffffffyf';
const PROJECT_READ = 'nnyyyyyyy';
const PROJECT_MANAGE = 'nnffffyyf';
const PROJECT_WRITE = 'nnfffyyyy';
const PIPELINE_READ = 'nnyyyyyyn';
const PIPELINE_RUN = 'nnfyyyyyn';
const PIPELINE_WRITE = 'nnfffyyyn';

const W = '/workspaces/mx';
const P = `${W}/projects/app`;
const PL = `${P}/pipelines/{pipeline}`;
const X = `${PL}/executions/{execution}`;
const AE = `${X}/action_executions/{action_execution}`;

interface Row {
  /** Expected answer per caller, in CALLERS order. */
  expect: string;
  /** The request path when it differs from the route's (placeholders in braces are filled in). */
  path?: string;
  body?: unknown;
  /** A Server-Sent Events route: only the status of the response head is read. */
  stream?: boolean;
  contentType?: string;
}

/** Every route, keyed "METHOD path" as registered (without the /api prefix). */
const MATRIX: Record<string, Row> = {
  // Public: documentation, sign-in, the web UI, avatars.
  'GET /openapi.json': { expect: ALL },
  'GET /docs': { expect: ALL },
  'GET /docs/static/index.html': { expect: ALL },
  'GET /docs/static/swagger-initializer.js': { expect: ALL },
  'GET /docs/json': { expect: ALL },
  'GET /docs/yaml': { expect: ALL },
  'GET /docs/static/*': { expect: ALL, path: '/docs/static/swagger-ui.css' },
  'POST /auth/password': { expect: ALL, body: { token: 'x', password: 'too-short-no' } },
  'POST /auth/sign-in': { expect: ALL, body: { email: 'not an address', password: 'x' } },
  'GET /avatars/:id': { expect: ALL, path: '/avatars/{me}' },
  'GET /': { expect: ALL },
  'GET /app.js': { expect: ALL },
  'GET /app.js.map': { expect: ALL },
  'GET /app.css': { expect: ALL },
  // The caller's own account.
  'GET /user': { expect: ALL },
  'PATCH /user': { expect: ALL, body: { name: 'x' } },
  'GET /user/token': { expect: ALL },
  'GET /user/tokens': { expect: ALL },
  'POST /user/tokens': { expect: ALL, body: { name: 'x', scopes: ['WORKSPACE'] } },
  'GET /user/tokens/:id': { expect: ALL, path: '/user/tokens/{token}' },
  'DELETE /user/tokens/:id': { expect: ALL, path: '/user/tokens/{token}' },
  'GET /user/emails': { expect: ALL },
  'POST /user/emails': { expect: ALL, body: { email: 'x@example.com' } },
  'DELETE /user/emails/:email': { expect: ALL, path: '/user/emails/x@example.com' },
  'GET /user/keys': { expect: ALL },
  'POST /user/keys': { expect: ALL, body: { content: 'ssh-ed25519 AAAA' } },
  'GET /user/keys/:id': { expect: 'nnnnnnnnn', path: '/user/keys/999999' },
  'DELETE /user/keys/:id': { expect: ALL, path: '/user/keys/999999' },
  'POST /user/stream_tickets': { expect: ALL, body: { path: `/api${W}/events` } },
  'GET /workspaces': { expect: ALL },
  'POST /workspaces': { expect: ALL, body: { domain: 'new-one' } },
  // The workspace and its team.
  'GET /workspaces/:workspace': { expect: WS_READ },
  'PATCH /workspaces/:workspace': { expect: WS_MANAGE, body: { name: 'x' } },
  'DELETE /workspaces/:workspace': { expect: WS_MANAGE },
  'GET /workspaces/:workspace/events': { expect: WS_READ, stream: true },
  'GET /workspaces/:workspace/members': { expect: WS_READ },
  'POST /workspaces/:workspace/members': { expect: WS_MANAGE, body: { email: 'new@example.com' } },
  'GET /workspaces/:workspace/members/:member_id': { expect: WS_READ, path: `${W}/members/{member}` },
  'PATCH /workspaces/:workspace/members/:member_id': {
    expect: WS_MANAGE,
    path: `${W}/members/{member}`,
    body: { admin: true },
  },
  'DELETE /workspaces/:workspace/members/:member_id': { expect: WS_MANAGE, path: `${W}/members/{member}` },
  'GET /workspaces/:workspace/permissions': { expect: WS_READ },
  'POST /workspaces/:workspace/permissions': { expect: WS_MANAGE, body: { name: 'x' } },
  'GET /workspaces/:workspace/permissions/:permission_id': {
    expect: WS_READ,
    path: `${W}/permissions/{set}`,
  },
  'PATCH /workspaces/:workspace/permissions/:permission_id': {
    expect: WS_MANAGE,
    path: `${W}/permissions/{set}`,
    body: { name: 'x' },
  },
  'DELETE /workspaces/:workspace/permissions/:permission_id': {
    expect: WS_MANAGE,
    path: `${W}/permissions/{set}`,
  },
  'GET /workspaces/:workspace/groups': { expect: WS_READ },
  'POST /workspaces/:workspace/groups': { expect: WS_MANAGE, body: { name: 'x' } },
  'GET /workspaces/:workspace/groups/:group_id': { expect: WS_READ, path: `${W}/groups/{group}` },
  'PATCH /workspaces/:workspace/groups/:group_id': {
    expect: WS_MANAGE,
    path: `${W}/groups/{group}`,
    body: { name: 'x' },
  },
  'DELETE /workspaces/:workspace/groups/:group_id': { expect: WS_MANAGE, path: `${W}/groups/{group}` },
  'GET /workspaces/:workspace/groups/:group_id/members': {
    expect: WS_READ,
    path: `${W}/groups/{group}/members`,
  },
  'POST /workspaces/:workspace/groups/:group_id/members': {
    expect: WS_MANAGE,
    path: `${W}/groups/{group}/members`,
    body: { id: 1 },
  },
  'GET /workspaces/:workspace/groups/:group_id/members/:member_id': {
    expect: WS_READ,
    path: `${W}/groups/{group}/members/{groupMember}`,
  },
  'PATCH /workspaces/:workspace/groups/:group_id/members/:member_id': {
    expect: WS_MANAGE,
    path: `${W}/groups/{group}/members/{groupMember}`,
    body: { status: 'MANAGER' },
  },
  'DELETE /workspaces/:workspace/groups/:group_id/members/:member_id': {
    expect: WS_MANAGE,
    path: `${W}/groups/{group}/members/{groupMember}`,
  },
  // Projects and their teams.
  'GET /workspaces/:workspace/projects': { expect: WS_READ },
  'POST /workspaces/:workspace/projects': { expect: WS_MANAGE, body: { display_name: 'x' } },
  'GET /workspaces/:workspace/projects/:project_name': { expect: PROJECT_READ, path: P },
  'PATCH /workspaces/:workspace/projects/:project_name': {
    expect: PROJECT_MANAGE,
    path: P,
    body: { display_name: 'x' },
  },
  'DELETE /workspaces/:workspace/projects/:project_name': { expect: PROJECT_MANAGE, path: P },
  'GET /workspaces/:workspace/projects/:project_name/members': { expect: PROJECT_READ, path: `${P}/members` },
  'POST /workspaces/:workspace/projects/:project_name/members': {
    expect: PROJECT_MANAGE,
    path: `${P}/members`,
    body: { id: 1, permission_set: { id: 1 } },
  },
  'GET /workspaces/:workspace/projects/:project_name/members/:member_id': {
    expect: PROJECT_READ,
    path: `${P}/members/{member}`,
  },
  'PATCH /workspaces/:workspace/projects/:project_name/members/:member_id': {
    expect: PROJECT_MANAGE,
    path: `${P}/members/{member}`,
    body: { permission_set: { id: 1 } },
  },
  'DELETE /workspaces/:workspace/projects/:project_name/members/:member_id': {
    expect: PROJECT_MANAGE,
    path: `${P}/members/{member}`,
  },
  'GET /workspaces/:workspace/projects/:project_name/groups': { expect: PROJECT_READ, path: `${P}/groups` },
  'POST /workspaces/:workspace/projects/:project_name/groups': {
    expect: PROJECT_MANAGE,
    path: `${P}/groups`,
    body: { id: 1, permission_set: { id: 1 } },
  },
  'GET /workspaces/:workspace/projects/:project_name/groups/:group_id': {
    expect: PROJECT_READ,
    path: `${P}/groups/{group}`,
  },
  'PATCH /workspaces/:workspace/projects/:project_name/groups/:group_id': {
    expect: PROJECT_MANAGE,
    path: `${P}/groups/{group}`,
    body: { permission_set: { id: 1 } },
  },
  'DELETE /workspaces/:workspace/projects/:project_name/groups/:group_id': {
    expect: PROJECT_MANAGE,
    path: `${P}/groups/{group}`,
  },
  // Pipelines, actions, executions.
  'GET /workspaces/:workspace/projects/:project_name/pipelines': {
    expect: PROJECT_READ,
    path: `${P}/pipelines`,
  },
  'POST /workspaces/:workspace/projects/:project_name/pipelines': {
    expect: PROJECT_WRITE,
    path: `${P}/pipelines`,
    body: { name: 'x' },
  },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id': {
    expect: PIPELINE_READ,
    path: PL,
  },
  'PATCH /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id': {
    expect: PIPELINE_WRITE,
    path: PL,
    body: { name: 'x' },
  },
  'DELETE /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id': {
    expect: PIPELINE_WRITE,
    path: PL,
  },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/actions': {
    expect: PIPELINE_READ,
    path: `${PL}/actions`,
  },
  'POST /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/actions': {
    expect: PIPELINE_WRITE,
    path: `${PL}/actions`,
    body: { name: 'x' },
  },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/actions/:action_id': {
    expect: PIPELINE_READ,
    path: `${PL}/actions/{action}`,
  },
  'PATCH /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/actions/:action_id': {
    expect: PIPELINE_WRITE,
    path: `${PL}/actions/{action}`,
    body: { name: 'x' },
  },
  'DELETE /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/actions/:action_id': {
    expect: PIPELINE_WRITE,
    path: `${PL}/actions/{action}`,
  },
  'POST /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions': {
    expect: PIPELINE_RUN,
    path: `${PL}/executions`,
    body: {},
  },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions': {
    expect: PIPELINE_READ,
    path: `${PL}/executions`,
  },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions/:execution_id': {
    expect: PIPELINE_READ,
    path: X,
  },
  'PATCH /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions/:execution_id': {
    expect: PIPELINE_RUN,
    path: X,
    body: { operation: 'CANCEL' },
  },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions/:execution_id/events':
    { expect: PIPELINE_READ, path: `${X}/events`, stream: true },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions/:execution_id/action_executions/:action_execution_id':
    { expect: PIPELINE_READ, path: AE },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions/:execution_id/action_executions/:action_execution_id/logs':
    { expect: PIPELINE_READ, path: `${AE}/logs` },
  'GET /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions/:execution_id/action_executions/:action_execution_id/logs/stream':
    { expect: PIPELINE_READ, path: `${AE}/logs/stream`, stream: true },
  // Objects of the workspace: a project's variable, environment and package; a workspace integration.
  'GET /workspaces/:workspace/variables': { expect: WS_READ },
  'POST /workspaces/:workspace/variables': {
    expect: PROJECT_WRITE,
    body: { key: 'K', value: 'v', project: { name: 'app' } },
  },
  'GET /workspaces/:workspace/variables/:id': { expect: PROJECT_READ, path: `${W}/variables/{variable}` },
  'PATCH /workspaces/:workspace/variables/:id': {
    expect: PROJECT_WRITE,
    path: `${W}/variables/{variable}`,
    body: { value: 'x' },
  },
  'DELETE /workspaces/:workspace/variables/:id': { expect: PROJECT_WRITE, path: `${W}/variables/{variable}` },
  'GET /workspaces/:workspace/environments': { expect: WS_READ },
  'POST /workspaces/:workspace/environments': {
    expect: PROJECT_MANAGE,
    body: { name: 'x', identifier: 'x', project: { name: 'app' } },
  },
  'GET /workspaces/:workspace/environments/:id': {
    expect: PROJECT_READ,
    path: `${W}/environments/{environment}`,
  },
  'PATCH /workspaces/:workspace/environments/:id': {
    expect: PROJECT_MANAGE,
    path: `${W}/environments/{environment}`,
    body: { name: 'x' },
  },
  'DELETE /workspaces/:workspace/environments/:id': {
    expect: PROJECT_MANAGE,
    path: `${W}/environments/{environment}`,
  },
  'GET /workspaces/:workspace/integrations': { expect: WS_READ },
  'POST /workspaces/:workspace/integrations': { expect: WS_MANAGE, body: { name: 'x', type: 'DOCKER_HUB' } },
  'GET /workspaces/:workspace/integrations/:identifier': {
    expect: WS_READ,
    path: `${W}/integrations/{integration}`,
  },
  'PATCH /workspaces/:workspace/integrations/:identifier': {
    expect: WS_MANAGE,
    path: `${W}/integrations/{integration}`,
    body: { name: 'x' },
  },
  'DELETE /workspaces/:workspace/integrations/:identifier': {
    expect: WS_MANAGE,
    path: `${W}/integrations/{integration}`,
  },
  'GET /workspaces/:workspace/packages': { expect: WS_READ },
  'POST /workspaces/:workspace/packages': {
    expect: PROJECT_WRITE,
    body: { name: 'x', project: { name: 'app' } },
  },
  'GET /workspaces/:workspace/packages/:package_id': {
    expect: PROJECT_READ,
    path: `${W}/packages/{package}`,
  },
  'PATCH /workspaces/:workspace/packages/:package_id': {
    expect: PROJECT_WRITE,
    path: `${W}/packages/{package}`,
    body: { name: 'x' },
  },
  'DELETE /workspaces/:workspace/packages/:package_id': {
    expect: PROJECT_WRITE,
    path: `${W}/packages/{package}`,
  },
  'GET /workspaces/:workspace/packages/:package_id/versions': {
    expect: PROJECT_READ,
    path: `${W}/packages/{package}/versions`,
  },
  'POST /workspaces/:workspace/packages/:package_id/versions': {
    expect: PROJECT_WRITE,
    path: `${W}/packages/{package}/versions?version=9.9.9`,
    body: '',
    contentType: 'application/x-tar',
  },
  'GET /workspaces/:workspace/packages/:package_id/versions/:version_id': {
    expect: PROJECT_READ,
    path: `${W}/packages/{package}/versions/{version}`,
  },
  'GET /workspaces/:workspace/packages/:package_id/versions/:version_id/download': {
    expect: PROJECT_READ,
    path: `${W}/packages/{package}/versions/{version}/download`,
  },
  'DELETE /workspaces/:workspace/packages/:package_id/versions/:version_id': {
    expect: PROJECT_WRITE,
    path: `${W}/packages/{package}/versions/{version}`,
  },
  'POST /workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/trigger-webhook/secrets': {
    expect: PIPELINE_WRITE,
    path: `${PL}/trigger-webhook/secrets`,
  },
  // Repository contents of the hosted project "site" (same team as "app").
  'GET /workspaces/:workspace/projects/:project_name/repository/contents': {
    expect: PROJECT_READ,
    path: `${W}/projects/site/repository/contents`,
  },
  'GET /workspaces/:workspace/projects/:project_name/repository/contents/*': {
    expect: PROJECT_READ,
    path: `${W}/projects/site/repository/contents/README.md`,
  },
  'POST /workspaces/:workspace/projects/:project_name/repository/contents': {
    expect: PROJECT_WRITE,
    path: `${W}/projects/site/repository/contents`,
    body: { path: 'x.txt', content: 'eA==', message: 'x' },
  },
  'PUT /workspaces/:workspace/projects/:project_name/repository/contents/*': {
    expect: PROJECT_WRITE,
    path: `${W}/projects/site/repository/contents/README.md`,
    body: { content: 'eA==', message: 'x' },
  },
  'DELETE /workspaces/:workspace/projects/:project_name/repository/contents/*': {
    expect: PROJECT_WRITE,
    path: `${W}/projects/site/repository/contents/README.md`,
    body: { message: 'x' },
  },
  // Service endpoints and the trigger webhook (its own secret is the key: without it every caller gets 403).
  'GET /version': { expect: ALL },
  'GET /healthz': { expect: ALL },
  'GET /readyz': { expect: ALL },
  'GET /metrics': { expect: 'fffffffff' }, // the server's admin token only
  'GET /trigger/pipelines/:pipeline_id': { expect: 'fffffffff', path: '/trigger/pipelines/{pipeline}' },
  'POST /trigger/pipelines/:pipeline_id': {
    expect: ALL, // the invalid querystring is refused before the secret is checked
    path: '/trigger/pipelines/{pipeline}',
    body: {},
  },
  // An external repository's poll interval and push secret: the project's managers.
  'GET /workspaces/:workspace/projects/:project_name/external-repository': {
    expect: PROJECT_MANAGE,
    path: `${P}/external-repository`,
  },
  'PATCH /workspaces/:workspace/projects/:project_name/external-repository': {
    expect: PROJECT_MANAGE,
    path: `${P}/external-repository`,
    body: { poll_interval: 60 },
  },
  'POST /workspaces/:workspace/projects/:project_name/external-repository/push-secret': {
    expect: PROJECT_MANAGE,
    path: `${P}/external-repository/push-secret`,
  },
  // A forge's push call: its signature is the key (a call without a forge header is refused first).
  'POST /trigger/projects/:project_id/push': { expect: ALL, path: '/trigger/projects/1/push', body: {} },
  // Workspace webhooks show their secret, so even reading them takes an admin.
  'GET /workspaces/:workspace/webhooks': { expect: WS_MANAGE },
  'POST /workspaces/:workspace/webhooks': { expect: WS_MANAGE, body: { target_url: 'https://hook.invalid' } },
  'GET /workspaces/:workspace/webhooks/:id': { expect: WS_MANAGE, path: `${W}/webhooks/{webhook}` },
  'PATCH /workspaces/:workspace/webhooks/:id': {
    expect: WS_MANAGE,
    path: `${W}/webhooks/{webhook}`,
    body: {},
  },
  'DELETE /workspaces/:workspace/webhooks/:id': { expect: WS_MANAGE, path: `${W}/webhooks/{webhook}` },
  // Remote workers: a WORKER token of a server admin without workspace restrictions only.
  'GET /workers': { expect: 'fffffffff' },
  'POST /workers/register': { expect: 'fffffffff', body: {} },
  'POST /workers/unregister': { expect: 'fffffffff', body: {} },
  'POST /workers/next': { expect: 'fffffffff', body: {} },
  'POST /workers/heartbeat': { expect: 'fffffffff', body: {} },
  'POST /workers/executions/:execution_id/steps/:step_id/started': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/steps/{action_execution}/started',
    body: {},
  },
  'POST /workers/executions/:execution_id/steps/:step_id/ended': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/steps/{action_execution}/ended',
    body: {},
  },
  'POST /workers/executions/:execution_id/steps/:step_id/waiting': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/steps/{action_execution}/waiting',
    body: {},
  },
  'POST /workers/executions/:execution_id/skipped': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/skipped',
    body: {},
  },
  'POST /workers/executions/:execution_id/steps/:step_id/container': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/steps/{action_execution}/container',
    body: {},
  },
  'POST /workers/executions/:execution_id/steps/:step_id/log': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/steps/{action_execution}/log?offset=0',
    body: 'x',
    contentType: 'application/octet-stream',
  },
  'POST /workers/executions/:execution_id/registry_auth': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/registry_auth',
    body: {},
  },
  'POST /workers/executions/:execution_id/settable': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/settable',
    body: {},
  },
  'GET /workers/executions/:execution_id/previous_status': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/previous_status',
  },
  'POST /workers/executions/:execution_id/done': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/done',
    body: {},
  },
  'GET /workers/executions/:execution_id/package': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/package',
  },
  'GET /workers/executions/:execution_id/git/*': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/git/repo.git/info/refs?service=git-upload-pack',
  },
  'POST /workers/executions/:execution_id/git/*': {
    expect: 'fffffffff',
    path: '/workers/executions/{execution}/git/repo.git/git-upload-pack',
  },
  // Hosted git over HTTP: fetching needs repository READ_ONLY, pushing READ_WRITE.
  'GET /:workspace/:project/*': {
    expect: PROJECT_READ,
    path: '/mx/site.git/info/refs?service=git-upload-pack',
  },
  'POST /:workspace/:project/*': { expect: PROJECT_WRITE, path: '/mx/site.git/git-receive-pack' },
};

/** "METHOD path" of a registered route, without the /api or /git mount point. */
function routeKey(method: string, url: string): string {
  return `${method} ${url.replace(/^\/(api|git)(?=\/)/, '') || '/'}`;
}

let h: Harness;
let repoDir: string;
const tokens = {} as Record<Caller, string>;
const values: Record<string, string> = {};
const perCaller = {} as Record<Caller, { token: string; me: string }>;

async function ok(res: Promise<{ status: number; body: any }>, what: string): Promise<any> {
  const r = await res;
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

before(async () => {
  h = await startGantry({ listen: true });
  const api = (method: string, url: string, body?: unknown) => h.request(method, `/api${url}`, body);
  repoDir = makeRepo([{ message: 'first', files: { 'README.md': 'hi' } }]).dir;
  await ok(api('POST', '/workspaces', { name: 'MX', domain: 'mx' }), 'workspace');
  await ok(api('POST', '/workspaces', { name: 'Elsewhere', domain: 'elsewhere' }), 'other workspace');
  await ok(
    api('POST', `${W}/projects`, { display_name: 'app', name: 'app', custom_repo_url: repoDir }),
    'project',
  );
  await ok(api('POST', `${W}/projects`, { display_name: 'site', name: 'site' }), 'hosted project');
  await ok(
    api('POST', `${W}/projects/site/repository/contents`, {
      path: 'README.md',
      content: 'aGk=',
      message: 'first',
    }),
    'first commit of site',
  );
  const pipeline = await ok(api('POST', `${P}/pipelines`, { name: 'Build' }), 'pipeline');
  values.pipeline = String(pipeline.id);
  const action = await addAction(h, `/api${P}/pipelines/${pipeline.id}`, { name: 'Test' });
  values.action = String(action.id);
  const run = await runToEnd(h, `/api${P}/pipelines/${pipeline.id}`, { to_revision: { revision: 'HEAD' } });
  values.execution = String(run.execution.id);
  values.action_execution = String(run.execution.action_executions[0].action_execution_id);

  // The callers: the stranger belongs to another workspace only.
  const ids = {} as Record<Caller, number>;
  for (const c of CALLERS) {
    const email = `${c}@example.com`;
    const invited = await ok(
      api('POST', `${c === 's' ? '/workspaces/elsewhere' : W}/members`, { email }),
      email,
    );
    ids[c] = invited.id;
    const user = await findUserByEmailAddress(h.gantry.db, email);
    const mint = async () =>
      createToken(h.gantry.db, {
        userId: user!.id,
        name: c,
        scopes: [...SCOPES],
        ipRestrictions: [],
        workspaceRestrictions: [],
        expiresAt: null,
      });
    tokens[c] = (await mint()).token;
    // A second token of the caller's own, the one {token} rows address (DELETE must not cut the caller off).
    perCaller[c] = { token: (await mint()).row.id, me: String(ids[c]) };
  }
  await ok(api('PATCH', `${W}/members/${ids.a}`, { admin: true }), 'admin');
  const sets = (await ok(api('GET', `${W}/permissions`), 'sets')).permission_sets as {
    id: number;
    type: string;
  }[];
  const builtIn = (type: string) => sets.find((s) => s.type === type)!.id;
  const custom = async (name: string, pipelineLevel: string, repositoryLevel: string) =>
    (
      await ok(
        api('POST', `${W}/permissions`, {
          name,
          pipeline_access_level: pipelineLevel,
          repository_access_level: repositoryLevel,
          project_team_access_level: 'READ_ONLY',
          sandbox_access_level: 'READ_ONLY',
          environment_access_level: 'USE_ONLY',
        }),
        name,
      )
    ).id as number;
  const runSet = await custom('runner', 'RUN_ONLY', 'READ_ONLY');
  const writeSet = await custom('writer', 'READ_WRITE', 'READ_WRITE');
  values.set = String(runSet);
  const group = await ok(api('POST', `${W}/groups`, { name: 'runners' }), 'group');
  values.group = String(group.id);
  values.groupMember = String(ids.g);
  values.member = String(ids.r);
  await ok(api('POST', `${W}/groups/${group.id}/members`, { id: ids.g }), 'group member');
  const grants: [Caller, number][] = [
    ['r', builtIn('READ_ONLY')],
    ['u', runSet],
    ['w', writeSet],
    ['m', builtIn('PROJECT_MANAGER')],
    ['d', writeSet],
  ];
  for (const project of ['app', 'site']) {
    for (const [c, set] of grants)
      await ok(
        api('POST', `${W}/projects/${project}/members`, { id: ids[c], permission_set: { id: set } }),
        `${c} in ${project}`,
      );
    await ok(
      api('POST', `${W}/projects/${project}/groups`, { id: group.id, permission_set: { id: runSet } }),
      `group in ${project}`,
    );
  }
  await ok(
    api('PATCH', `${P}/pipelines/${pipeline.id}`, {
      permissions: { others: 'DEFAULT', users: [{ id: ids.d, access_level: 'DENIED' }], groups: null },
    }),
    'pipeline permissions',
  );
  values.variable = String(
    (await ok(api('POST', `${W}/variables`, { key: 'V', value: 'v', project: { name: 'app' } }), 'variable'))
      .id,
  );
  values.environment = (
    await ok(
      api('POST', `${W}/environments`, { name: 'Stage', identifier: 'stage', project: { name: 'app' } }),
      'environment',
    )
  ).id;
  values.integration = (
    await ok(
      api('POST', `${W}/integrations`, { name: 'Hub', type: 'DOCKER_HUB', username: 'u', password: 'p' }),
      'integration',
    )
  ).hash_id;
  values.webhook = String(
    (
      await ok(
        api('POST', `${W}/webhooks`, {
          events: ['EXECUTION_FINISHED'],
          target_url: 'https://hook.invalid',
          secret_key: 's',
        }),
        'webhook',
      )
    ).id,
  );
  const pkg = await ok(
    api('POST', `${W}/packages`, { name: 'Bundle', identifier: 'bundle', project: { name: 'app' } }),
    'package',
  );
  values.package = pkg.id;
  const upload = await h.gantry.app.inject({
    method: 'POST',
    url: `/api${W}/packages/${pkg.id}/versions?version=1.0.0`,
    headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/x-tar' },
    payload: await tarOf([{ name: 'a.txt', content: 'a' }]),
  });
  assert.equal(upload.statusCode, 201, upload.body);
  values.version = JSON.parse(upload.body).id;
});

after(async () => {
  await h.close();
  rmSync(repoDir, { recursive: true, force: true });
});

/** The request path of a row for a caller, placeholders filled in. */
function pathOf(key: string, row: Row, caller: Caller): string {
  const params: Record<string, string> = { workspace: 'mx', project_name: 'app' };
  const template =
    row.path ?? key.slice(key.indexOf(' ') + 1).replace(/:(\w+)/g, (_, p: string) => params[p] ?? `:${p}`);
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = name === 'token' || name === 'me' ? perCaller[caller][name] : values[name];
    assert.ok(value !== undefined, `no value for {${name}}`);
    return value;
  });
}

/** Sends the row's request as `caller`; returns the status. */
async function send(key: string, row: Row, caller: Caller): Promise<number> {
  const method = key.slice(0, key.indexOf(' '));
  let url = pathOf(key, row, caller);
  // Served where it is registered: under /api, /git or at the root.
  const registered = h.gantry.app.declaredRoutes.find((r) => routeKey(r.method, r.url) === key)!;
  url = `${/^\/(api|git)(?=\/)/.exec(registered.url)?.[0] ?? ''}${url}`;
  // Fails validation after the access check: whoever is let through changes nothing.
  if (method !== 'GET') url += `${url.includes('?') ? '&' : '?'}access_token=1&access_token=2`;
  const headers: Record<string, string> = { authorization: `Bearer ${tokens[caller]}` };
  if (row.stream) {
    const abort = new AbortController();
    const res = await fetch(`${h.baseUrl}${url}`, { headers, signal: abort.signal });
    abort.abort();
    return res.status;
  }
  let payload: string | Buffer | undefined;
  if (row.body !== undefined) {
    payload = typeof row.body === 'string' ? row.body : JSON.stringify(row.body);
    headers['content-type'] = row.contentType ?? 'application/json';
  }
  const res = await h.gantry.app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload !== undefined ? { payload } : {}),
  });
  return res.statusCode;
}

const outcome = (status: number): string =>
  status === 403 ? 'f' : status === 404 ? 'n' : status === 401 ? '!' : 'y';

describe('permission matrix', () => {
  test('every registered route has a row, and every row a route', () => {
    const registered = new Set(
      h.gantry.app.declaredRoutes.filter((r) => r.method !== 'HEAD').map((r) => routeKey(r.method, r.url)),
    );
    const missing = [...registered].filter((k) => !(k in MATRIX));
    assert.deepEqual(missing, [], 'routes without a row in test/api/permission-matrix.test.ts');
    const stale = Object.keys(MATRIX).filter((k) => !registered.has(k));
    assert.deepEqual(stale, [], 'rows for routes that no longer exist');
    for (const r of h.gantry.app.declaredRoutes)
      if (r.scope !== null && !r.url.startsWith('/api/docs'))
        assert.ok(r.access !== undefined, `${r.method} ${r.url} declares a scope but no access`);
  });

  test('every route answers every caller as its row says', async () => {
    const failures: string[] = [];
    // DELETEs last, so that nothing a later row needs is gone even if a check failed open.
    const keys = Object.keys(MATRIX).sort(
      (a, b) => Number(a.startsWith('DELETE')) - Number(b.startsWith('DELETE')),
    );
    for (const key of keys) {
      const row = MATRIX[key]!;
      assert.equal(row.expect.length, CALLERS.length, `${key}: one letter per caller`);
      let got = '';
      for (const caller of CALLERS) got += outcome(await send(key, row, caller));
      if (got !== row.expect) failures.push(`${key}\n    expected ${row.expect}\n    got      ${got}`);
    }
    assert.deepEqual(failures, [], `callers ${CALLERS.join('')}:\n${failures.join('\n')}`);
  });
});
