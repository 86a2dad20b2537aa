import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { buildApp } from './api/app.ts';
import { Urls } from './api/present/urls.ts';
import type { Config } from './config/config.ts';
import { SCOPES } from './domain/scopes.ts';
import { ExecutionEngine } from './engine/engine.ts';
import { LogStore } from './engine/log-store.ts';
import { ProjectRepositories } from './engine/project-repositories.ts';
import { DockerRuntime } from './runtime/docker/docker-runtime.ts';
import type { ContainerRuntime } from './runtime/container-runtime.ts';
import { loadSecretKey, SecretBox, SecretKeyError } from './secrets/cipher.ts';
import { openDatabase, type Db } from './store/database.ts';
import { countUsers, createToken, createUser } from './store/identity.ts';
import { Triggers } from './triggers/triggers.ts';

export interface Gantry {
  app: FastifyInstance;
  engine: ExecutionEngine;
  db: Db;
  config: Config;
  /** Set on the first start of an empty data directory: where the admin token was written. */
  adminTokenFile: string | null;
  close(): Promise<void>;
}

async function openSecrets(db: Db, config: Config): Promise<SecretBox> {
  const file = config.secretKeyFile || path.join(config.dataDir, 'secret.key');
  const stored = await db
    .selectFrom('meta')
    .select('value')
    .where('key', '=', 'secret_key_fingerprint')
    .executeTakeFirst();
  const key = loadSecretKey(file, stored === undefined);
  const fingerprint = createHash('sha256').update(key).digest('hex');
  if (stored === undefined) {
    await db.insertInto('meta').values({ key: 'secret_key_fingerprint', value: fingerprint }).execute();
  } else if (stored.value !== fingerprint) {
    throw new SecretKeyError(`secret key ${file} is not the key this database's secrets were sealed with`);
  }
  return new SecretBox(key);
}

/** On an empty data directory: an admin user and an all-scopes token, written to admin.token (0600). */
async function bootstrapAdmin(db: Db, dataDir: string): Promise<string | null> {
  if ((await countUsers(db)) > 0) return null;
  const user = await createUser(db, { name: 'admin', email: 'admin@localhost', admin: true });
  const { token } = await createToken(db, {
    userId: user.id,
    name: 'admin',
    scopes: [...SCOPES],
    ipRestrictions: [],
    workspaceRestrictions: [],
    expiresAt: null,
  });
  const file = path.join(dataDir, 'admin.token');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/**
 * The composition root: config → store → secrets → runtime → engine → HTTP. Nothing else reads the
 * environment or builds these objects. `runtime` may be swapped (tests of scheduling logic).
 */
export async function createGantry(
  config: Config,
  options: { logger?: Logger | false; runtime?: ContainerRuntime } = {},
): Promise<Gantry> {
  mkdirSync(config.dataDir, { recursive: true });
  const logger = options.logger === undefined ? pino({ level: config.logLevel }) : options.logger;
  const engineLogger = logger === false ? pino({ level: 'silent' }) : logger;
  const db = await openDatabase(config.databaseUrl, config.dataDir);
  try {
    const secrets = await openSecrets(db, config);
    const adminTokenFile = await bootstrapAdmin(db, config.dataDir);
    const runtime = options.runtime ?? new DockerRuntime({ dockerHost: config.dockerHost });
    const repositories = new ProjectRepositories(config.dataDir, secrets);
    const logs = new LogStore(path.join(config.dataDir, 'logs'));
    const engine = new ExecutionEngine({
      db,
      runtime,
      repositories,
      logs,
      secrets,
      dataDir: config.dataDir,
      publicUrl: config.publicUrl,
      networkMode: config.networkMode,
      cancelGraceSeconds: config.cancelGraceSeconds,
      maxConcurrentExecutions: config.maxConcurrentExecutions,
      logger: engineLogger,
    });
    const triggers = new Triggers({ db, repositories, secrets, engine, logger: engineLogger });
    const urls = new Urls(config.publicUrl);
    const app = await buildApp({ config, db, urls, secrets, repositories, engine, logs, triggers }, logger);
    await engine.start();
    return {
      app,
      engine,
      db,
      config,
      adminTokenFile,
      async close() {
        await app.close();
        await engine.stop();
        await db.destroy();
      },
    };
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

export function adminTokenPath(config: Config): string | null {
  const file = path.join(config.dataDir, 'admin.token');
  return existsSync(file) ? file : null;
}
