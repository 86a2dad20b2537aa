import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { databaseArgs, startGantry, type Harness } from '../support/harness.ts';
import { assertBuddyError } from '../support/api.ts';

const run = promisify(execFile);
const GANTRY_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/gantry.js');
const W = '/api/workspaces/crew';
let h: Harness;

/** Invites `email`, sets a password through the invitation link and signs in; returns the member id and token. */
async function join(
  email: string,
  password = 'correct horse battery',
): Promise<{ id: number; token: string }> {
  const invited = await h.request('POST', `${W}/members`, { email });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  const link = new URL(invited.body.invitation_url.replace('/#/', '/'));
  const set = await h.request(
    'POST',
    '/api/auth/password',
    { token: link.searchParams.get('token'), password },
    { token: null },
  );
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const signIn = await h.request('POST', '/api/auth/sign-in', { email, password }, { token: null });
  assert.equal(signIn.status, 201, JSON.stringify(signIn.body));
  return { id: invited.body.id, token: signIn.body.token };
}

before(async () => {
  h = await startGantry();
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'Crew', domain: 'crew' })).status, 201);
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'Other', domain: 'other' })).status, 201);
  assert.equal((await h.request('POST', `${W}/projects`, { display_name: 'app' })).status, 201);
});

after(async () => {
  await h.close();
});

describe('members and invitations', () => {
  test('a new workspace has its owner as admin member and three built-in permission sets', async () => {
    const members = await h.request('GET', `${W}/members?page=1&per_page=20`);
    assert.equal(members.status, 200);
    assert.equal(members.body.members.length, 1);
    const owner = members.body.members[0];
    assert.equal(owner.admin, true);
    assert.equal(owner.workspace_owner, true);
    assert.match(owner.avatar_url, /^data:image\/svg\+xml,/);
    const sets = await h.request('GET', `${W}/permissions`);
    assert.deepEqual(
      sets.body.permission_sets.map((s: { type: string }) => s.type),
      ['DEVELOPER', 'READ_ONLY', 'PROJECT_MANAGER'],
    );
    for (const s of sets.body.permission_sets)
      for (const f of ['pipeline', 'project_team', 'repository', 'sandbox', 'environment', 'target'])
        assert.ok(s[`${f}_access_level`], `${s.type} ${f}`);
  });

  test('inviting an e-mail creates the user; the one-time link sets a password once; sign-in issues a token', async () => {
    const email = 'Ann@Example.com';
    const invited = await h.request('POST', `${W}/members`, { email });
    assert.equal(invited.status, 201);
    assert.equal(invited.body.email, 'ann@example.com');
    assert.equal(invited.body.admin, false);
    assert.equal(invited.body.workspace_owner, false);
    assert.equal(invited.body.auto_assign_to_new_projects, false);
    assert.equal((await h.request('POST', `${W}/members`, { email })).status, 409);
    const token = new URL(invited.body.invitation_url.replace('/#/', '/')).searchParams.get('token');
    const weak = await h.request('POST', '/api/auth/password', { token, password: 'short' }, { token: null });
    assert.equal(weak.status, 400);
    const set = await h.request(
      'POST',
      '/api/auth/password',
      { token, password: 'a long passphrase' },
      { token: null },
    );
    assert.equal(set.status, 200);
    const again = await h.request(
      'POST',
      '/api/auth/password',
      { token, password: 'another passphrase' },
      { token: null },
    );
    assert.equal(again.status, 400, 'the link works once');
    assertBuddyError(again.body);
    const wrong = await h.request(
      'POST',
      '/api/auth/sign-in',
      { email, password: 'another passphrase' },
      { token: null },
    );
    assert.equal(wrong.status, 401);
    const ok = await h.request(
      'POST',
      '/api/auth/sign-in',
      { email, password: 'a long passphrase' },
      { token: null },
    );
    assert.equal(ok.status, 201);
    const me = await h.request('GET', '/api/user', undefined, { token: ok.body.token });
    assert.equal(me.body.email, 'ann@example.com');
    // The invited member sees the workspace it joined and nothing of the other one.
    const list = await h.request('GET', '/api/workspaces', undefined, { token: ok.body.token });
    assert.deepEqual(
      list.body.workspaces.map((w: { domain: string }) => w.domain),
      ['crew'],
    );
    const other = await h.request('GET', '/api/workspaces/other', undefined, { token: ok.body.token });
    assert.equal(other.status, 404);
    const missing = await h.request('GET', '/api/workspaces/no-such', undefined, { token: ok.body.token });
    assert.equal(missing.status, 404);
    assert.equal(
      other.body.errors[0].message.replace('other', 'X'),
      missing.body.errors[0].message.replace('no-such', 'X'),
    );
  });

  test('failed sign-ins are limited: the sixth attempt within the window gets 429 even with the right password', async () => {
    const { token } = await join('bob@example.com', 'bobs passphrase');
    assert.ok(token);
    for (let i = 0; i < 5; i += 1) {
      const res = await h.request(
        'POST',
        '/api/auth/sign-in',
        { email: 'bob@example.com', password: `guess ${i}` },
        { token: null },
      );
      assert.equal(res.status, 401);
    }
    const locked = await h.request(
      'POST',
      '/api/auth/sign-in',
      { email: 'bob@example.com', password: 'bobs passphrase' },
      { token: null },
    );
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers['retry-after']) > 0);
    assertBuddyError(locked.body);
  });

  test('PATCH keeps what it does not send; the owner stays admin; DELETE answers 204', async () => {
    const invited = await h.request('POST', `${W}/members`, { email: 'carl@example.com' });
    const id = invited.body.id;
    const setId = (await h.request('GET', `${W}/permissions`)).body.permission_sets[0].id;
    const auto = await h.request('PATCH', `${W}/members/${id}`, {
      auto_assign_to_new_projects: true,
      auto_assign_permission_set_id: setId,
    });
    assert.equal(auto.status, 200);
    assert.equal(auto.body.auto_assign_permission_set_id, setId);
    const admin = await h.request('PATCH', `${W}/members/${id}`, { admin: true });
    assert.equal(admin.body.admin, true);
    assert.equal(admin.body.auto_assign_to_new_projects, true);
    assert.equal((await h.request('GET', `${W}/members/${id}`)).body.admin, true);
    const noSet = await h.request('PATCH', `${W}/members/${id}`, { auto_assign_permission_set_id: 999999 });
    assert.equal(noSet.status, 400);
    const ownerId = (await h.request('GET', '/api/user')).body.id;
    assert.equal((await h.request('PATCH', `${W}/members/${ownerId}`, { admin: false })).status, 400);
    assert.equal((await h.request('DELETE', `${W}/members/${ownerId}`)).status, 409);
    // Auto-assignment: a new project gets carl with the chosen set.
    const project = await h.request('POST', `${W}/projects`, { display_name: 'autoassigned' });
    const members = await h.request('GET', `${W}/projects/${project.body.name}/members`);
    assert.deepEqual(members.body.members.map((m: { id: number }) => m.id).sort(), [ownerId, id].sort());
    assert.equal((await h.request('DELETE', `${W}/members/${id}`)).status, 204);
    assert.equal((await h.request('GET', `${W}/members/${id}`)).status, 404);
    const after = await h.request('GET', `${W}/projects/${project.body.name}/members`);
    assert.deepEqual(
      after.body.members.map((m: { id: number }) => m.id),
      [ownerId],
      'removal also leaves projects',
    );
  });

  test('gantry token create --user makes a token acting as that user', async () => {
    await h.request('POST', `${W}/members`, { email: 'dora@example.com' });
    const { stdout } = await run(
      process.execPath,
      [
        GANTRY_BIN,
        'token',
        'create',
        '--data-dir',
        h.dataDir,
        ...databaseArgs(h),
        '--name',
        'dora-ci',
        '--user',
        'dora@example.com',
      ],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } },
    );
    const me = await h.request('GET', '/api/user', undefined, { token: stdout.trim() });
    assert.equal(me.status, 200);
    assert.equal(me.body.email, 'dora@example.com');
    const denied = await h.request('PATCH', W, { name: 'x' }, { token: stdout.trim() });
    assert.equal(denied.status, 403, 'a member token cannot manage the workspace');
  });
});

describe('permission sets', () => {
  test('create fills defaults, PATCH with nulls changes nothing, "" clears the description, built-ins are fixed', async () => {
    const created = await h.request('POST', `${W}/permissions`, {
      name: 'perm',
      pipeline_access_level: 'READ_WRITE',
      project_team_access_level: null,
      repository_access_level: 'READ_WRITE',
      sandbox_access_level: 'READ_WRITE',
      description: 'd',
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.type, 'CUSTOM');
    assert.equal(created.body.project_team_access_level, 'READ_ONLY');
    assert.equal(created.body.environment_access_level, 'USE_ONLY');
    assert.equal(created.body.target_access_level, 'USE_ONLY');
    const patched = await h.request('PATCH', `${W}/permissions/${created.body.id}`, {
      description: '',
      name: 'p2',
      pipeline_access_level: null,
      project_team_access_level: null,
      repository_access_level: null,
      sandbox_access_level: null,
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'p2');
    assert.equal(patched.body.description, '');
    assert.equal(patched.body.pipeline_access_level, 'READ_WRITE');
    assert.equal((await h.request('GET', `${W}/permissions`)).body.permission_sets.length, 4);
    const bad = await h.request('POST', `${W}/permissions`, { name: 'x', pipeline_access_level: 'MANAGE' });
    assert.equal(bad.status, 400);
    const builtIn = (await h.request('GET', `${W}/permissions`)).body.permission_sets[0];
    assert.equal((await h.request('DELETE', `${W}/permissions/${builtIn.id}`)).status, 400);
    assert.equal((await h.request('DELETE', `${W}/permissions/${created.body.id}`)).status, 204);
  });
});

describe('groups and project teams', () => {
  test('group CRUD, group members with MEMBER default, project members and groups with their set', async () => {
    const { id: memberId } = await join('eve@example.com');
    const group = await h.request('POST', `${W}/groups`, { name: 'devs' });
    assert.equal(group.status, 201);
    assert.equal(group.body.description, '');
    const gid = group.body.id;
    const renamed = await h.request('PATCH', `${W}/groups/${gid}`, { description: 'the devs' });
    assert.equal(renamed.body.name, 'devs');
    assert.equal(renamed.body.description, 'the devs');
    assert.equal((await h.request('GET', `${W}/groups`)).body.groups.length, 1);
    const added = await h.request('POST', `${W}/groups/${gid}/members`, { id: memberId });
    assert.equal(added.status, 201);
    assert.equal(added.body.status, 'MEMBER');
    const manager = await h.request('PATCH', `${W}/groups/${gid}/members/${memberId}`, { status: 'MANAGER' });
    assert.equal(manager.body.status, 'MANAGER');
    assert.equal((await h.request('GET', `${W}/groups/${gid}/members/${memberId}`)).body.status, 'MANAGER');
    assert.equal((await h.request('GET', `${W}/groups/${gid}/members`)).body.members.length, 1);
    assert.equal((await h.request('POST', `${W}/groups/${gid}/members`, { id: 424242 })).status, 404);

    const sets = (await h.request('GET', `${W}/permissions`)).body.permission_sets;
    const P = `${W}/projects/app`;
    const pm = await h.request('POST', `${P}/members`, { id: memberId, permission_set: { id: sets[0].id } });
    assert.equal(pm.status, 201);
    assert.equal(pm.body.permission_set.id, sets[0].id);
    assert.equal(pm.body.email, 'eve@example.com');
    const pm2 = await h.request('PATCH', `${P}/members/${memberId}`, { permission_set: { id: sets[1].id } });
    assert.equal(pm2.body.permission_set.type, 'READ_ONLY');
    const list = await h.request('GET', `${P}/members?page=1&per_page=30`);
    assert.equal(list.body.members.length, 2, 'owner + the added member');
    assert.equal((await h.request('GET', `${P}/members?page=2&per_page=30`)).body.members.length, 0);
    const pg = await h.request('POST', `${P}/groups`, { id: gid, permission_set: { id: sets[0].id } });
    assert.equal(pg.status, 201);
    assert.equal(pg.body.name, 'devs');
    const pg2 = await h.request('PATCH', `${P}/groups/${gid}`, { permission_set: { id: sets[2].id } });
    assert.equal(pg2.body.permission_set.type, 'PROJECT_MANAGER');
    assert.equal((await h.request('GET', `${P}/groups`)).body.groups.length, 1);
    // A set held in a project cannot be deleted from under it.
    const custom = await h.request('POST', `${W}/permissions`, {
      name: 'held',
      pipeline_access_level: 'READ_ONLY',
    });
    await h.request('PATCH', `${P}/members/${memberId}`, { permission_set: { id: custom.body.id } });
    assert.equal((await h.request('DELETE', `${W}/permissions/${custom.body.id}`)).status, 409);
    assert.equal((await h.request('DELETE', `${P}/groups/${gid}`)).status, 204);
    assert.equal((await h.request('DELETE', `${P}/members/${memberId}`)).status, 204);
    assert.equal((await h.request('DELETE', `${W}/groups/${gid}/members/${memberId}`)).status, 204);
    assert.equal((await h.request('DELETE', `${W}/groups/${gid}`)).status, 204);
  });
});

describe('members nested in other objects', () => {
  test("a creator's admin flag is their role in the workspace, not the server-wide administrator flag", async () => {
    // The server administrator (who made "other") is no member of a workspace owned by someone else.
    const bob = await join('bert@example.com');
    const owned = await h.request('POST', '/api/workspaces', { domain: 'bobs' }, { token: bob.token });
    assert.equal(owned.status, 201, JSON.stringify(owned.body));
    const B = '/api/workspaces/bobs';
    assert.equal((await h.request('POST', `${B}/projects`, { display_name: 'site' })).status, 201);
    const byAdmin = await h.request('POST', `${B}/projects/site/pipelines`, { name: 'by server admin' });
    assert.equal(byAdmin.status, 201, JSON.stringify(byAdmin.body));
    assert.equal(byAdmin.body.creator.workspace_owner, false);
    assert.equal(byAdmin.body.creator.admin, false, 'the server administrator is no admin of bobs');
    const byOwner = await h.request(
      'POST',
      `${B}/projects/site/pipelines`,
      { name: 'by owner' },
      { token: bob.token },
    );
    assert.equal(byOwner.body.creator.admin, true);
    assert.equal(byOwner.body.creator.workspace_owner, true);
    // In crew, an admin member shows as admin wherever they are nested, and stops when demoted.
    const dana = await join('nadia@example.com');
    assert.equal((await h.request('PATCH', `${W}/members/${dana.id}`, { admin: true })).status, 200);
    const made = await h.request(
      'POST',
      `${W}/projects/app/pipelines`,
      { name: 'by dana' },
      { token: dana.token },
    );
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.creator.admin, true);
    assert.equal(made.body.creator.workspace_owner, false);
    assert.equal((await h.request('PATCH', `${W}/members/${dana.id}`, { admin: false })).status, 200);
    const listed = await h.request('GET', `${W}/projects/app/pipelines`);
    const mine = listed.body.pipelines.find((p: { name: string }) => p.name === 'by dana');
    assert.equal(mine.creator.admin, false);
    assert.equal((await h.request('GET', `${W}/projects/app`)).body.created_by.admin, true, 'the owner');
  });

  test('project groups page like project members', async () => {
    const sets = (await h.request('GET', `${W}/permissions`)).body.permission_sets;
    const P = `${W}/projects/app`;
    const ids: number[] = [];
    for (const name of ['g1', 'g2', 'g3']) {
      const g = await h.request('POST', `${W}/groups`, { name });
      ids.push(g.body.id);
      assert.equal(
        (await h.request('POST', `${P}/groups`, { id: g.body.id, permission_set: { id: sets[1].id } }))
          .status,
        201,
      );
    }
    const first = await h.request('GET', `${P}/groups?page=1&per_page=2`);
    const second = await h.request('GET', `${P}/groups?page=2&per_page=2`);
    assert.deepEqual(
      [...first.body.groups, ...second.body.groups].map((g: { id: number }) => g.id),
      ids,
    );
    assert.equal((await h.request('GET', `${P}/groups?page=3&per_page=2`)).body.groups.length, 0);
    for (const id of ids) assert.equal((await h.request('DELETE', `${P}/groups/${id}`)).status, 204);
    assert.equal((await h.request('GET', `${P}/groups/${ids[0]}`)).status, 404);
  });
});
