/**
 * Executions pinned to a package version (`package_version: "identifier:version"`): the version's
 * files are mounted read-only at /buddy/packages/<identifier> in every container action, and the
 * execution shows `package` and `package_version` as in seed 000.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import { tarGzOf, tarOf } from '../support/archives.ts';

let h: Harness;
let repo: string;
let site: any;
let v1: any;
const P = '/api/workspaces/ws/packages';

async function upload(packageId: string, version: string, body: Buffer): Promise<any> {
  const res = await h.gantry.app.inject({
    method: 'POST',
    url: `${P}/${packageId}/versions?version=${version}`,
    headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/octet-stream' },
    payload: body,
  });
  assert.equal(res.statusCode, 201, res.body);
  return JSON.parse(res.body);
}

before(async () => {
  h = await startGantry();
  repo = makeRepo([{ message: 'init', files: { 'README.md': 'hello\n' } }]).dir;
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  site = (await h.request('POST', P, { name: 'Site', identifier: 'site' })).body;
  v1 = await upload(
    site.id,
    '1.0.0',
    await tarOf([
      { name: 'hello.txt', content: 'hello from v1\n' },
      { name: 'only-v1.txt', content: '1' },
    ]),
  );
  await upload(
    site.id,
    '2.0.0',
    await tarGzOf([
      { name: 'hello.txt', content: 'hello from v2\n' },
      { name: 'only-v2.txt', content: '2' },
    ]),
  );
});
after(() => h.close());

async function run(
  pipelinePath: string,
  body: Record<string, unknown> = {},
): Promise<{ accepted: any; done: any; path: string }> {
  const res = await h.request('POST', `${pipelinePath}/executions`, {
    to_revision: { revision: 'HEAD' },
    ...body,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const path = `${pipelinePath}/executions/${res.body.id}`;
  return { accepted: res.body, done: await waitForExecution(h, path), path };
}

const SHOW_PACKAGE = [
  'cat /buddy/packages/site/hello.txt',
  'ls /buddy/packages/site',
  'if touch /buddy/packages/site/new 2>/dev/null; then echo WRITABLE; else echo READ-ONLY; fi',
].join('; ');

test("an execution pinned to a package version sees that version's files, read-only, in every action", async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, { name: 'first', inline_commands: SHOW_PACKAGE });
  await addAction(h, pipelinePath, { name: 'second', inline_commands: 'cat /buddy/packages/site/hello.txt' });
  const { accepted, done, path } = await run(pipelinePath, { package_version: 'site:1.0.0' });
  assert.equal(done.status, 'SUCCESSFUL', JSON.stringify(done));
  const first = await logsOf(h, path, done.action_executions[0].action_execution_id);
  assert.ok(first.includes('hello from v1'), first.join('\n'));
  assert.ok(first.includes('only-v1.txt'));
  assert.ok(!first.some((l) => l.includes('v2')), 'the other version is not there');
  assert.ok(first.includes('READ-ONLY'), 'the package cannot be changed by an action');
  assert.deepEqual(await logsOf(h, path, done.action_executions[1].action_execution_id), ['hello from v1']);

  for (const e of [accepted, done]) {
    assert.deepEqual(e.package, {
      url: `${h.baseUrl}/api/workspaces/ws/packages/${site.id}`,
      html_url: `${h.baseUrl}/#/workspaces/ws/packages/${site.id}`,
      id: site.id,
      type: 'FILE',
      name: 'Site',
      identifier: 'site',
      scope: 'WORKSPACE',
      size: e.package.size,
    });
    assert.ok(e.package.size > 0);
    assert.equal(e.package_version.id, v1.id);
    assert.equal(e.package_version.version, '1.0.0');
    assert.equal(e.package_version.size, 'hello from v1\n'.length + 1);
    assert.equal(e.package_version.created_date, v1.created_date);
    assert.equal(
      e.package_version.version_url,
      `${h.baseUrl}/api/workspaces/ws/packages/${site.id}/versions/${v1.id}/download`,
    );
    assert.equal(e.package_version.url, v1.url);
  }
});

test('the second version is what a run pinned to it sees; a run without a pin sees no packages', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, {
    name: 'show',
    inline_commands: 'cat /buddy/packages/site/hello.txt 2>/dev/null || echo NO-PACKAGE',
  });
  const v2 = await run(pipelinePath, { package_version: 'site:2.0.0' });
  assert.equal(v2.done.status, 'SUCCESSFUL');
  assert.deepEqual(await logsOf(h, v2.path, v2.done.action_executions[0].action_execution_id), [
    'hello from v2',
  ]);
  const none = await run(pipelinePath);
  assert.equal(none.done.package, null);
  assert.equal(none.done.package_version, null);
  assert.deepEqual(await logsOf(h, none.path, none.done.action_executions[0].action_execution_id), [
    'NO-PACKAGE',
  ]);
});

test("a project's own package wins over a workspace package with the same identifier", async () => {
  const { projectPath, pipelinePath } = await setupPipeline(h, repo);
  const own = (
    await h.request('POST', P, {
      name: 'Own site',
      identifier: 'site',
      project: { name: projectPath.split('/').pop() },
    })
  ).body;
  await upload(own.id, '1.0.0', await tarOf([{ name: 'hello.txt', content: 'hello from the project\n' }]));
  await addAction(h, pipelinePath, { name: 'show', inline_commands: 'cat /buddy/packages/site/hello.txt' });
  const { done, path } = await run(pipelinePath, { package_version: 'site:1.0.0' });
  assert.equal(done.package.id, own.id);
  assert.equal(done.package.scope, 'PROJECT');
  assert.deepEqual(await logsOf(h, path, done.action_executions[0].action_execution_id), [
    'hello from the project',
  ]);
});

test('an unknown package or version is a 404 naming it, and no execution is created', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, { name: 'noop' });
  const unknownPackage = await h.request('POST', `${pipelinePath}/executions`, {
    package_version: 'nope:1.0.0',
  });
  assert.equal(unknownPackage.status, 404);
  assert.match(unknownPackage.body.errors[0].message, /package "nope" not found/);
  const unknownVersion = await h.request('POST', `${pipelinePath}/executions`, {
    package_version: 'site:9.9.9',
  });
  assert.equal(unknownVersion.status, 404);
  assert.match(unknownVersion.body.errors[0].message, /version "9\.9\.9" of package "site" not found/);
  assert.equal(
    (await h.request('POST', `${pipelinePath}/executions`, { package_version: 'no-colon' })).status,
    400,
  );
  assert.equal((await h.request('GET', `${pipelinePath}/executions`)).body.total_element_count, 0);
});

test('a version used by a queued execution cannot be deleted; a retry after it is gone fails clearly', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, {
    name: 'fails',
    inline_commands: 'cat /buddy/packages/temp/hello.txt; exit 1',
  });
  const temp = (await h.request('POST', P, { name: 'Temp', identifier: 'temp' })).body;
  const version = await upload(temp.id, '1', await tarOf([{ name: 'hello.txt', content: 'temporary\n' }]));
  const versionPath = `${P}/${temp.id}/versions/${version.id}`;

  const queued = await h.request('POST', `${pipelinePath}/executions`, {
    package_version: 'temp:1',
    delay_until: new Date(Date.now() + 3_600_000).toISOString(),
  });
  assert.equal(queued.status, 200);
  assert.equal((await h.request('DELETE', versionPath)).status, 409);
  assert.equal((await h.request('DELETE', `${P}/${temp.id}`)).status, 409);
  assert.equal(
    (await h.request('PATCH', `${pipelinePath}/executions/${queued.body.id}`, { operation: 'CANCEL' }))
      .status,
    200,
  );
  await waitForExecution(h, `${pipelinePath}/executions/${queued.body.id}`);

  const failed = await run(pipelinePath, { package_version: 'temp:1' });
  assert.equal(failed.done.status, 'FAILED');
  assert.deepEqual(await logsOf(h, failed.path, failed.done.action_executions[0].action_execution_id), [
    'temporary',
  ]);
  assert.equal((await h.request('DELETE', versionPath)).status, 204);
  assert.equal((await h.request('PATCH', failed.path, { operation: 'RETRY' })).status, 200);
  const retried = await waitForExecution(
    h,
    failed.path,
    60_000,
    (e) => e.status === 'FAILED' && e.error_message !== failed.done.error_message,
  );
  assert.match(retried.error_message, /version "1" of package "temp" no longer exists/);
  assert.equal(retried.package_version.version, '1', 'the execution still shows what it was pinned to');
});

test('an archive altered in the database is refused where it is unpacked: the run fails before any action', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, { name: 'show', inline_commands: 'cat /buddy/packages/tampered/a.txt' });
  const pkg = (await h.request('POST', P, { name: 'Tampered', identifier: 'tampered' })).body;
  const v = await upload(pkg.id, '1', await tarOf([{ name: 'a.txt', content: 'original\n' }]));
  const db = h.gantry.db;
  const stored = await db
    .selectFrom('package_chunks')
    .select('data')
    .where('content_id', '=', v.id)
    .executeTakeFirstOrThrow();
  const altered = Buffer.from(stored.data);
  altered[512] = altered[512]! ^ 0x20; // the first byte of a.txt's content, after its 512-byte header
  await db.updateTable('package_chunks').set({ data: altered }).where('content_id', '=', v.id).execute();
  // This server's copy goes, as on a server that never had it.
  rmSync(path.join(h.dataDir, 'packages', pkg.id), { recursive: true });

  const { done } = await run(pipelinePath, { package_version: 'tampered:1' });
  assert.equal(done.status, 'FAILED');
  assert.match(
    done.error_message,
    /^unpacking version "1" of package "tampered" failed: the archive arrived as \d+ bytes with sha256 [0-9a-f]{64}, not the \d+ bytes with sha256 [0-9a-f]{64} stored$/,
  );
  assert.equal(done.action_executions[0].status, 'NOT_EXECUTED');
  assert.ok(!existsSync(path.join(h.dataDir, 'packages', pkg.id, v.id)), 'nothing was unpacked');
});
