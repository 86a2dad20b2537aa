import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { mountFlags } from '../../src/ops/nosuid-mount.ts';

/**
 * Issue 8 item 5: forbidRoot refuses every way of running a container as uid 0; a run request that may
 * only run cannot change run_as_user through a variable; a setuid file an action leaves in the pipeline
 * filesystem cannot be reached by another user on the host.
 */

let h: Harness;
let repo: string;
let parent: string;

before(async () => {
  // A data directory as an administrator makes one (./data, mode 0755), not a 0700 temporary directory,
  // so what protects the pipeline filesystem is Gantry's doing.
  parent = mkdtempSync(path.join(tmpdir(), 'gantry-priv-'));
  chmodSync(parent, 0o755);
  const dataDir = path.join(parent, 'data');
  h = await startGantry({ dataDir, config: { forbidRoot: true, nosuidPipelines: true } });
  chmodSync(dataDir, 0o755);
  repo = makeRepo([{ message: 'init', files: { 'README.md': 'hello\n' } }]).dir;
});
after(async () => {
  await h.close();
  assert.equal(mountFlags(path.join(h.dataDir, 'pipelines')), null, 'the nosuid mount is undone at close');
  rmSync(parent, { recursive: true, force: true });
});

async function run(pipelinePath: string, options: { token?: string; body?: object } = {}): Promise<any> {
  const res = await h.request(
    'POST',
    `${pipelinePath}/executions`,
    { to_revision: { revision: 'HEAD' }, ...options.body },
    options.token ? { token: options.token } : {},
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return waitForExecution(h, `${pipelinePath}/executions/${res.body.id}`);
}

test('forbidRoot: root by name, by uid, by the image default or by a name mapped to uid 0 is refused', async () => {
  for (const [label, fields] of [
    ['image default (root)', {}],
    ['root', { run_as_user: 'root' }],
    ['0:0', { run_as_user: '0:0' }],
    ['0', { run_as_user: '0' }],
    // /etc/passwd rewritten by a FILE variable before the start: the name now means uid 0.
    [
      'toor via a placed /etc/passwd',
      {
        run_as_user: 'toor',
        variables: [],
      },
    ],
  ] as const) {
    const { pipelinePath, pipelineId } = await setupPipeline(h, repo);
    if (label.startsWith('toor')) {
      const v = await h.request('POST', '/api/workspaces/ws/variables', {
        key: `PASSWD_${pipelineId}`,
        value: 'root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0:toor:/root:/bin/sh\n',
        type: 'FILE',
        file_place: 'CONTAINER',
        file_path: '/etc/passwd',
        file_chmod: '644',
        pipeline: { id: pipelineId },
      });
      assert.equal(v.status, 201, JSON.stringify(v.body));
    }
    await addAction(h, pipelinePath, {
      name: 'as root',
      inline_commands: 'id -u > /buddy/ran-as',
      ...fields,
    });
    const e = await run(pipelinePath);
    assert.equal(e.status, 'FAILED', `${label}: ${JSON.stringify(e.action_executions[0])}`);
    assert.match(
      e.action_executions[0].error_message,
      /forbids running actions as root \(forbidRoot\)/,
      label,
    );
  }
  const { pipelinePath } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, { name: 'as nobody', inline_commands: 'id -u', run_as_user: 'nobody' });
  const e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  assert.deepEqual(
    await logsOf(h, `${pipelinePath}/executions/${e.id}`, e.action_executions[0].action_execution_id),
    ['65534'],
  );
});

test('a run variable cannot change run_as_user unless the caller may edit the action', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, {
    name: 'as the configured user',
    inline_commands: 'id -un',
    run_as_user: '$containerUser',
    variables: [{ key: 'containerUser', value: 'nobody' }],
  });
  const created = await h.request('POST', '/api/user/tokens', {
    name: 'runner only',
    scopes: ['WORKSPACE', 'EXECUTION_RUN', 'EXECUTION_INFO'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const runner = created.body.token as string;
  const executionsBefore = (await h.request('GET', `${pipelinePath}/executions`)).body.total_element_count;
  const refused = await h.request(
    'POST',
    `${pipelinePath}/executions`,
    { to_revision: { revision: 'HEAD' }, variables: [{ key: 'containerUser', value: 'notRoot' }] },
    { token: runner },
  );
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.match(refused.body.errors[0].message, /"containerUser" would change run_as_user/);
  assert.equal(
    (await h.request('GET', `${pipelinePath}/executions`)).body.total_element_count,
    executionsBefore,
    'nothing was written',
  );
  // Other variables are fine for a runner; the admin token (which may edit actions) may set this one.
  const plain = await run(pipelinePath, {
    token: runner,
    body: { variables: [{ key: 'OTHER', value: 'x' }] },
  });
  assert.equal(plain.status, 'SUCCESSFUL', JSON.stringify(plain.action_executions));
  const edited = await run(pipelinePath, {
    body: { variables: [{ key: 'containerUser', value: 'notRoot' }] },
  });
  assert.equal(edited.status, 'SUCCESSFUL', JSON.stringify(edited.action_executions));
  assert.deepEqual(
    await logsOf(
      h,
      `${pipelinePath}/executions/${edited.id}`,
      edited.action_executions[0].action_execution_id,
    ),
    ['notRoot'],
  );
});

test('a setuid file an action leaves in the pipeline filesystem is out of reach of other host users', async () => {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo);
  // Root inside the container is forbidden here, so the file is made setuid for its owner, nobody; the
  // point is whether another host user can reach it at all.
  await addAction(h, pipelinePath, {
    name: 'leaves a setuid file',
    run_as_user: 'nobody',
    inline_commands: 'cp /bin/busybox suid-shell && chmod 4755 suid-shell && ls -l suid-shell',
  });
  const e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  const root = path.join(h.dataDir, 'pipelines', String(pipelineId));
  const file = path.join(root, 'fs', 'suid-shell');
  assert.equal(statSync(file).mode & 0o4000, 0o4000, 'the action did leave a setuid file');
  assert.equal(statSync(root).mode & 0o777, 0o700);
  assert.equal(statSync(path.dirname(root)).mode & 0o777, 0o700);
  // Another host user (uid 4242) cannot look it up, read it or run it: the kernel refuses the path.
  // (Through sh: setpriv itself still holds root's capabilities while it execs its command.)
  for (const args of [
    ['stat', file],
    ['cat', file],
    ['sh', '-c', `'${file}' true`],
  ]) {
    let failure = '';
    try {
      execFileSync('setpriv', ['--reuid=4242', '--regid=4242', '--clear-groups', ...args], { stdio: 'pipe' });
    } catch (err) {
      failure = String((err as { stderr?: Buffer }).stderr ?? err);
    }
    assert.match(failure, /Permission denied/, `${args.join(' ')} as another user`);
  }
});

test('forbidRoot: a DOCKERFILE build whose RUN steps would run as root is refused, before it starts', async () => {
  // A base image whose ONBUILD trigger runs a command as its (root) user in every build FROM it.
  const onbuild = `gantry-sec-onbuild:${Math.random().toString(36).slice(2, 8)}`;
  execFileSync('docker', ['build', '-q', '-t', onbuild, '-'], {
    input: 'FROM gantry-test/busybox:latest\nONBUILD RUN id -u\n',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  try {
    const builds = makeRepo([
      {
        message: 'dockerfiles',
        files: {
          'root/Dockerfile': 'FROM gantry-test/busybox:latest\nRUN id -u > /ran-as\n',
          // The build replaces /etc/passwd itself, so the name "evil" means uid 0 inside it.
          'renamed/Dockerfile':
            'FROM gantry-test/busybox:latest\nUSER 1000\nCOPY passwd /etc/passwd\nUSER evil\nRUN id -u\n',
          'renamed/passwd': 'root:x:0:0::/root:/bin/sh\nevil:x:0:0::/root:/bin/sh\n',
          'continued/Dockerfile': 'FROM gantry-test/busybox:latest\nUSER 1000\nUSER \\\n  0:0\nRUN id -u\n',
          'argument/Dockerfile': 'FROM gantry-test/busybox:latest\nARG WHO=1000\nUSER $WHO\nRUN id -u\n',
          'onbuild/Dockerfile': `FROM ${onbuild}\nUSER 1000\nRUN id -u\n`,
          'stage/Dockerfile':
            'FROM gantry-test/busybox:latest AS base\nRUN true\nUSER 1000\nFROM base\nRUN id -u\n',
          'allowed/Dockerfile':
            'FROM gantry-test/busybox:latest AS base\nUSER 1000\nFROM base\nRUN id -u\nUSER 0\nCMD ["sh"]\n',
        },
      },
    ]).dir;
    for (const [dir, refused] of [
      ['root', /line 2: RUN would run as root \(no user set\)/],
      ['renamed', /line 5: RUN would run as "evil" \(a name/],
      ['continued', /line 5: RUN would run as "0:0" \(uid 0\)/],
      ['argument', /line 4: RUN would run as "\$WHO" \(a variable/],
      ['onbuild', /line 1: RUN would run as root/],
      ['stage', /line 2: RUN would run as root/],
      ['allowed', null],
    ] as const) {
      const { pipelinePath } = await setupPipeline(h, builds);
      const res = await h.request('POST', `${pipelinePath}/actions`, {
        name: `build ${dir}`,
        type: 'DOCKERFILE',
        dockerfile_path: `${dir}/Dockerfile`,
        context_path: `/${dir}`,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const e = await run(pipelinePath);
      const action = e.action_executions[0];
      const logs = await logsOf(h, `${pipelinePath}/executions/${e.id}`, action.action_execution_id);
      if (refused === null) {
        assert.equal(e.status, 'SUCCESSFUL', `${dir}: ${JSON.stringify(action)}`);
        assert.ok(logs.includes('1000'), `${dir}: the RUN step ran as uid 1000: ${logs.join('\n')}`);
        continue;
      }
      assert.equal(e.status, 'FAILED', `${dir}: ${JSON.stringify(action)}`);
      assert.match(action.error_message, /forbids running actions as root \(forbidRoot\)/, dir);
      assert.match(action.error_message, refused, dir);
      // Refused before the build started: no step of it ran.
      assert.ok(!logs.some((l) => /^Step \d/.test(l)), `${dir}: ${logs.join('\n')}`);
    }
  } finally {
    execFileSync('docker', ['rmi', '-f', onbuild], { stdio: 'ignore' });
  }
});

test('the pipeline filesystem is nosuid,nodev: a setuid file an action made has no effect on the host or in containers', async (t) => {
  const pipelines = path.join(h.dataDir, 'pipelines');
  if (process.getuid?.() !== 0) return t.skip('the nosuid mount needs root');
  assert.deepEqual(
    ['nosuid', 'nodev'].filter((f) => mountFlags(pipelines)?.includes(f)),
    ['nosuid', 'nodev'],
    'the pipelines directory is a nosuid,nodev mount',
  );
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo);
  const fs = path.join(pipelines, String(pipelineId), 'fs');
  // A first run makes the pipeline filesystem; the host's id(1) is put there for the action to copy.
  await addAction(h, pipelinePath, {
    name: 'leaves a setuid id',
    run_as_user: '1234',
    inline_commands: 'cp host-id suid-id && chmod 4755 suid-id && ls -ln suid-id',
  });
  await addAction(h, pipelinePath, {
    name: 'looks at its mounts',
    run_as_user: '1234',
    inline_commands: 'grep " /buddy" /proc/self/mountinfo',
  });
  assert.equal((await run(pipelinePath)).status, 'FAILED', 'no host-id yet');
  copyFileSync('/usr/bin/id', path.join(fs, 'host-id'));
  chmodSync(path.join(fs, 'host-id'), 0o755);
  const e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  const file = path.join(fs, 'suid-id');
  assert.equal(statSync(file).mode & 0o4000, 0o4000, 'the action left a setuid file');
  assert.equal(statSync(file).uid, 1234);
  // Executed on the host (by root, so the 0700 parents do not stand in the way): the setuid bit is
  // ignored, the effective uid stays 0.
  assert.doesNotMatch(execFileSync(file, { encoding: 'utf8' }), /euid=1234/);
  // The same file elsewhere is setuid-effective: what the mount takes away.
  const control = mkdtempSync(path.join(tmpdir(), 'gantry-suid-control-'));
  try {
    chmodSync(control, 0o755);
    execFileSync('cp', ['-p', file, path.join(control, 'suid-id')]);
    assert.match(execFileSync(path.join(control, 'suid-id'), { encoding: 'utf8' }), /euid=1234/);
  } finally {
    rmSync(control, { recursive: true, force: true });
  }
  // Containers get the work tree through binds of the nosuid mount: nosuid and nodev there too.
  const mounts = await logsOf(
    h,
    `${pipelinePath}/executions/${e.id}`,
    e.action_executions[1].action_execution_id,
  );
  assert.ok(mounts.length > 0, 'the action saw its mount');
  for (const m of mounts) assert.match(m, /\bnosuid\b.*\bnodev\b|\bnodev\b.*\bnosuid\b/, m);
});
