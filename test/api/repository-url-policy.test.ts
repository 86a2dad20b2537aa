/**
 * custom_repo_url (issue 8, item 2): every spelling of a local path is normalised before it is checked, so
 * no workspace reads another's hosted repository through the data directory; host paths outside
 * allowedRepositoryRoots and internal hosts (loopback, private, link-local) outside allowedRepositoryHosts
 * are refused when saved and again before every fetch, and git never follows a redirect.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { makeRepo, startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';
import { removeDirs } from '../support/runs.ts';

const execAsync = promisify(execFile);

/** An HTTP listener on loopback standing for an internal service; counts what reaches it. */
async function internalService(
  respond: (url: string) => { status: number; location?: string } = () => ({ status: 404 }),
): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const { status, location } = respond(req.url ?? '');
    res.writeHead(status, location ? { location } : {}).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, hits };
}

async function createProject(
  h: Harness,
  workspace: string,
  url: string,
): Promise<{ status: number; body: any }> {
  return h.request('POST', `/api/workspaces/${workspace}/projects`, {
    display_name: `p${Math.random().toString(36).slice(2, 8)}`,
    custom_repo_url: url,
  });
}

describe('custom_repo_url under the default policy', () => {
  let h: Harness;
  const outside = makeRepo([{ message: 'one', files: { 'a.txt': 'a\n' } }]);
  const linkDir = mkdtempSync(path.join(tmpdir(), 'gantry-links-'));

  before(async () => {
    h = await startGantry();
    for (const domain of ['team-a', 'team-b'])
      assert.equal((await h.request('POST', '/api/workspaces', { name: domain, domain })).status, 201);
  });
  after(async () => {
    await h.close();
    removeDirs(outside.dir, linkDir);
  });

  test("no spelling of a path into the data directory reads another workspace's repository", async () => {
    const b = await h.request('POST', '/api/workspaces/team-b/projects', { display_name: 'Secret source' });
    assert.equal(b.status, 201);
    const repos = path.join(h.dataDir, 'repos');
    symlinkSync(repos, path.join(linkDir, 'repos-link'));
    const spellings = [
      `file://localhost${repos}/1.git`,
      `file://LOCALHOST${repos}/1.git`,
      `file:${repos}/1.git`,
      `file:///${repos}/../repos/1.git`,
      `file://${encodeURI(repos).replace(/\//g, '%2F')}/1.git`,
      `${path.dirname(h.dataDir)}/./${path.basename(h.dataDir)}/repos/1.git`,
      `/..${repos}/1.git`,
      `${h.dataDir}/pipelines/../repos/1.git`,
      `${linkDir}/repos-link/1.git`,
    ];
    for (const url of spellings) {
      const res = await createProject(h, 'team-a', url);
      assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.errors[0].message, /data directory|must name a local path/, url);
    }
    assert.equal((await createProject(h, 'team-a', 'file://elsewhere/tmp/x.git')).status, 400);
  });

  test('host paths outside allowedRepositoryRoots are refused; inside they work', async () => {
    for (const url of ['/etc', 'file:///root/.ssh', '~/', '~root/x', `${homedir()}/repo.git`]) {
      const res = await createProject(h, 'team-a', url);
      assert.equal(res.status, 400, url);
    }
    assert.equal((await createProject(h, 'team-a', outside.dir)).status, 201);
  });

  test('loopback, private and link-local hosts are refused in every spelling, and never contacted', async () => {
    const service = await internalService();
    try {
      const urls = [
        `http://127.0.0.1:${service.port}/internal`,
        `http://localhost:${service.port}/internal`,
        `http://LocalHost.:${service.port}/internal`,
        `http://127.1:${service.port}/internal`,
        `http://0x7f.0.0.1:${service.port}/internal`,
        `http://2130706433:${service.port}/internal`,
        `http://[::1]:${service.port}/internal`,
        `http://[::ffff:127.0.0.1]:${service.port}/internal`,
        `https://api.localhost/x.git`,
        `git://127.0.0.1:${service.port}/x`,
        `ssh://git@169.254.169.254/x.git`,
        `git@10.1.2.3:team/x.git`,
        `git@[fd00::1]:team/x.git`,
        `http://192.168.1.10/x.git`,
        `http://172.16.0.1/x.git`,
        `http://0.0.0.0:${service.port}/x.git`,
      ];
      for (const url of urls) {
        const res = await createProject(h, 'team-a', url);
        assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.errors[0].message, /allowedRepositoryHosts/, url);
      }
      assert.deepEqual(service.hits, [], 'the internal service was never asked');
    } finally {
      service.server.close();
    }
  });
});

describe('custom_repo_url with hosts opened by the administrator', () => {
  test('an allowed host works; a redirect is not followed; closing the host stops the next fetch', async () => {
    const target = await internalService();
    const redirector = await internalService(() => ({
      status: 302,
      location: `http://127.0.0.1:${target.port}/internal/info/refs?service=git-upload-pack`,
    }));
    const source = await startGantry({ listen: true, config: { allowedRepositoryHosts: ['localhost'] } });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-policy-'));
    let h = await startGantry({ dataDir, config: { allowedRepositoryHosts: ['localhost', '127.0.0.0/8'] } });
    try {
      // A repository served by another Gantry on loopback, reachable only because 127.0.0.0/8 is allowed.
      const hosted = await source.request('POST', '/api/workspaces', { name: 'src', domain: 'src' });
      assert.equal(hosted.status, 201);
      const sp = await source.request('POST', '/api/workspaces/src/projects', { display_name: 'Code' });
      const url = sp.body.http_repository as string;
      const repo = makeRepo([{ message: 'one', files: { 'a.txt': 'a\n' } }]);
      // Asynchronously: the server answering the push runs in this process.
      await execAsync('git', [
        '-C',
        repo.dir,
        'push',
        '-q',
        url.replace('http://', `http://x:${source.token}@`),
        'HEAD:master',
      ]);
      removeDirs(repo.dir);
      await h.request('POST', '/api/workspaces', { name: 'ws', domain: 'ws' });
      const project = await h.request('POST', '/api/workspaces/ws/projects', {
        display_name: 'mirror',
        name: 'mirror',
        custom_repo_url: url,
        custom_repo_user: 'x',
        custom_repo_pass: source.token,
      });
      assert.equal(project.status, 201, JSON.stringify(project.body));
      const pipeline = await h.request('POST', '/api/workspaces/ws/projects/mirror/pipelines', { name: 'P' });
      const pipelinePath = `/api/workspaces/ws/projects/mirror/pipelines/${pipeline.body.id}`;
      await h.request('POST', `${pipelinePath}/actions`, {
        name: 'noop',
        type: 'RUN_DOCKER_CONTAINER',
        ...TEST_IMAGE,
        inline_commands: 'true',
      });
      const later = new Date(Date.now() + 86_400_000).toISOString();
      const run = await h.request('POST', `${pipelinePath}/executions`, { delay_until: later });
      assert.equal(run.status, 200, JSON.stringify(run.body));

      // "localhost" is allowed by name: its redirect to another loopback address is not followed.
      const redirected = await createProject(h, 'ws', `http://localhost:${redirector.port}/x.git`);
      assert.equal(redirected.status, 201);
      const redirectedPath = `/api/workspaces/ws/projects/${redirected.body.name}`;
      const rp = await h.request('POST', `${redirectedPath}/pipelines`, { name: 'P' });
      await h.request('POST', `${redirectedPath}/pipelines/${rp.body.id}/actions`, {
        name: 'noop',
        type: 'RUN_DOCKER_CONTAINER',
        ...TEST_IMAGE,
        inline_commands: 'true',
      });
      const r = await h.request('POST', `${redirectedPath}/pipelines/${rp.body.id}/executions`, {});
      assert.notEqual(r.status, 200, JSON.stringify(r.body));
      assert.ok(redirector.hits.length > 0, 'the allowed host was asked');
      assert.deepEqual(target.hits, [], 'the redirect target was never asked');

      // The same data directory without the setting: the stored URL is checked again before fetching.
      await h.close();
      h = await startGantry({ dataDir });
      const again = await h.request('POST', `${pipelinePath}/executions`, { delay_until: later });
      assert.equal(again.status, 400, JSON.stringify(again.body));
      assert.match(again.body.errors[0].message, /allowedRepositoryHosts/);
    } finally {
      await h.close();
      await source.close();
      target.server.close();
      redirector.server.close();
      removeDirs(dataDir);
    }
  });
});
