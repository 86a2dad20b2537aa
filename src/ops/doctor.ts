import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { engineInfo } from '../runtime/docker/docker-info.ts';
import { freeBytes, specialFilesystemOf } from './data-dir.ts';
import { checkGit, START_DOCKER_HINT, withTimeout } from './preflight.ts';

/** One finding of `gantry doctor`: what was checked, what was found, and how to fix it when wrong. */
export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** The Docker API version Gantry is built and tested against (Docker 20.10). */
const TESTED_DOCKER_API = [1, 41];
const CLOCK_SKEW_SECONDS = 5;

function apiAtLeast(version: string, min: number[]): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > min[0]! || (major === min[0]! && minor >= min[1]!);
}

function nodeFinding(version: string): Finding {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const ok = (major === 20 && minor >= 19) || (major === 22 && minor >= 13) || major === 24;
  return {
    check: 'node',
    ok,
    detail: `Node ${version}`,
    ...(ok
      ? {}
      : { fix: 'install Node 20.19 or later 20.x (tested), or 22.13+/24 (see README: Node.js version)' }),
  };
}

async function dockerFinding(config: Config): Promise<Finding[]> {
  try {
    const info = await withTimeout(engineInfo(config.dockerHost), 10_000, 'the Docker engine');
    const findings: Finding[] = [];
    const apiOk = apiAtLeast(info.apiVersion, TESTED_DOCKER_API);
    findings.push({
      check: 'docker',
      ok: apiOk,
      detail: `engine ${info.version}, API ${info.apiVersion}, ${info.os} at ${config.dockerHost}`,
      ...(apiOk
        ? {}
        : { fix: `upgrade the Docker engine to 20.10 (API ${TESTED_DOCKER_API.join('.')}) or later` }),
    });
    if (info.systemTime !== '') {
      const skew = Math.abs(Date.parse(info.systemTime) - Date.now()) / 1000;
      const ok = skew <= CLOCK_SKEW_SECONDS;
      findings.push({
        check: 'clock',
        ok,
        detail: `this machine and the Docker engine differ by ${skew.toFixed(1)} s`,
        ...(ok
          ? {}
          : {
              fix: 'synchronise both clocks (systemd-timesyncd, chrony or ntpd): dates of executions come from both',
            }),
      });
    }
    return findings;
  } catch (err) {
    return [
      {
        check: 'docker',
        ok: false,
        detail: `the engine at ${config.dockerHost} does not answer (${(err as Error).message.split('\n')[0]})`,
        fix: START_DOCKER_HINT,
      },
    ];
  }
}

async function gitFinding(): Promise<Finding> {
  try {
    return { check: 'git', ok: true, detail: `git ${await checkGit()}` };
  } catch (err) {
    return { check: 'git', ok: false, detail: (err as Error).message, fix: 'apt-get install git' };
  }
}

function dataDirFindings(config: Config): Finding[] {
  const dir = config.dataDir;
  if (!existsSync(dir)) {
    let parent = path.dirname(dir);
    while (!existsSync(parent)) parent = path.dirname(parent);
    const special = specialFilesystemOf(parent);
    return [
      {
        check: 'data directory',
        ok: special === null,
        detail: special
          ? `${dir} would be on the ${special} kernel filesystem`
          : `${dir} does not exist yet; serve creates it`,
        ...(special ? { fix: 'choose a directory on a disk (--data-dir)' } : {}),
      },
    ];
  }
  const findings: Finding[] = [];
  const special = specialFilesystemOf(dir);
  let writable = true;
  try {
    // access() rather than a test write: doctor changes nothing. It sees modes and read-only mounts.
    writable = statSync(dir).isDirectory();
    accessSync(dir, constants.W_OK);
  } catch {
    writable = false;
  }
  findings.push({
    check: 'data directory',
    ok: special === null && writable,
    detail: special
      ? `${dir} is on the ${special} kernel filesystem`
      : writable
        ? `${dir}`
        : `${dir} is not a writable directory`,
    ...(special || !writable ? { fix: 'choose a directory on a disk (--data-dir)' } : {}),
  });
  try {
    const freeMb = Math.floor(freeBytes(dir) / 1024 / 1024);
    const ok = freeMb >= config.minFreeDiskMb;
    findings.push({
      check: 'disk',
      ok,
      detail: `${freeMb} MB free (minimum ${config.minFreeDiskMb} MB)`,
      ...(ok
        ? {}
        : {
            fix: 'free space (old logs in <dataDir>/logs, pipeline caches in <dataDir>/pipelines) or grow the disk',
          }),
    });
  } catch (err) {
    findings.push({ check: 'disk', ok: false, detail: (err as Error).message });
  }
  const keyFile = config.secretKeyFile || path.join(dir, 'secret.key');
  for (const [name, file] of [
    ['secret key', keyFile],
    ['admin token', path.join(dir, 'admin.token')],
  ] as const) {
    if (!existsSync(file)) continue;
    const st = statSync(file);
    const loose = (st.mode & 0o077) !== 0;
    const foreign = process.getuid !== undefined && st.uid !== process.getuid();
    findings.push({
      check: 'permissions',
      ok: !loose && !foreign,
      detail: `${name} ${file} mode ${(st.mode & 0o777).toString(8)}${foreign ? `, owned by uid ${st.uid}` : ''}`,
      ...(loose || foreign ? { fix: `chmod 600 ${file}; chown it to the user running Gantry` } : {}),
    });
  }
  return findings;
}

/** Checks the machine Gantry runs on; changes nothing. */
export async function runDoctor(config: Config): Promise<Finding[]> {
  return [
    nodeFinding(process.version),
    await gitFinding(),
    ...(await dockerFinding(config)),
    ...dataDirFindings(config),
  ];
}

/** The findings as text for a terminal, one line each, fixes indented below problems. */
export function formatFindings(findings: Finding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${f.ok ? 'ok     ' : 'PROBLEM'} ${f.check}: ${f.detail}`);
    if (!f.ok && f.fix) lines.push(`        fix: ${f.fix}`);
  }
  const problems = findings.filter((f) => !f.ok).length;
  lines.push(
    problems === 0 ? 'No problems found.' : `${problems} problem${problems === 1 ? '' : 's'} found.`,
  );
  return lines.join('\n') + '\n';
}
