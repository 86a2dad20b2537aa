/**
 * Paths that would leave the pipeline filesystem are refused: `../` in volume_mappings and
 * export_container_path at save time (400), and symbolic links (from the repository or made by an
 * earlier action) at run time, before anything of the host is mounted or written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  TEST_IMAGE,
  type Harness,
} from '../support/harness.ts';
import {
  actionNamed,
  containersWith,
  executionCount,
  instanceLabel,
  removeDirs,
  runToEnd,
} from '../support/runs.ts';

let h: Harness;
/** A host directory outside every pipeline filesystem, reached through a link in the repository. */
const hostDir = mkdtempSync(path.join(os.tmpdir(), 'gantry-host-'));
writeFileSync(path.join(hostDir, 'host-secret.txt'), 'host secret\n');
const repo = makeRepo([
  {
    message: 'links',
    files: { 'inside/ok.txt': 'inside\n' },
    symlinks: { 'etc-link': '/etc', 'host-link': hostDir, 'inner-link': 'inside' },
  },
]);

before(async () => {
  h = await startGantry();
});

after(async () => {
  await h.close();
  removeDirs(repo.dir, hostDir);
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
});

test('volume_mappings and export_container_path with ../ are refused when the action is saved', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  const base = { name: 'escapes', type: 'RUN_DOCKER_CONTAINER', ...TEST_IMAGE, inline_commands: 'true' };
  for (const field of [
    { volume_mappings: ['../:/mnt'] },
    { volume_mappings: ['inside/../../x:/mnt'] },
    { volume_mappings: ['/../../etc:/mnt'] },
    { export_container_path: '../x' },
    { export_container_path: 'a/../../x.tar' },
  ]) {
    const res = await h.request('POST', `${pipelinePath}/actions`, { ...base, ...field });
    assert.equal(res.status, 400, JSON.stringify(field));
    assert.match(res.body.errors[0].message, /leaves the pipeline filesystem/);
  }
  // PATCH is held to the same rule.
  const ok = await addAction(h, pipelinePath, { name: 'fine', volume_mappings: ['inside:/mnt'] });
  const patched = await h.request('PATCH', `${pipelinePath}/actions/${ok.id}`, {
    volume_mappings: ['../etc:/mnt'],
  });
  assert.equal(patched.status, 400);
  const list = await h.request('GET', `${pipelinePath}/actions`);
  assert.deepEqual(
    list.body.actions.map((a: any) => a.volume_mappings),
    [['inside:/mnt']],
  );
});

test('a volume mapping through a symbolic link out of the filesystem fails the action and mounts nothing', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, {
    name: 'maps-etc-link',
    volume_mappings: ['etc-link:/mnt'],
    inline_commands: 'echo RAN; cat /mnt/hostname /mnt/passwd',
  });
  await addAction(h, pipelinePath, {
    name: 'maps-host-link',
    volume_mappings: ['host-link:/mnt'],
    ignore_errors: true,
    inline_commands: 'echo RAN; cat /mnt/host-secret.txt',
  });
  const { execution: e, path: p } = await runToEnd(h, pipelinePath);
  assert.equal(e.status, 'FAILED');
  const failed = actionNamed(e, 'maps-etc-link');
  assert.equal(failed.status, 'FAILED');
  assert.match(failed.error_message, /etc-link.*leaves the pipeline filesystem/);
  const logs = await logsOf(h, p, failed.action_execution_id);
  assert.ok(!logs.includes('RAN'), 'the command never ran');
  assert.ok(!logs.some((l) => l.startsWith('root:')), 'host /etc/passwd never shown');
  assert.equal(actionNamed(e, 'maps-host-link').status, 'NOT_EXECUTED');
});

test('a link made by an earlier action, and a link inside the filesystem, are judged by where they point', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'plants-link', inline_commands: `ln -sfn ${hostDir} planted` });
  await addAction(h, pipelinePath, {
    name: 'inner-link-ok',
    volume_mappings: ['inner-link:/mnt'],
    inline_commands: 'cat /mnt/ok.txt',
  });
  await addAction(h, pipelinePath, {
    name: 'maps-planted',
    volume_mappings: ['planted/sub:/mnt'],
    inline_commands: 'echo RAN; cat /mnt/../host-secret.txt; touch /mnt/escaped',
  });
  const { execution: e, path: p } = await runToEnd(h, pipelinePath);
  assert.equal(actionNamed(e, 'plants-link').status, 'SUCCESSFUL');
  assert.equal(actionNamed(e, 'inner-link-ok').status, 'SUCCESSFUL');
  assert.deepEqual(await logsOf(h, p, actionNamed(e, 'inner-link-ok').action_execution_id), ['inside']);
  const planted = actionNamed(e, 'maps-planted');
  assert.equal(planted.status, 'FAILED');
  assert.match(planted.error_message, /leaves the pipeline filesystem/);
  // Resolving must not have created the missing "sub" in the host directory either.
  assert.deepEqual(readdirSync(hostDir).sort(), ['host-secret.txt']);
});

test('export_container_path through a symbolic link out of the filesystem fails and writes nothing there', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, {
    name: 'exports-through-link',
    ignore_errors: true,
    inline_commands: 'echo RAN',
    export_container_path: 'host-link/evil.tar',
  });
  await addAction(h, pipelinePath, {
    name: 'exports-into-new-dir',
    ignore_errors: true,
    inline_commands: 'true',
    export_container_path: 'host-link/new/evil.tar',
  });
  const before = await executionCount(h, pipelinePath);
  const { execution: e } = await runToEnd(h, pipelinePath);
  assert.equal(await executionCount(h, pipelinePath), before + 1);
  for (const name of ['exports-through-link', 'exports-into-new-dir']) {
    const failed = actionNamed(e, name);
    assert.equal(failed.status, 'FAILED', name);
    assert.match(failed.error_message, /export_container_path.*leaves the pipeline filesystem/);
  }
  assert.ok(!existsSync(path.join(hostDir, 'evil.tar')));
  assert.ok(!existsSync(path.join(hostDir, 'new')));
  assert.ok(!existsSync('/etc/evil.tar'));
  assert.deepEqual(readdirSync(hostDir).sort(), ['host-secret.txt']);
});
