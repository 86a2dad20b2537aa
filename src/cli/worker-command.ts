import { hostname } from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../config/config.ts';
import { createLogger } from '../ops/logger.ts';
import { checkDocker } from '../ops/preflight.ts';
import { checkGit } from '../ops/preflight.ts';
import { DockerRuntime } from '../runtime/docker/docker-runtime.ts';
import { GantryWorker } from '../worker/worker.ts';

interface WorkerFlags {
  server: string[];
  token?: string;
  tokenFile?: string;
  name: string;
  concurrency: string;
  dockerHost: string;
  tags: string;
  dataDir: string;
  networkMode: string;
  cancelGraceSeconds: string;
  drainTimeoutSeconds: string;
  packageKeepDays: string;
  logLevel: string;
  logFormat: string;
  forbidRoot?: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function positive(value: string, flag: string, max: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > max)
    throw new ConfigError(`${flag} takes a whole number from 1 to ${max}`);
  return Number(value);
}

/** `gantry worker`: a process with its own Docker engine that runs executions for the servers. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'Run executions for Gantry servers: take work over HTTP, run it on this Docker engine, stream logs back',
    )
    .requiredOption(
      '--server <url...>',
      'server base URL; repeat (or separate by commas) for several servers on one database',
    )
    .option('--token <token>', 'token with the WORKER scope of a server admin (or GANTRY_WORKER_TOKEN)')
    .option('--token-file <file>', 'read the token from this file (keeps it out of the process list)')
    .option(
      '--name <name>',
      'this worker\'s name, unique among the workers (pipeline "worker" field)',
      hostname(),
    )
    .option('--concurrency <n>', 'executions run at once', '2')
    .option('--docker-host <addr>', 'Docker engine socket or tcp://host:port', '/var/run/docker.sock')
    .option(
      '--tags <list>',
      'comma-separated tags (pipeline "tags" route runs to workers holding all of them)',
      '',
    )
    .option('--data-dir <dir>', 'pipeline filesystems, repository mirrors and log spool', './gantry-worker')
    .option('--network-mode <mode>', 'network mode of action containers', 'none')
    .option('--cancel-grace-seconds <n>', 'SIGTERM→SIGKILL grace on cancel', '10')
    .option('--drain-timeout-seconds <n>', 'on SIGTERM, time running executions get to finish', '300')
    .option(
      '--package-keep-days <n>',
      'unpacked package versions not used for this many days are removed (checked at start and hourly)',
      '7',
    )
    .option(
      '--forbid-root',
      'refuse to start an action container that would run as uid 0 (as forbidRoot on a server)',
    )
    .option('--log-level <level>', 'log level', 'info')
    .option('--log-format <format>', 'auto, json or pretty', 'auto')
    .action(async (flags: WorkerFlags) => {
      const servers = flags.server
        .flatMap((s) => s.split(','))
        .map((s) => s.trim().replace(/\/+$/, ''))
        .filter(Boolean);
      for (const s of servers)
        if (!/^https?:\/\/[^/]+/.test(s)) throw new ConfigError(`--server ${s} is not an http(s) URL`);
      const token =
        flags.token ??
        (flags.tokenFile ? readFileSync(flags.tokenFile, 'utf8').trim() : process.env.GANTRY_WORKER_TOKEN);
      if (!token) throw new ConfigError('a token is needed: --token, --token-file or GANTRY_WORKER_TOKEN');
      if (!NAME.test(flags.name))
        throw new ConfigError(`--name "${flags.name}": letters, digits, ".", "_" and "-" only (max 63)`);
      const tags = flags.tags
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      for (const t of tags) if (!NAME.test(t)) throw new ConfigError(`--tags: "${t}" is not a valid tag`);
      const concurrency = positive(flags.concurrency, '--concurrency', 256);
      const grace = Number(flags.cancelGraceSeconds);
      if (!Number.isInteger(grace) || grace < 0)
        throw new ConfigError('--cancel-grace-seconds takes a whole number');
      const drain = Number(flags.drainTimeoutSeconds);
      if (!Number.isInteger(drain) || drain < 0)
        throw new ConfigError('--drain-timeout-seconds takes a whole number');
      const packageKeepDays = positive(flags.packageKeepDays, '--package-keep-days', 3650);
      const logger = createLogger({
        level: flags.logLevel,
        format: flags.logFormat,
        stdoutIsTty: process.stdout.isTTY === true,
      }).child({ worker: flags.name });
      await checkGit();
      // Container limits are the server defaults (4096 MiB, 2 CPUs capped at the host's, 4096 processes).
      const runtime = new DockerRuntime({
        dockerHost: flags.dockerHost,
        forbidRoot: flags.forbidRoot === true,
      });
      await checkDocker(runtime, flags.dockerHost);
      const worker = new GantryWorker({
        servers,
        token,
        name: flags.name,
        tags,
        concurrency,
        dataDir: path.resolve(flags.dataDir),
        runtime,
        networkMode: flags.networkMode,
        cancelGraceSeconds: grace,
        packageKeepDays,
        logger,
      });
      const hurry = new AbortController();
      let signals = 0;
      const shutdown = (): void => {
        signals++;
        if (signals === 1) {
          worker
            .stop(drain * 1000, `worker "${flags.name}" shut down while the execution ran`, hurry.signal)
            .then(
              () => process.exit(0),
              () => process.exit(1),
            );
        } else if (signals === 2) hurry.abort();
        else process.exit(1);
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
      await worker.start();
      process.stdout.write(
        `Gantry worker "${flags.name}" is running (servers: ${servers.join(', ')}; concurrency ${concurrency}${tags.length ? `; tags ${tags.join(', ')}` : ''}).\n`,
      );
    });
}
