import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeRepo, startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';

/*
 * Accepting a run answers from cached refs and commit metadata. These tests pin down that the cache
 * never hides a change: a run requested right after a push (or, for an outside repository, right
 * after a commit there) runs what was pushed, for HEAD, branches and tags, also when a branch moves
 * back or disappears.
 */

// Async on purpose: the server under test runs in this process, a synchronous git would deadlock it.
const run = promisify(execFile);
const scratch = mkdtempSync(path.join(tmpdir(), 'gantry-accept-refs-'));
const GIT_ENV = {
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

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'credential.helper=', ...args], { cwd, env: GIT_ENV });
  return stdout.trim();
}

async function commit(dir: string, message: string): Promise<string> {
  await git(dir, 'commit', '-q', '--allow-empty', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

let h: Harness;
let pushUrl: string;
let hostedPipeline: string;
let outsidePipeline: string;
const local = makeRepo([{ message: 'first', files: { 'index.html': '<h1>v1</h1>\n' } }]);
const outside = makeRepo([{ message: 'outside first', files: { 'a.txt': 'a\n' } }]);

async function pipelineOf(project: string): Promise<string> {
  const p = await h.request('POST', `/api/workspaces/ws/projects/${project}/pipelines`, { name: 'Deploy' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const pipelinePath = `/api/workspaces/ws/projects/${project}/pipelines/${p.body.id}`;
  const a = await h.request('POST', `${pipelinePath}/actions`, {
    name: 'noop',
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: 'true',
  });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  return pipelinePath;
}

/** Accepts a run (delayed, so no container starts) and returns the answer. */
function accept(pipelinePath: string, body: Record<string, unknown> = {}) {
  return h.request('POST', `${pipelinePath}/executions`, {
    delay_until: new Date(Date.now() + 86_400_000).toISOString(),
    ...body,
  });
}

async function acceptedRevision(pipelinePath: string, body: Record<string, unknown> = {}) {
  const res = await accept(pipelinePath, body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.to_revision.revision as string;
}

before(async () => {
  h = await startGantry({ listen: true });
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const hosted = await h.request('POST', '/api/workspaces/ws/projects', {
    display_name: 'Site',
    name: 'site',
  });
  assert.equal(hosted.status, 201);
  const u = new URL(hosted.body.http_repository as string);
  u.username = 'x';
  u.password = h.token;
  pushUrl = u.toString();
  const ext = await h.request('POST', '/api/workspaces/ws/projects', {
    display_name: 'Outside',
    name: 'outside',
    custom_repo_url: outside.dir,
  });
  assert.equal(ext.status, 201, JSON.stringify(ext.body));
  await git(local.dir, 'push', '-q', pushUrl, 'master');
  hostedPipeline = await pipelineOf('site');
  outsidePipeline = await pipelineOf('outside');
});

after(async () => {
  await h.close();
  for (const dir of [scratch, local.dir, outside.dir]) rmSync(dir, { recursive: true, force: true });
});

describe('accepting a run after a push', () => {
  test('HEAD and the branch are the pushed commit right after each push', async () => {
    assert.equal(await acceptedRevision(hostedPipeline), local.shas[0]);
    for (let i = 0; i < 3; i += 1) {
      const sha = await commit(local.dir, `change ${i}`);
      await git(local.dir, 'push', '-q', pushUrl, 'master');
      assert.equal(await acceptedRevision(hostedPipeline), sha, `HEAD after push ${i}`);
      assert.equal(
        await acceptedRevision(hostedPipeline, { branch: { name: 'master' } }),
        sha,
        `branch after push ${i}`,
      );
    }
  });

  test('commit metadata is that of the pushed commit', async () => {
    const sha = await commit(local.dir, 'with a message\n\nand a body');
    await git(local.dir, 'push', '-q', pushUrl, 'master');
    const res = await accept(hostedPipeline);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.to_revision.revision, sha);
    assert.equal(res.body.to_revision.message, 'with a message\n\nand a body');
    assert.equal(res.body.to_revision.author.email, 'mike@company.com');
  });

  test('a new branch, a force-push back and a deleted branch are seen at once', async () => {
    const before = await git(local.dir, 'rev-parse', 'HEAD');
    await git(local.dir, 'checkout', '-q', '-b', 'feature');
    const feature = await commit(local.dir, 'feature work');
    await git(local.dir, 'push', '-q', pushUrl, 'feature');
    assert.equal(await acceptedRevision(hostedPipeline, { branch: { name: 'feature' } }), feature);

    // Moving the branch back to an older commit: no newer revision may linger.
    await git(local.dir, 'push', '-q', '--force', pushUrl, `${before}:refs/heads/feature`);
    assert.equal(await acceptedRevision(hostedPipeline, { branch: { name: 'feature' } }), before);

    await git(local.dir, 'push', '-q', pushUrl, ':feature');
    const gone = await accept(hostedPipeline, { branch: { name: 'feature' } });
    assert.equal(gone.status, 404, JSON.stringify(gone.body));
    assert.match(gone.body.errors[0].message, /branch "feature" not found/);
    await git(local.dir, 'checkout', '-q', 'master');
  });

  test('annotated and lightweight tags pushed are runnable at once', async () => {
    const sha = await commit(local.dir, 'release');
    await git(local.dir, 'tag', '-a', 'v1.0', '-m', 'version 1.0');
    await git(local.dir, 'tag', 'light');
    await git(local.dir, 'push', '-q', pushUrl, 'master', 'v1.0', 'light');
    for (const tag of ['v1.0', 'light']) {
      const res = await accept(hostedPipeline, { tag: { name: tag } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.to_revision.revision, sha, tag);
    }
  });

  test('full, abbreviated and unknown SHAs resolve as git does', async () => {
    const old = local.shas[0]!;
    assert.equal(await acceptedRevision(hostedPipeline, { to_revision: { revision: old } }), old);
    assert.equal(
      await acceptedRevision(hostedPipeline, { to_revision: { revision: old.slice(0, 8).toUpperCase() } }),
      old,
    );
    const missing = await accept(hostedPipeline, { to_revision: { revision: 'f'.repeat(40) } });
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
  });

  test('an outside repository is asked on every run: a new commit there runs at once', async () => {
    assert.equal(await acceptedRevision(outsidePipeline), outside.shas[0]);
    const sha = await commit(outside.dir, 'outside second');
    assert.equal(await acceptedRevision(outsidePipeline), sha);
    await git(outside.dir, 'reset', '-q', '--hard', outside.shas[0]!);
    assert.equal(await acceptedRevision(outsidePipeline), outside.shas[0]);
  });

  test('changing the project to another repository forgets the old refs', async () => {
    const other = makeRepo([{ message: 'elsewhere', files: { 'b.txt': 'b\n' } }]);
    try {
      // The repository of a project with queued runs cannot change: cancel them first.
      const list = await h.request('GET', `${outsidePipeline}/executions?per_page=100`);
      for (const e of list.body.executions as { id: number; status: string }[]) {
        if (e.status !== 'ENQUEUED') continue;
        const cancel = await h.request('PATCH', `${outsidePipeline}/executions/${e.id}`, {
          operation: 'CANCEL',
        });
        assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      }
      const patched = await h.request('PATCH', '/api/workspaces/ws/projects/outside', {
        custom_repo_url: other.dir,
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(await acceptedRevision(outsidePipeline), other.shas[0]);
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });
});
