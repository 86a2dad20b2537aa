import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';
import pino from 'pino';
import { tarGzOf, tarOf, type TarEntry } from '../support/archives.ts';
import { PackageStore } from '../../src/packages/package-store.ts';

let h: Harness;
let projectName: string;
const P = '/api/workspaces/ws/packages';

before(async () => {
  h = await startGantry();
  const repo = makeRepo([{ message: 'init', files: { a: '1' } }]).dir;
  projectName = (await setupPipeline(h, repo)).projectPath.split('/').pop()!;
});
after(() => h.close());

async function upload(
  packageId: string,
  version: string | null,
  body: Buffer | string,
  contentType = 'application/x-tar',
): Promise<{ status: number; body: any }> {
  const query = version === null ? '' : `?version=${encodeURIComponent(version)}`;
  const res = await h.gantry.app.inject({
    method: 'POST',
    url: `${P}/${packageId}/versions${query}`,
    headers: { authorization: `Bearer ${h.token}`, 'content-type': contentType },
    payload: body,
  });
  return { status: res.statusCode, body: res.body === '' ? null : JSON.parse(res.body) };
}

async function newPackage(identifier: string): Promise<any> {
  const res = await h.request('POST', P, { name: `Package ${identifier}`, identifier });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

const packagesDir = (): string => path.join(h.dataDir, 'packages');

/** How many chunks of a version's archive the database holds. */
async function storedChunks(versionId: string): Promise<number> {
  const rows = await h.gantry.db
    .selectFrom('package_chunks')
    .select('seq')
    .where('content_id', '=', versionId)
    .execute();
  return rows.length;
}

async function download(packageId: string, versionId: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await h.gantry.app.inject({
    method: 'GET',
    url: `${P}/${packageId}/versions/${versionId}/download`,
    headers: { authorization: `Bearer ${h.token}` },
  });
  return { status: res.statusCode, bytes: res.rawPayload };
}

test('packages: create, list, get, patch, delete', async () => {
  const created = await h.request('POST', P, { name: 'My App', type: 'FILE' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const p = created.body;
  assert.match(p.id, /^[A-Za-z0-9]{8}$/);
  assert.equal(p.identifier, 'my-app', 'the identifier defaults to the name, slugified');
  assert.equal(p.type, 'FILE');
  assert.equal(p.scope, 'WORKSPACE');
  assert.equal(p.project, null);
  assert.equal(p.size, 0);
  assert.equal(p.url, `${h.baseUrl}/api/workspaces/ws/packages/${p.id}`);
  for (const field of [
    'url',
    'html_url',
    'id',
    'type',
    'name',
    'identifier',
    'scope',
    'project',
    'size',
    'create_date',
  ])
    assert.ok(field in p, `missing ${field}`);
  assert.equal(
    (await h.request('POST', P, { name: 'My App' })).status,
    409,
    'identifiers are unique in their scope',
  );

  const scoped = await h.request('POST', P, {
    name: 'Project pkg',
    identifier: 'my-app',
    project: { name: projectName },
  });
  assert.equal(scoped.status, 201, 'a project package may reuse a workspace identifier');
  assert.equal(scoped.body.scope, 'PROJECT');
  assert.equal(scoped.body.project.name, projectName);
  const all = (await h.request('GET', P)).body;
  assert.equal(all.url, `${h.baseUrl}/api/workspaces/ws/packages`);
  assert.deepEqual(all.packages.map((x: any) => x.id).sort(), [p.id, scoped.body.id].sort());
  assert.equal((await h.request('GET', `${P}?project_name=nope`)).status, 404);

  const patched = await h.request('PATCH', `${P}/${p.id}`, { ...p, name: 'Renamed', identifier: 'renamed' });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.name, 'Renamed');
  assert.equal(patched.body.identifier, 'renamed');
  assert.equal(
    (await h.request('PATCH', `${P}/${p.id}`, { project: { name: projectName } })).status,
    400,
    'a package cannot move',
  );
  assert.equal((await h.request('PATCH', `${P}/${p.id}`, { type: 'CONTAINER' })).status, 400);
  assert.equal((await h.request('GET', `${P}/${p.id}`)).body.name, 'Renamed');

  assert.equal((await upload(p.id, '1.0.0', await tarOf([{ name: 'a.txt', content: 'a' }]))).status, 201);
  assert.ok(existsSync(path.join(packagesDir(), p.id)));
  assert.equal((await h.request('DELETE', `${P}/${p.id}`)).status, 204);
  assert.equal((await h.request('GET', `${P}/${p.id}`)).status, 404);
  assert.ok(!existsSync(path.join(packagesDir(), p.id)), 'the files go with the package');
  assert.equal((await h.request('DELETE', `${P}/${scoped.body.id}`)).status, 204);
});

test('packages: CONTAINER is not supported yet; bad input is a 4xx in Buddy shape and stores nothing', async () => {
  const container = await h.request('POST', P, { name: 'Images', type: 'CONTAINER' });
  assert.equal(container.status, 400);
  assert.match(container.body.errors[0].message, /not supported yet/);
  const bad: unknown[] = [
    {},
    { name: '' },
    { name: 'x', type: 'NOPE' },
    { name: 'x', identifier: 'has space' },
    { name: 'x', identifier: '../up' },
    { name: 'x', scope: 'PROJECT' },
    { name: 'x', scope: 'WORKSPACE', project: { name: projectName } },
    { name: 'x', project: { name: 'nope' } },
    { name: 'x', unknown: 1 },
  ];
  for (const body of bad) {
    const res = await h.request('POST', P, body);
    assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
    assert.equal(typeof res.body.errors[0].message, 'string');
  }
  assert.deepEqual((await h.request('GET', P)).body.packages, []);
});

test('package versions: upload .tar and .tar.gz, list, get, download, delete', async () => {
  const p = await newPackage('site');
  const tar = await tarOf([
    { name: 'hello.txt', content: 'hello v1\n' },
    { name: 'docs/', type: 'directory' },
    { name: 'docs/readme.md', content: '# readme' },
    { name: 'latest.txt', type: 'symlink', linkname: 'hello.txt' },
    { name: 'docs/up.txt', type: 'symlink', linkname: '../hello.txt' },
    { name: 'copy.txt', type: 'link', linkname: 'hello.txt' },
  ]);
  const v1 = await upload(p.id, '1.0.0', tar);
  assert.equal(v1.status, 201, JSON.stringify(v1.body));
  assert.match(v1.body.id, /^[A-Za-z0-9]{8}$/);
  assert.equal(v1.body.version, '1.0.0');
  assert.equal(v1.body.size, 'hello v1\n'.length + '# readme'.length, 'size counts the bytes of the files');
  const versionPath = `${P}/${p.id}/versions/${v1.body.id}`;
  assert.equal(v1.body.url, `${h.baseUrl}${versionPath}`);
  assert.equal(v1.body.version_url, `${h.baseUrl}${versionPath}/download`);
  for (const field of ['url', 'html_url', 'version_url', 'id', 'version', 'size', 'created_date'])
    assert.ok(field in v1.body, `missing ${field}`);

  const dir = path.join(packagesDir(), p.id, v1.body.id);
  assert.equal(readFileSync(path.join(dir, 'hello.txt'), 'utf8'), 'hello v1\n');
  assert.equal(readFileSync(path.join(dir, 'docs/readme.md'), 'utf8'), '# readme');
  assert.equal(readlinkSync(path.join(dir, 'latest.txt')), 'hello.txt');
  assert.equal(readFileSync(path.join(dir, 'copy.txt'), 'utf8'), 'hello v1\n');

  const gz = await tarGzOf([{ name: './hello.txt', content: 'hello v2\n' }]);
  const v2 = await upload(p.id, '2.0.0-rc.1', gz, 'application/octet-stream');
  assert.equal(v2.status, 201, JSON.stringify(v2.body));
  assert.equal(readFileSync(path.join(packagesDir(), p.id, v2.body.id, 'hello.txt'), 'utf8'), 'hello v2\n');
  assert.equal((await upload(p.id, '1.0.0', tar)).status, 409, 'a version is uploaded once');

  const list = await h.request('GET', `${P}/${p.id}/versions`);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.versions.map((v: any) => v.version).sort(), ['1.0.0', '2.0.0-rc.1']);
  assert.equal((await h.request('GET', versionPath)).body.version, '1.0.0');
  assert.equal(
    (await h.request('GET', `${P}/${p.id}`)).body.size,
    v1.body.size + v2.body.size,
    'a package weighs what its versions do',
  );

  for (const [version, bytes, type] of [
    [v1.body, tar, 'application/x-tar'],
    [v2.body, gz, 'application/gzip'],
  ] as const) {
    const res = await h.gantry.app.inject({
      method: 'GET',
      url: `${P}/${p.id}/versions/${version.id}/download`,
      headers: { authorization: `Bearer ${h.token}` },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], type);
    assert.match(
      String(res.headers['content-disposition']),
      new RegExp(`filename="site-${version.version}\\.tar`),
    );
    assert.ok(res.rawPayload.equals(bytes), 'the archive comes back as uploaded');
  }

  assert.equal((await h.request('DELETE', versionPath)).status, 204);
  assert.equal((await h.request('GET', versionPath)).status, 404);
  assert.equal((await h.request('GET', `${versionPath}/download`)).status, 404);
  assert.ok(!existsSync(dir), 'the files go with the version');
  assert.equal(await storedChunks(v1.body.id), 0, 'the stored archive goes with the version');
  assert.deepEqual(
    (await h.request('GET', `${P}/${p.id}/versions`)).body.versions.map((v: any) => v.version),
    ['2.0.0-rc.1'],
  );
});

test('package versions: unsafe or broken archives are refused and leave nothing behind', async () => {
  const p = await newPackage('unsafe');
  const cases: [string, TarEntry[], RegExp][] = [
    ['absolute path', [{ name: '/etc/evil', content: 'x' }], /absolute path/],
    ['parent directory', [{ name: '../escaped.txt', content: 'x' }], /contains "\.\."/],
    ['parent directory inside', [{ name: 'a/../../escaped.txt', content: 'x' }], /contains "\.\."/],
    ['symlink outside', [{ name: 'out', type: 'symlink', linkname: '../../..' }], /points outside/],
    ['absolute symlink', [{ name: 'etc', type: 'symlink', linkname: '/etc' }], /points outside/],
    [
      'symlink climbing through a name',
      [
        { name: 'loop', type: 'symlink', linkname: '.' },
        { name: 'x', type: 'symlink', linkname: 'loop/..' },
      ],
      /points outside/,
    ],
    [
      'write through a symlink',
      [
        { name: 'd', type: 'symlink', linkname: '.' },
        { name: 'd/x.txt', content: 'x' },
      ],
      /inside the symbolic link/,
    ],
    ['hard link outside', [{ name: 'h', type: 'link', linkname: '../secret.key' }], /points outside/],
    ['hard link to nothing', [{ name: 'h', type: 'link', linkname: 'missing' }], /does not name a file/],
    ['character device', [{ name: 'null', type: 'character-device' }], /character-device/],
    ['block device', [{ name: 'sda', type: 'block-device' }], /block-device/],
    ['fifo', [{ name: 'pipe', type: 'fifo' }], /fifo/],
    ['no entries', [], /no entries/],
  ];
  for (const [what, entries, reason] of cases) {
    const res = await upload(p.id, '1.0.0', await tarOf(entries));
    assert.equal(res.status, 400, `${what} → ${res.status} ${JSON.stringify(res.body)}`);
    assert.match(res.body.errors[0].message, reason, what);
  }
  const garbage = await upload(
    p.id,
    '1.0.0',
    Buffer.from('this is not a tar archive at all, just some text '.repeat(20)),
  );
  assert.equal(garbage.status, 400);
  assert.match(garbage.body.errors[0].message, /not a valid archive/);
  const badGzip = await upload(
    p.id,
    '1.0.0',
    Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(100, 7)]),
    'application/gzip',
  );
  assert.equal(badGzip.status, 400);
  const truncated = (await tarOf([{ name: 'big.txt', content: 'x'.repeat(5000) }])).subarray(0, 2048);
  assert.equal((await upload(p.id, '1.0.0', truncated)).status, 400);
  assert.equal((await upload(p.id, '1.0.0', Buffer.alloc(0))).status, 400, 'an empty body');
  assert.equal((await upload(p.id, '1.0.0', '{"a":1}', 'application/json')).status, 415);
  assert.equal(
    (await upload(p.id, null, await tarOf([{ name: 'a', content: 'a' }]))).status,
    400,
    'version is required',
  );
  assert.equal(
    (await upload(p.id, 'a:b', await tarOf([{ name: 'a', content: 'a' }]))).status,
    400,
    'no ":" in a version',
  );
  assert.equal((await upload('nope0000', '1.0.0', await tarOf([{ name: 'a', content: 'a' }]))).status, 404);

  assert.deepEqual((await h.request('GET', `${P}/${p.id}/versions`)).body.versions, []);
  assert.ok(!existsSync(path.join(packagesDir(), p.id)), 'no version directory was created');
  assert.deepEqual(readdirSync(path.join(packagesDir(), '.incoming')), [], 'staged uploads are cleaned up');
  assert.ok(
    !existsSync(path.join(packagesDir(), 'escaped.txt')) && !existsSync(path.join(h.dataDir, 'escaped.txt')),
  );
  assert.equal(
    (await upload(p.id, '1.0.0', await tarOf([{ name: 'ok.txt', content: 'ok' }]))).status,
    201,
    'the same version is accepted once it is safe',
  );
});

test('packages: reading needs EXECUTION_INFO, changing EXECUTION_MANAGE', async () => {
  const p = await newPackage('scoped');
  const token = (await h.request('POST', '/api/user/tokens', { name: 'reader', scopes: ['EXECUTION_INFO'] }))
    .body.token;
  assert.equal((await h.request('GET', `${P}/${p.id}`, undefined, { token })).status, 200);
  assert.equal((await h.request('GET', `${P}/${p.id}/versions`, undefined, { token })).status, 200);
  assert.equal((await h.request('POST', P, { name: 'x' }, { token })).status, 403);
  assert.equal((await h.request('DELETE', `${P}/${p.id}`, undefined, { token })).status, 403);
  const res = await h.gantry.app.inject({
    method: 'POST',
    url: `${P}/${p.id}/versions?version=1`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' },
    payload: await tarOf([{ name: 'a', content: 'a' }]),
  });
  assert.equal(res.statusCode, 403);
});

test('package versions: the archive is stored in the database in chunks and served from there', async () => {
  const p = await newPackage('big');
  // Incompressible content over two chunks (1 MiB each) and a bit.
  const tar = await tarOf([{ name: 'blob.bin', content: randomBytes(1_300_000).toString('base64') }]);
  const v = await upload(p.id, '1', tar);
  assert.equal(v.status, 201, JSON.stringify(v.body));
  assert.equal(await storedChunks(v.body.id), Math.ceil(tar.length / (1024 * 1024)));
  const content = await h.gantry.db
    .selectFrom('package_contents')
    .selectAll()
    .where('id', '=', v.body.id)
    .executeTakeFirstOrThrow();
  assert.equal(Number(content.size), tar.length);
  assert.equal(content.sha256, createHash('sha256').update(tar).digest('hex'));
  assert.equal(content.complete, 1);
  // Served from the database even when this server's copy of the files is gone.
  rmSync(path.join(packagesDir(), p.id), { recursive: true });
  const got = await download(p.id, v.body.id);
  assert.equal(got.status, 200);
  assert.ok(got.bytes.equals(tar), 'the archive comes back byte for byte');
  assert.equal((await h.request('DELETE', `${P}/${p.id}`)).status, 204);
  assert.equal(await storedChunks(v.body.id), 0, 'the stored archive goes with the package');
});

test('package versions: an archive an older Gantry kept in the data directory is imported into the database', async () => {
  const p = await newPackage('legacy');
  const first = await tarOf([{ name: 'old.txt', content: 'old one\n' }]);
  const second = await tarGzOf([{ name: 'old.txt', content: 'old two\n' }]);
  const v1 = (await upload(p.id, '1', first)).body;
  const v2 = (await upload(p.id, '2', second)).body;
  // What an older Gantry left: the archive beside the extracted files, nothing in the database.
  await h.gantry.db.deleteFrom('package_contents').where('id', 'in', [v1.id, v2.id]).execute();
  const oldFile = (id: string, format: string) => path.join(packagesDir(), p.id, `${id}.${format}`);
  writeFileSync(oldFile(v1.id, 'tar'), first);
  writeFileSync(oldFile(v2.id, 'tar.gz'), second);
  // A copy of a version deleted through another server.
  mkdirSync(path.join(packagesDir(), p.id, 'gone1234'));

  // Asked for: imported at once.
  const got = await download(p.id, v1.id);
  assert.equal(got.status, 200);
  assert.ok(got.bytes.equals(first));
  assert.ok(!existsSync(oldFile(v1.id, 'tar')), 'the database holds it now');
  assert.equal(await storedChunks(v1.id), 1);

  // At start, a server imports the rest and removes copies of versions that are gone.
  await new PackageStore(h.gantry.db, h.dataDir).maintain(pino({ level: 'silent' }));
  assert.equal(await storedChunks(v2.id), 1);
  assert.ok(!existsSync(oldFile(v2.id, 'tar.gz')));
  assert.ok(!existsSync(path.join(packagesDir(), p.id, 'gone1234')));
  assert.ok(existsSync(path.join(packagesDir(), p.id, v2.id, 'old.txt')), 'live versions stay');
  assert.ok((await download(p.id, v2.id)).bytes.equals(second));

  // One whose archive is nowhere: a clear 404, not a 500.
  await h.gantry.db.deleteFrom('package_contents').where('id', '=', v2.id).execute();
  const missing = await h.request('GET', `${P}/${p.id}/versions/${v2.id}/download`);
  assert.equal(missing.status, 404);
  assert.match(
    missing.body.errors[0].message,
    /archive of version "2" of package "legacy" is not in the database/,
  );
  assert.equal((await h.request('DELETE', `${P}/${p.id}`)).status, 204);
});
