import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { makeRepo, startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';

// Async on purpose: the server under test runs in this process, a synchronous git would deadlock it.
const run = promisify(execFile);
const scratch = mkdtempSync(path.join(tmpdir(), 'gantry-hosted-git-'));

/** git as a user's client: no prompts, no credential helpers, no user or system config. */
async function git(cwd: string, ...args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: scratch,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Mike',
    GIT_AUTHOR_EMAIL: 'mike@company.com',
    GIT_COMMITTER_NAME: 'Mike',
    GIT_COMMITTER_EMAIL: 'mike@company.com',
  };
  try {
    const { stdout, stderr } = await run('git', ['-c', 'credential.helper=', ...args], { cwd, env });
    return { ok: true, stdout: stdout.trim(), stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: (e.stdout ?? '').trim(), stderr: e.stderr ?? '' };
  }
}

/** `http://127.0.0.1:port/git/...` with `user:password@` inserted. */
function withCredentials(url: string, password: string | null): string {
  if (password === null) return url;
  const u = new URL(url);
  u.username = 'x';
  u.password = password;
  return u.toString();
}

let h: Harness;
let repoUrl: string;
let readToken: string;
let otherWorkspaceToken: string;
const local = makeRepo([{ message: 'first', files: { 'index.html': '<h1>v1</h1>\n' } }]);

async function remoteHead(token: string): Promise<string> {
  const res = await git(scratch, 'ls-remote', withCredentials(repoUrl, token), 'refs/heads/master');
  assert.ok(res.ok, res.stderr);
  return res.stdout.split(/\s/)[0] ?? '';
}

async function newToken(body: Record<string, unknown>): Promise<string> {
  const res = await h.request('POST', '/api/user/tokens', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.token;
}

before(async () => {
  h = await startGantry({ listen: true });
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'Other', domain: 'other' })).status, 201);
  const project = await h.request('POST', '/api/workspaces/ws/projects', {
    display_name: 'Site',
    name: 'site',
  });
  assert.equal(project.status, 201);
  repoUrl = project.body.http_repository;
  readToken = await newToken({ name: 'reader', scopes: ['REPOSITORY_READ'] });
  otherWorkspaceToken = await newToken({
    name: 'other ws',
    scopes: ['REPOSITORY_READ', 'REPOSITORY_WRITE'],
    workspace_restrictions: ['other'],
  });
});

after(async () => {
  await h.close();
  rmSync(scratch, { recursive: true, force: true });
  rmSync(local.dir, { recursive: true, force: true });
});

describe('hosted project repositories over HTTP', () => {
  test('a project without custom_repo_url gets a repository under the base URL', () => {
    assert.equal(repoUrl, `${h.baseUrl}/git/ws/site.git`);
  });

  test('push without a token, with a wrong token or with a token of another workspace is refused', async () => {
    for (const [label, password] of [
      ['no token', null],
      ['wrong token', 'gty_wrong'],
      ['token of another workspace', otherWorkspaceToken],
      ['read-only token', readToken],
    ] as const) {
      const res = await git(local.dir, 'push', withCredentials(repoUrl, password), 'master');
      assert.equal(res.ok, false, `${label}: push succeeded`);
    }
    // Nothing arrived: the hosted repository is still empty.
    const refs = await git(scratch, 'ls-remote', withCredentials(repoUrl, h.token));
    assert.ok(refs.ok, refs.stderr);
    assert.equal(refs.stdout, '');
  });

  test('push with a token as the password works, and the server runs what was pushed', async () => {
    const res = await git(local.dir, 'push', withCredentials(repoUrl, h.token), 'master');
    assert.ok(res.ok, res.stderr);
    assert.equal(await remoteHead(h.token), local.shas[0]);

    // Gantry itself sees the commit: a run of the project resolves HEAD to it.
    const pipeline = await h.request('POST', '/api/workspaces/ws/projects/site/pipelines', {
      name: 'Deploy',
      refs: ['refs/heads/master'],
    });
    const pipelinePath = `/api/workspaces/ws/projects/site/pipelines/${pipeline.body.id}`;
    assert.equal(
      (
        await h.request('POST', `${pipelinePath}/actions`, {
          name: 'noop',
          type: 'RUN_DOCKER_CONTAINER',
          ...TEST_IMAGE,
          inline_commands: 'true',
        })
      ).status,
      201,
    );
    // Delayed so that this API test does not start a container.
    const execution = await h.request('POST', `${pipelinePath}/executions`, {
      delay_until: new Date(Date.now() + 86_400_000).toISOString(),
    });
    assert.equal(execution.status, 200, JSON.stringify(execution.body));
    assert.equal(execution.body.to_revision.revision, local.shas[0]);
    assert.equal(execution.body.branch.name, 'master');
  });

  test('a REPOSITORY_READ token can clone but not push', async () => {
    const clone = path.join(scratch, 'clone');
    const cloned = await git(scratch, 'clone', '-q', withCredentials(repoUrl, readToken), clone);
    assert.ok(cloned.ok, cloned.stderr);
    assert.equal(readFileSync(path.join(clone, 'index.html'), 'utf8'), '<h1>v1</h1>\n');

    await git(clone, 'commit', '-q', '--allow-empty', '-m', 'second');
    const pushed = await git(clone, 'push', withCredentials(repoUrl, readToken), 'HEAD:master');
    assert.equal(pushed.ok, false, 'a read-only token pushed');
    assert.equal(await remoteHead(h.token), local.shas[0]);

    const noToken = await git(scratch, 'clone', '-q', repoUrl, path.join(scratch, 'anonymous'));
    assert.equal(noToken.ok, false, 'cloned without a token');
    const otherWs = await git(
      scratch,
      'clone',
      '-q',
      withCredentials(repoUrl, otherWorkspaceToken),
      path.join(scratch, 'other'),
    );
    assert.equal(otherWs.ok, false, 'cloned with a token of another workspace');
  });
});

describe('custom_repo_url pointing at a local repository', () => {
  test("a path into Gantry's data directory (another project's repository) is refused", async () => {
    for (const url of [`${h.dataDir}/repos/1.git`, `file://${h.dataDir}/repos/1.git`, h.dataDir]) {
      const res = await h.request('POST', '/api/workspaces/ws/projects', {
        display_name: 'Sneaky',
        custom_repo_url: url,
      });
      assert.equal(res.status, 400, url);
      assert.match(res.body.errors[0].message, /data directory/);
    }
  });

  for (const [label, url] of [
    ['absolute path', () => local.dir],
    ['file:// URL', () => pathToFileURL(local.dir).toString()],
  ] as const) {
    test(`${label} is accepted and read`, async () => {
      const name = label === 'absolute path' ? 'by-path' : 'by-file-url';
      const project = await h.request('POST', '/api/workspaces/ws/projects', {
        display_name: name,
        name,
        custom_repo_url: url(),
      });
      assert.equal(project.status, 201, JSON.stringify(project.body));
      assert.equal(project.body.custom_repo_url, url());
      assert.equal(project.body.http_repository, url(), 'the custom repository is the clone address');

      const base = `/api/workspaces/ws/projects/${name}`;
      const pipeline = await h.request('POST', `${base}/pipelines`, { name: 'P' });
      await h.request('POST', `${base}/pipelines/${pipeline.body.id}/actions`, {
        name: 'noop',
        type: 'RUN_DOCKER_CONTAINER',
        ...TEST_IMAGE,
        inline_commands: 'true',
      });
      const execution = await h.request('POST', `${base}/pipelines/${pipeline.body.id}/executions`, {
        delay_until: new Date(Date.now() + 86_400_000).toISOString(),
      });
      assert.equal(execution.status, 200, JSON.stringify(execution.body));
      assert.equal(execution.body.to_revision.revision, local.shas[0]);
      // A project with its own source has no hosted repository to push to.
      const push = await git(
        local.dir,
        'push',
        withCredentials(`${h.baseUrl}/git/ws/${name}.git`, h.token),
        'master',
      );
      assert.equal(push.ok, false);
    });
  }
});
