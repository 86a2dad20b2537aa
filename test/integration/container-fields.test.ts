/**
 * Seed 004's RUN_DOCKER_CONTAINER fields on real containers: export_container_path, run_as_user,
 * entrypoint, mount_filesystem_disable, mount_filesystem_path and volume_mappings.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { addAction, logsOf, makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';
import { actionNamed, containersWith, instanceLabel, removeDirs, runToEnd } from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([
  { message: 'only', files: { 'a.txt': 'from the repository\n', 'conf/app.conf': 'answer=42\n' } },
]);

before(async () => {
  h = await startGantry({ config: { maxConcurrentExecutions: 4 } });
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
});

/** Runs a one-pipeline scenario; returns the finished execution and a reader of each action's log. */
async function scenario(
  actions: Record<string, unknown>[],
): Promise<{ e: any; logs: (name: string) => Promise<string[]>; pipelineId: number; projectName: string }> {
  const { pipelinePath, pipelineId, projectPath } = await setupPipeline(h, repo.dir);
  for (const a of actions) await addAction(h, pipelinePath, a);
  const { execution: e, path: p } = await runToEnd(h, pipelinePath);
  return {
    e,
    logs: (name) => logsOf(h, p, actionNamed(e, name).action_execution_id),
    pipelineId,
    projectName: projectPath.split('/').pop()!,
  };
}

/** Name → content of the regular files in a tar archive. */
async function tarFiles(file: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name, Buffer.concat(chunks).toString('utf8'));
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from(readFileSync(file)).pipe(extract);
  await done;
  return files;
}

test('export_container_path writes the container filesystem, including what the commands wrote, as a tar', async () => {
  const { e, pipelineId } = await scenario([
    {
      name: 'exports',
      inline_commands: 'echo made-by-command > /tmp/made.txt',
      export_container_path: 'exports/container.tar',
    },
    { name: 'sees-export', inline_commands: 'ls -l exports/container.tar' },
  ]);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  const archive = path.join(h.dataDir, 'pipelines', String(pipelineId), 'fs', 'exports', 'container.tar');
  const files = await tarFiles(archive);
  assert.equal(files.get('tmp/made.txt'), 'made-by-command\n');
  assert.ok(files.has('etc/passwd'), 'the whole filesystem of the image is there');
});

test('run_as_user runs the commands as that user, also when given as a variable', async () => {
  const { e, logs } = await scenario([
    {
      name: 'as-notRoot',
      run_as_user: 'notRoot',
      inline_commands: 'id -un\ntouch written-by-notRoot && echo can-write',
    },
    {
      name: 'as-variable',
      run_as_user: '$containerUser',
      variables: [{ key: 'containerUser', value: 'builder' }],
      inline_commands: 'id -un',
    },
    { name: 'as-default', inline_commands: 'id -un' },
  ]);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  assert.deepEqual(await logs('as-notRoot'), ['notRoot', 'can-write']);
  assert.deepEqual(await logs('as-variable'), ['builder']);
  assert.deepEqual(await logs('as-default'), ['root']);
});

test('entrypoint: a shell runs the commands with -c, another program gets them as arguments', async () => {
  const { e, logs } = await scenario([
    { name: 'shell', entrypoint: '/bin/sh', inline_commands: 'echo "shell $((6 * 7))"\necho second line' },
    { name: 'echo', entrypoint: '/bin/echo', inline_commands: 'hello "two words"  $HOME' },
  ]);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  assert.deepEqual(await logs('shell'), ['shell 42', 'second line']);
  // No shell: the quotes group words and $HOME is not expanded.
  assert.deepEqual(await logs('echo'), ['hello two words $HOME']);
});

test('the pipeline filesystem is mounted at /buddy/<project> (the working directory) unless disabled, or at mount_filesystem_path', async () => {
  const { e, logs, projectName } = await scenario([
    { name: 'default-mount', inline_commands: 'pwd\ncat a.txt' },
    {
      name: 'no-mount',
      mount_filesystem_disable: true,
      inline_commands:
        'if [ -d /buddy/$BUDDY_PROJECT_NAME ]; then echo mounted; else echo not-mounted; fi\nls /buddy 2>/dev/null | wc -l',
    },
    {
      name: 'custom-mount',
      mount_filesystem_path: '/src',
      inline_commands:
        'pwd\ncat /src/a.txt\nif [ -d /buddy/$BUDDY_PROJECT_NAME ]; then echo also-default; fi',
    },
  ]);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  assert.deepEqual(await logs('default-mount'), [`/buddy/${projectName}`, 'from the repository']);
  assert.deepEqual(await logs('no-mount'), ['not-mounted', '0']);
  assert.deepEqual(await logs('custom-mount'), ['/src', 'from the repository']);
});

test('volume_mappings put a directory of the pipeline filesystem at a container path, both ways', async () => {
  const { e, logs } = await scenario([
    {
      name: 'maps-conf',
      volume_mappings: ['conf:/etc/app', '/new-dir:/data'],
      inline_commands:
        'cat /etc/app/app.conf\necho from-container > /etc/app/written.txt\necho data > /data/x',
    },
    { name: 'reads-back', inline_commands: 'cat conf/written.txt\ncat new-dir/x' },
  ]);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  assert.deepEqual(await logs('maps-conf'), ['answer=42']);
  assert.deepEqual(await logs('reads-back'), ['from-container', 'data']);
});
