import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startGantry, type Harness } from '../support/harness.ts';
import { tempDirForProcess } from '../support/temp-dirs.ts';

// What Buddy's own clients (the Go SDK behind the Terraform provider) rely on: buddy-api-clients.md.
let h: Harness;

before(async () => {
  h = await startGantry();
});
after(() => h.close());

describe('the API at the root', () => {
  test('/workspaces answers exactly as /api/workspaces, for every method', async () => {
    const created = await h.request('POST', '/workspaces', { domain: 'rootws' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, 'rootws', 'the name defaults to the domain');
    const viaApi = await h.request('GET', '/api/workspaces/rootws');
    const viaRoot = await h.request('GET', '/workspaces/rootws');
    assert.equal(viaRoot.status, 200);
    assert.deepEqual(viaRoot.body, viaApi.body);
    const patched = await h.request('PATCH', '/workspaces/rootws', { name: 'Root', domain: null });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'Root');
    assert.equal(patched.body.domain, 'rootws', 'null leaves the domain unchanged');
    const tokens = await h.request('GET', '/user/tokens');
    assert.equal(tokens.status, 200);
    assert.ok(Array.isArray(tokens.body.access_tokens));
    const missing = await h.request('GET', '/workspaces/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.body.errors[0].message, /nope/);
    // A base URL of ".../api" without its trailing slash glues "workspaces" on; ".../" doubles the slash.
    assert.equal((await h.request('GET', '/apiworkspaces/rootws')).status, 200);
    assert.equal((await h.request('GET', '//workspaces/rootws')).status, 200);
    const deleted = await h.request('DELETE', '/workspaces/rootws');
    assert.equal(deleted.status, 204);
    assert.equal(deleted.body, null, 'DELETE answers with no body');
    assert.equal((await h.request('GET', '/api/workspaces/rootws')).status, 404);
  });

  test('the web UI keeps / and the root API needs a token like /api does', async () => {
    const page = await h.request('GET', '/', undefined, { token: null });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.equal((await h.request('GET', '/workspaces', undefined, { token: null })).status, 401);
    assert.equal((await h.request('GET', '/users', undefined, { token: null })).status, 404);
  });
});

describe('workspaces as the SDK creates them', () => {
  test('only a domain, or a domain and an encryption salt (write-only)', async () => {
    const res = await h.request('POST', '/workspaces', { domain: 'saltws', encryption_salt: 's3cr3t' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.ok(!JSON.stringify(res.body).includes('s3cr3t'), 'the salt is never shown');
    assert.equal((await h.request('POST', '/workspaces', { domain: 'x1', nmae: 'typo' })).status, 400);
  });

  test('every workspace and project starts with its own SSH key variable', async () => {
    await h.request('POST', '/workspaces', { domain: 'keys' });
    const project = await h.request('POST', '/workspaces/keys/projects', { display_name: 'app1' });
    assert.equal(project.status, 201);
    assert.equal(project.body.name, 'app1');
    const ws = (await h.request('GET', '/workspaces/keys/variables')).body.variables;
    const pr = (await h.request('GET', '/workspaces/keys/variables?projectName=app1')).body.variables;
    assert.equal(ws.length, 1);
    assert.equal(pr.length, 1);
    for (const v of [ws[0], pr[0]]) {
      assert.equal(v.type, 'SSH_KEY');
      assert.equal(v.encrypted, true);
      assert.match(v.value, /^!encrypted /);
      assert.match(v.public_value, /^ssh-ed25519 AAAA/);
      assert.match(v.key_fingerprint, /^SHA256:/);
      assert.ok(v.checksum);
    }
    assert.equal(ws[0].key, 'id_workspace');
    assert.equal(pr[0].key, 'id_project');
    assert.equal(pr[0].project.name, 'app1');
    assert.notEqual(ws[0].public_value, pr[0].public_value, 'each has its own key');
  });

  test("an SSH_KEY variable shows the key's public half, as ssh-keygen derives it", async () => {
    const dir = tempDirForProcess('gantry-key-');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', '', '-f', `${dir}/k`]);
    const pem = readFileSync(`${dir}/k`, 'utf8');
    const pub = readFileSync(`${dir}/k.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const res = await h.request('POST', '/workspaces/keys/variables', {
      key: 'deploy',
      value: pem,
      type: 'SSH_KEY',
      description: 'd',
      settable: false,
      encrypted: true,
      project: { name: 'app1' },
      file_place: 'CONTAINER',
      file_path: '~/.ssh/abc',
      file_chmod: '666',
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.public_value, pub);
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${dir}/k.pub`], { encoding: 'utf8' });
    assert.equal(res.body.key_fingerprint, fingerprint.split(' ')[1]);
    const patched = await h.request('PATCH', `/workspaces/keys/variables/${res.body.id}`, {
      type: 'SSH_KEY',
      description: '',
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.description, '');
    assert.equal(patched.body.public_value, pub, 'kept when the value is not sent');
    const bad = await h.request('POST', '/workspaces/keys/variables', {
      key: 'broken',
      value: 'not a key',
      type: 'SSH_KEY',
      file_path: '~/.ssh/broken',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors[0].message, /private key/);
  });
});

describe('tokens as the SDK uses them', () => {
  test('expires_in counts days; GET /user/tokens/:id; the calling token is listed', async () => {
    const before = (await h.request('GET', '/user/tokens')).body.access_tokens;
    assert.ok(
      before.some((t: { name: string }) => t.name === 'admin'),
      'the calling token is listed',
    );
    const created = await h.request('POST', '/user/tokens', {
      name: 't',
      expires_in: 25,
      scopes: ['WORKSPACE', 'USER_INFO'],
      ip_restrictions: ['127.0.0.1'],
      workspace_restrictions: ['keys'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.ok(created.body.token);
    const days = (Date.parse(created.body.expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 24.9 && days <= 25, `expires in ${days} days`);
    const got = await h.request('GET', `/user/tokens/${created.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.token, null, 'the secret is shown only once');
    assert.deepEqual(got.body.workspace_restrictions, ['keys']);
    assert.equal(got.body.expires_at, created.body.expires_at);
    const at = await h.request('POST', '/user/tokens', {
      name: 'at',
      expires_at: '2099-01-10T12:00:00+01:00',
      scopes: ['WORKSPACE'],
    });
    assert.equal(at.body.expires_at, '2099-01-10T12:00:00+01:00', 'kept in its own offset');
    assert.deepEqual(at.body.ip_restrictions, []);
    assert.equal((await h.request('GET', '/user/tokens')).body.access_tokens.length, before.length + 2);
    assert.equal((await h.request('DELETE', `/user/tokens/${at.body.id}`)).status, 204);
    assert.equal((await h.request('GET', `/user/tokens/${at.body.id}`)).status, 404);
  });
});

describe('profile, e-mails and public keys', () => {
  test('PATCH /user renames; GET shows an avatar and the workspaces address', async () => {
    const res = await h.request('PATCH', '/user', { name: 'Mike' });
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'Mike');
    const got = await h.request('GET', '/user');
    assert.equal(got.body.name, 'Mike');
    assert.ok(got.body.workspaces_url.endsWith('/workspaces'));
    const avatar = await h.request(
      'GET',
      new URL(got.body.avatar_url).pathname + new URL(got.body.avatar_url).search,
    );
    assert.equal(avatar.status, 200);
    assert.match(String(avatar.body), /<svg[\s\S]*>M</);
    assert.equal((await h.request('PATCH', '/user', { name: null })).body.name, 'Mike');
  });

  test('e-mail addresses: primary listed, added ones unconfirmed, raw + and @ in the path', async () => {
    const added = await h.request('POST', '/user/emails', { email: 'a+b@example.com' });
    assert.equal(added.status, 201);
    assert.deepEqual(added.body, { email: 'a+b@example.com', confirmed: false });
    const list = (await h.request('GET', '/user/emails')).body.emails;
    assert.deepEqual(list, [
      { email: 'admin@localhost', confirmed: true },
      { email: 'a+b@example.com', confirmed: false },
    ]);
    assert.equal((await h.request('POST', '/user/emails', { email: 'a+b@example.com' })).status, 409);
    assert.equal((await h.request('POST', '/user/emails', { email: 'nope' })).status, 400);
    assert.equal((await h.request('DELETE', '/user/emails/admin@localhost')).status, 400);
    assert.equal((await h.request('DELETE', '/user/emails/a+b@example.com')).status, 204);
    assert.equal((await h.request('GET', '/user/emails')).body.emails.length, 1);
  });

  test('public SSH keys: add, read, delete; anything but a public key line is refused', async () => {
    const line = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILffpf4OhlAoFkuH96XwwHPhmcjT4B70xby7xIrPoczK me@laptop';
    const created = await h.request('POST', '/user/keys', { content: `${line}\n`, title: 'laptop' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.title, 'laptop');
    assert.equal(created.body.content, line);
    const got = await h.request('GET', `/user/keys/${created.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.id, created.body.id);
    assert.equal((await h.request('POST', '/user/keys', { content: 'ssh-rsa AAAA' })).status, 400);
    assert.equal((await h.request('DELETE', `/user/keys/${created.body.id}`)).status, 204);
    assert.equal((await h.request('GET', `/user/keys/${created.body.id}`)).status, 404);
  });
});

describe('environments with every field of Buddy', () => {
  test('access levels, permissions, base environments: stored, echoed, null leaves them, [] clears tags', async () => {
    await h.request('POST', '/workspaces', { domain: 'envs' });
    await h.request('POST', '/workspaces/envs/projects', { display_name: 'p1' });
    const created = await h.request('POST', '/workspaces/envs/environments', {
      name: 'Staging',
      identifier: 'staging',
      scope: 'PROJECT',
      project: { name: 'p1' },
      public_url: 'https://staging.example.com',
      icon: 'rocket',
      tags: ['aaa', 'bbb'],
      pipelines_access_level: 'DENIED',
      environments_access_level: 'USE_ONLY',
      base_only: true,
      permissions: { others: 'USE_ONLY', users: [{ id: 1, access_level: 'DENIED' }], groups: null },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const e = created.body;
    assert.equal(typeof e.id, 'string');
    assert.equal(e.scope, 'PROJECT');
    assert.equal(e.project.name, 'p1');
    assert.equal(e.pipelines_access_level, 'DENIED');
    assert.equal(e.base_only, true);
    assert.deepEqual(e.permissions, {
      others: 'USE_ONLY',
      users: [{ id: 1, access_level: 'DENIED' }],
      groups: [],
    });
    const patched = await h.request('PATCH', `/workspaces/envs/environments/${e.id}`, {
      tags: [],
      icon: null,
      base_only: false,
      permissions: { others: 'MANAGE', users: null, groups: [{ id: 7, access_level: 'DEFAULT' }] },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.tags, []);
    assert.equal(patched.body.icon, 'rocket', 'null leaves it');
    assert.equal(patched.body.pipelines_access_level, 'DENIED', 'absent leaves it');
    assert.equal(patched.body.project.name, 'p1', 'the project stays');
    assert.deepEqual(
      patched.body.permissions.groups,
      [{ id: 7, access_level: 'DEFAULT' }],
      'DEFAULT is kept',
    );
    const ws = await h.request('POST', '/workspaces/envs/environments', { name: 'Prod', identifier: 'prod' });
    assert.equal(ws.body.scope, 'WORKSPACE');
    assert.equal(ws.body.project, null);
    assert.equal(ws.body.icon, '');
    assert.equal(ws.body.environments_access_level, 'USE_ONLY');
    const list = await h.request('GET', '/workspaces/envs/environments?project_name=p1');
    assert.deepEqual(
      list.body.environments.map((x: { id: string }) => x.id).sort(),
      [e.id, ws.body.id].sort(),
      "a project's list holds its own and the workspace's environments",
    );
    const wrong = await h.request('POST', '/workspaces/envs/environments', {
      name: 'X',
      identifier: 'x',
      scope: 'PROJECT',
    });
    assert.equal(wrong.status, 400);
    assert.equal(
      (await h.request('PATCH', `/workspaces/envs/environments/${e.id}`, { pipelines_access_level: 'MAYBE' }))
        .status,
      400,
    );
    assert.equal((await h.request('DELETE', `/workspaces/envs/environments/${e.id}`)).status, 204);
  });
});

describe('repository contents on a hosted repository', () => {
  const C = '/workspaces/repo/projects/site/repository/contents';
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  test('create, update, read, delete: each a real commit by the caller, readable with git', async () => {
    await h.request('POST', '/workspaces', { domain: 'repo' });
    await h.request('POST', '/workspaces/repo/projects', { display_name: 'site' });
    const empty = await h.request('GET', `${C}/`);
    assert.equal(empty.status, 200, JSON.stringify(empty.body));
    assert.equal(empty.body.content_type, 'DIR');
    assert.deepEqual(empty.body.contents, []);

    const created = await h.request('POST', C, {
      path: '/docs/a.txt',
      content: b64('one\n'),
      message: 'add a',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.content.path, 'docs/a.txt');
    assert.equal(created.body.content.name, 'a.txt');
    assert.equal(created.body.content.content_type, 'FILE');
    assert.equal(created.body.content.encoding, 'base64');
    assert.equal(Buffer.from(created.body.content.content, 'base64').toString(), 'one\n');
    assert.equal(created.body.content.size, 4);
    assert.equal(created.body.commit.message, 'add a');
    assert.equal(created.body.commit.author.email, 'admin@localhost', 'the caller is the author');
    const first = created.body.commit.revision;
    assert.equal((await h.request('POST', C, { path: 'docs/a.txt', content: b64('x') })).status, 409);

    const updated = await h.request('PUT', `${C}/docs/a.txt`, { content: b64('two\n'), message: 'change a' });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.notEqual(updated.body.commit.revision, first);
    assert.equal((await h.request('PUT', `${C}/docs/none.txt`, { content: b64('x') })).status, 404);

    const root = await h.request('GET', `${C}/`);
    assert.deepEqual(
      root.body.contents.map((e: { name: string; content_type: string }) => [e.name, e.content_type]),
      [['docs', 'DIR']],
    );
    const atFirst = await h.request('GET', `${C}/docs/a.txt?revision=${first}`);
    assert.equal(Buffer.from(atFirst.body.content, 'base64').toString(), 'one\n');
    const atMaster = await h.request('GET', `${C}/docs/a.txt?revision=master`);
    assert.equal(Buffer.from(atMaster.body.content, 'base64').toString(), 'two\n');
    assert.equal((await h.request('GET', `${C}/docs/a.txt?revision=nope`)).status, 404);
    assert.equal((await h.request('GET', `${C}/missing`)).status, 404);
    assert.equal((await h.request('GET', `${C}/docs/.git/config`)).status, 400);

    // The commits are in the hosted repository, as git sees them.
    const project = await h.gantry.db
      .selectFrom('projects')
      .select('id')
      .where('name', '=', 'site')
      .executeTakeFirstOrThrow();
    const gitDir = path.join(h.dataDir, 'repos', `${project.id}.git`);
    const log = execFileSync('git', ['--git-dir', gitDir, 'log', '--format=%an <%ae> %s', 'master'], {
      encoding: 'utf8',
    });
    assert.deepEqual(log.trim().split('\n'), [
      'Mike <admin@localhost> change a',
      'Mike <admin@localhost> add a',
    ]);

    const removed = await h.request('DELETE', `${C}/docs/a.txt`, { message: 'drop a' });
    assert.equal(removed.status, 204);
    assert.equal((await h.request('GET', `${C}/docs/a.txt`)).status, 404);
    assert.equal((await h.request('DELETE', `${C}/docs/a.txt`, null)).status, 404);
  });
});

describe('response schemas', () => {
  test('every API operation documents its success response: a JSON schema, 204 for DELETE, or a stream', async () => {
    const doc = (await h.request('GET', '/api/openapi.json')).body;
    const missing: string[] = [];
    let operations = 0;
    for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      if (path.startsWith('/git/')) continue; // git's smart HTTP protocol, not the API
      for (const [method, op] of Object.entries<any>(ops)) {
        operations += 1;
        const success = Object.entries<any>(op.responses ?? {}).filter(([status]) => status.startsWith('2'));
        const described = success.some(
          ([status, r]) =>
            (status === '204' && method === 'delete') ||
            Object.values<any>(r.content ?? {}).some((c) => c.schema && Object.keys(c.schema).length > 0),
        );
        if (!described) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.ok(operations > 100, `only ${operations} operations in the document`);
    assert.deepEqual(missing, [], 'operations without a documented response');
    // The shapes themselves are checked on every response the tests see (harness: checkResponseSchemas).
    const action =
      doc.paths[
        '/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}/actions/{action_id}'
      ];
    const schema = action.get.responses['200'].content['application/json'].schema;
    for (const field of ['docker_image_name', 'inline_commands', 'pipeline', 'variables', 'after_action_id'])
      assert.ok(schema.properties[field], field);
  });
});
