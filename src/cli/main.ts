import { Command, Option } from 'commander';
import { ConfigError, DEFAULTS, envName, loadConfig, type Config } from '../config/config.ts';
import { isScope, SCOPES } from '../domain/scopes.ts';
import { BACKUP_PARTS, createBackup, restoreBackup } from '../ops/backup.ts';
import { formatFindings, runDoctor } from '../ops/doctor.ts';
import { StartupError } from '../ops/startup-error.ts';
import { GANTRY_VERSION } from '../ops/version.ts';
import { SecretKeyError } from '../secrets/cipher.ts';
import { adminTokenPath, createGantry } from '../server.ts';
import { Urls } from '../api/present/urls.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { createToken, findUserByEmailAddress, firstAdmin } from '../store/identity.ts';
import { createPasswordLink } from '../store/members.ts';
import type { UserRow } from '../store/schema.ts';
import { getWorkspace } from '../store/workspaces.ts';
import { registerWorkerCommand } from './worker-command.ts';

const program = new Command('gantry')
  .description('Self-hosted CI/CD server speaking the Buddy.Works pipelines API')
  .version(GANTRY_VERSION, '-V, --version', 'print the version and exit');

interface CommonFlags {
  config?: string;
  dataDir?: string;
  host?: string;
  port?: string;
  publicUrl?: string;
  databaseUrl?: string;
  dockerHost?: string;
  networkMode?: string;
  maxConcurrentExecutions?: string;
  cancelGraceSeconds?: string;
  logLevel?: string;
  logFormat?: string;
  drainTimeoutSeconds?: string;
  metricsListen?: string;
  minFreeDiskMb?: string;
  localWorker?: boolean | undefined;
}

function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', `JSON config file (or ${envName('config')})`)
    .option('--data-dir <dir>', `data directory [${DEFAULTS.dataDir}] (${envName('dataDir')})`)
    .option('--host <host>', `listen address [${DEFAULTS.host}] (${envName('host')})`)
    .option('--port <port>', `listen port [${DEFAULTS.port}] (${envName('port')})`)
    .option('--public-url <url>', `base URL in url/html_url [http://<host>:<port>] (${envName('publicUrl')})`)
    .option('--database-url <url>', `database URL [sqlite file in the data dir] (${envName('databaseUrl')})`)
    .option(
      '--docker-host <addr>',
      `Docker engine socket or tcp://host:port [${DEFAULTS.dockerHost}] (${envName('dockerHost')})`,
    )
    .option(
      '--network-mode <mode>',
      `network mode of action containers [${DEFAULTS.networkMode}] (${envName('networkMode')})`,
    )
    .option(
      '--max-concurrent-executions <n>',
      `executions run at once [${DEFAULTS.maxConcurrentExecutions}] (${envName('maxConcurrentExecutions')})`,
    )
    .option(
      '--cancel-grace-seconds <n>',
      `SIGTERM→SIGKILL grace on cancel [${DEFAULTS.cancelGraceSeconds}] (${envName('cancelGraceSeconds')})`,
    )
    .option('--log-level <level>', `log level [${DEFAULTS.logLevel}] (${envName('logLevel')})`)
    .option(
      '--log-format <format>',
      `auto, json or pretty [${DEFAULTS.logFormat}: pretty on a terminal] (${envName('logFormat')})`,
    )
    .option(
      '--drain-timeout-seconds <n>',
      `on SIGTERM, time running executions get to finish [${DEFAULTS.drainTimeoutSeconds}] (${envName('drainTimeoutSeconds')})`,
    )
    .option(
      '--metrics-listen <host:port|off>',
      `serve /metrics on its own address without a token, or off [API port, admin token] (${envName('metricsListen')})`,
    )
    .option(
      '--min-free-disk-mb <n>',
      `/readyz fails below this free space [${DEFAULTS.minFreeDiskMb}] (${envName('minFreeDiskMb')})`,
    );
}

function configFrom(flags: CommonFlags): Config {
  // Plain decimal integers only; other text is passed on as text for loadConfig to refuse by name.
  const num = (v: string | undefined): number | string | undefined =>
    v !== undefined && /^-?[0-9]+$/.test(v) ? Number(v) : v;
  return loadConfig({
    ...(flags.config ? { file: flags.config } : {}),
    env: process.env,
    flags: {
      dataDir: flags.dataDir,
      host: flags.host,
      port: num(flags.port),
      publicUrl: flags.publicUrl,
      databaseUrl: flags.databaseUrl,
      dockerHost: flags.dockerHost,
      networkMode: flags.networkMode,
      maxConcurrentExecutions: num(flags.maxConcurrentExecutions),
      cancelGraceSeconds: num(flags.cancelGraceSeconds),
      logLevel: flags.logLevel,
      logFormat: flags.logFormat,
      drainTimeoutSeconds: num(flags.drainTimeoutSeconds),
      metricsListen: flags.metricsListen,
      minFreeDiskMb: num(flags.minFreeDiskMb),
      localWorker: flags.localWorker,
    },
  });
}

withConfigOptions(
  program.command('serve').description('Start the API server, the web UI and the execution engine'),
)
  .option(
    '--no-local-worker',
    'run no executions in this server: only remote workers (gantry worker) run them',
  )
  .action(async (flags: CommonFlags & { localWorker?: boolean }) => {
    const config = configFrom({ ...flags, localWorker: flags.localWorker === false ? false : undefined });
    const gantry = await createGantry(config, { listen: true });
    // Installed before the banner: whoever waits for it may signal at once. First signal: drain (finish running executions up to the drain timeout); second: stop at once;
    // a third: exit now, leaving recovery on the next start to end what still ran.
    let signals = 0;
    const shutdown = (): void => {
      signals++;
      if (signals === 1) {
        gantry.drainAndClose().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`gantry: stopping failed: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      } else if (signals === 2) gantry.hurry();
      else process.exit(1);
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    const tokenFile = gantry.adminTokenFile ?? adminTokenPath(config);
    process.stdout.write(
      [
        `Gantry is running.`,
        `  API:     ${config.publicUrl}/api   (OpenAPI: ${config.publicUrl}/api/openapi.json, docs: ${config.publicUrl}/api/docs)`,
        `  Web UI:  ${config.publicUrl}/`,
        tokenFile
          ? `  Token:   the admin token is in ${tokenFile}  (curl -H "Authorization: Bearer $(cat ${tokenFile})" ${config.publicUrl}/api/workspaces)`
          : `  Token:   create one with: gantry token create --name me --scopes ${SCOPES.slice(0, 3).join(',')},...`,
        '',
      ].join('\n'),
    );
  });

/** The user named by e-mail, or the server's admin when none is named. */
async function tokenOwner(db: Db, config: Config, email: string | undefined): Promise<UserRow> {
  if (email !== undefined) {
    const found = await findUserByEmailAddress(db, email);
    if (!found)
      throw new ConfigError(`no user with e-mail address ${email} (invite it into a workspace first)`);
    return found;
  }
  const admin = await firstAdmin(db);
  if (!admin) throw new ConfigError(`no admin user in ${config.dataDir}: run "gantry serve" once first`);
  return admin;
}

const token = program.command('token').description('Manage API tokens');
withConfigOptions(
  token.command('create').description('Create a token for the admin user (or --user) and print it'),
)
  .requiredOption('--name <name>', 'token name')
  .addOption(
    new Option('--scopes <list>', `comma-separated scopes, or ALL (${SCOPES.join(', ')})`).default('ALL'),
  )
  .option('--user <email>', "the user the token acts as (default: the server's admin)")
  .option('--workspace <domain...>', 'restrict the token to these workspaces')
  .option('--expires-in <seconds>', 'lifetime in seconds')
  .action(
    async (
      flags: CommonFlags & {
        name: string;
        scopes: string;
        user?: string;
        workspace?: string[];
        expiresIn?: string;
      },
    ) => {
      const config = configFrom(flags);
      const db = await openDatabase(config.databaseUrl, config.dataDir);
      try {
        const admin = await tokenOwner(db, config, flags.user);
        const scopes =
          flags.scopes === 'ALL'
            ? [...SCOPES]
            : flags.scopes
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean);
        const unknown = scopes.filter((s) => !isScope(s));
        if (unknown.length > 0)
          throw new ConfigError(`unknown scope ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
        // Restrictions are stored by workspace id, so they follow a workspace through a change of domain.
        const workspaceIds: number[] = [];
        for (const w of flags.workspace ?? []) {
          const ws = await getWorkspace(db, w);
          if (!ws) throw new ConfigError(`workspace "${w}" not found`);
          workspaceIds.push(ws.id);
        }
        let expiresAt: string | null = null;
        if (flags.expiresIn !== undefined) {
          const seconds = Number(flags.expiresIn);
          if (!Number.isInteger(seconds) || seconds <= 0)
            throw new ConfigError('--expires-in takes a positive number of seconds');
          expiresAt = new Date(Date.now() + seconds * 1000).toISOString();
        }
        const created = await createToken(db, {
          userId: admin.id,
          name: flags.name,
          scopes,
          ipRestrictions: [],
          workspaceRestrictions: workspaceIds,
          expiresAt,
        });
        process.stdout.write(created.token + '\n');
      } finally {
        await db.destroy();
      }
    },
  );

const user = program.command('user').description('Manage users');
withConfigOptions(
  user
    .command('password-link')
    .description('Print a one-time link (valid 72 hours) with which the user sets a password for the web UI'),
)
  .requiredOption('--user <email>', 'the user')
  .action(async (flags: CommonFlags & { user: string }) => {
    const config = configFrom(flags);
    const db = await openDatabase(config.databaseUrl, config.dataDir);
    try {
      const owner = await tokenOwner(db, config, flags.user);
      process.stdout.write(
        new Urls(config.publicUrl).passwordLink(await createPasswordLink(db, owner.id)) + '\n',
      );
    } finally {
      await db.destroy();
    }
  });

withConfigOptions(
  program
    .command('backup <file>')
    .description(
      'Write a consistent backup of the database (safe while the server runs) and, optionally, repositories, logs and packages, as one .tar.gz',
    ),
)
  .option('--repos', 'include the hosted git repositories (<dataDir>/repos)')
  .option('--logs', 'include action logs (<dataDir>/logs)')
  .option('--packages', 'include package versions (<dataDir>/packages)')
  .option('--all', 'include repositories, logs and packages')
  .option('--with-secret-key', 'include the secret key: the archive then opens every sealed secret')
  .action(
    async (
      file: string,
      flags: CommonFlags & {
        repos?: boolean;
        logs?: boolean;
        packages?: boolean;
        all?: boolean;
        withSecretKey?: boolean;
      },
    ) => {
      const config = configFrom(flags);
      const parts = BACKUP_PARTS.filter((p) => flags.all || flags[p]);
      const manifest = await createBackup(config, file, {
        parts,
        withSecretKey: flags.withSecretKey === true,
      });
      process.stdout.write(
        `Backup written to ${file}: database${manifest.parts.map((p) => `, ${p}`).join('')}${
          manifest.secretKeyIncluded
            ? ', and the secret key (keep this file as safe as the key itself)'
            : `. The secret key is not in it: keep a copy of ${config.secretKeyFile || `${config.dataDir}/secret.key`} apart from the backups; without it the sealed secrets cannot be opened.`
        }\n`,
      );
    },
  );

withConfigOptions(
  program
    .command('restore <file>')
    .description('Unpack a backup made by "gantry backup" into an empty data directory'),
)
  .option('--secret-key <file>', 'the secret key file of the server the backup came from, copied into place')
  .action(async (file: string, flags: CommonFlags & { secretKey?: string }) => {
    const config = configFrom(flags);
    const manifest = await restoreBackup(
      config,
      file,
      flags.secretKey ? { secretKeyFrom: flags.secretKey } : {},
    );
    process.stdout.write(
      `Restored ${file} (made by Gantry ${manifest.gantryVersion} at ${manifest.createdAt}) into ${config.dataDir}: database${manifest.parts.map((p) => `, ${p}`).join('')}.\n` +
        (manifest.secretKeyIncluded || flags.secretKey
          ? ''
          : `Put the secret key of the server the backup came from at ${config.secretKeyFile || `${config.dataDir}/secret.key`} (or pass --secret-key) before "gantry serve".\n`),
    );
  });

withConfigOptions(
  program
    .command('doctor')
    .description('Check this machine for Gantry: Node, git, Docker engine, data directory, disk, clock'),
).action(async (flags: CommonFlags) => {
  const findings = await runDoctor(configFrom(flags));
  process.stdout.write(formatFindings(findings));
  if (findings.some((f) => !f.ok)) process.exitCode = 1;
});

registerWorkerCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof SecretKeyError || err instanceof StartupError) {
    process.stderr.write(`gantry: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`gantry: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
