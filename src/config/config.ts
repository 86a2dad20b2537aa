import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** The validated, frozen configuration handed to the composition root. */
export const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'Interface the HTTP server listens on' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port (0 picks a free one)' }),
    dataDir: Type.String({
      minLength: 1,
      description: 'Directory for the database, logs, repositories and keys',
    }),
    publicUrl: Type.String({
      description: 'Base URL used in every url/html_url; empty means http://<host>:<port>',
    }),
    databaseUrl: Type.String({
      description: 'Database URL; empty means the SQLite file <dataDir>/gantry.db',
    }),
    dockerHost: Type.String({ description: 'Docker engine address: a unix socket path or tcp://host:port' }),
    networkMode: Type.String({
      minLength: 1,
      description: 'Network mode of action containers (none, host, ...)',
    }),
    maxConcurrentExecutions: Type.Integer({
      minimum: 1,
      maximum: 1000,
      description: 'Executions run at once',
    }),
    cancelGraceSeconds: Type.Integer({
      minimum: 0,
      maximum: 3600,
      description: 'Seconds between SIGTERM and SIGKILL when an action is cancelled',
    }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { description: 'pino log level' },
    ),
    drainTimeoutSeconds: Type.Integer({
      minimum: 0,
      maximum: 86400,
      description: 'On SIGTERM, seconds running executions may take to finish before they are terminated',
    }),
    metricsListen: Type.String({
      description:
        'Where GET /metrics is served: empty = on the API port for admin tokens, host:port = a separate listener without a token, off = nowhere',
    }),
    minFreeDiskMb: Type.Integer({
      minimum: 0,
      description: '/readyz reports not ready when the data directory has less free space (MB)',
    }),
    logFormat: Type.Union(
      ['auto', 'json', 'pretty'].map((l) => Type.Literal(l)),
      { description: 'json for machines, pretty for people; auto = pretty when stdout is a terminal' },
    ),
    secretKeyFile: Type.String({
      description: 'File holding the 32-byte key for secrets at rest; empty means <dataDir>/secret.key',
    }),
    containerMemoryMb: Type.Integer({
      minimum: 0,
      description: 'Memory limit of each action container in MiB (0: none)',
    }),
    containerCpus: Type.Number({
      minimum: 0,
      description: 'CPU limit of each action container in CPUs (0: none; capped at the host CPU count)',
    }),
    containerPidsLimit: Type.Integer({
      minimum: 0,
      description: 'Most processes/threads in one action container (0: none)',
    }),
    headersTimeoutSeconds: Type.Integer({
      minimum: 1,
      description: "Seconds a client has to send a request's headers before the connection is closed",
    }),
    requestTimeoutSeconds: Type.Integer({
      minimum: 1,
      description: 'Seconds a client has to send a whole request (headers and body, e.g. a git push)',
    }),
    maxConnections: Type.Integer({
      minimum: 1,
      description: 'Most open HTTP connections; more are closed at once',
    }),
    forbidRoot: Type.Boolean({
      description:
        'Refuse to start an action container that would run as uid 0 (run_as_user root, 0:0, or the image default)',
    }),
    nosuidPipelines: Type.Boolean({
      description:
        "Mount <dataDir>/pipelines onto itself nosuid,nodev at start (root on Linux), so the containers' binds of it are too",
    }),
    allowedRepositoryRoots: Type.Array(Type.String({ minLength: 1 }), {
      description: 'Local directories custom_repo_url may name (never inside dataDir); none by default',
    }),
    allowedRepositoryHosts: Type.Array(Type.String({ minLength: 1 }), {
      description: 'Loopback/private hosts, IPs or CIDR ranges custom_repo_url may name; none by default',
    }),
    localWorker: Type.Boolean({
      description:
        'Run executions in this server (false: only remote workers run them; serve --no-local-worker)',
    }),
    workerLeaseSeconds: Type.Integer({
      minimum: 3,
      maximum: 3600,
      description:
        'A remote worker not heard from this long loses its lease and its running executions end FAILED',
    }),
    workerHeartbeatSeconds: Type.Integer({
      minimum: 1,
      maximum: 600,
      description: 'How often remote workers heartbeat (at most; a cancel is answered at once)',
    }),
    queuePollSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      description:
        'PostgreSQL: how often a server looks at the queue without being told (NOTIFY wakes it at once when any server queues or moves a run; this covers a notification lost with its connection). Servers sharing a SQLite file look every 2 s',
    }),
    repositoryPollSeconds: Type.Integer({
      minimum: 0,
      maximum: 7 * 86400,
      description:
        'Seconds between polls of each external repository (custom_repo_url) for new commits, tags and branches; 0 = no polling (a project may set its own)',
    }),
  },
  { additionalProperties: false },
);

export type Config = Readonly<Static<typeof ConfigSchema>>;

export const DEFAULTS: Static<typeof ConfigSchema> = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  publicUrl: '',
  databaseUrl: '',
  dockerHost: '/var/run/docker.sock',
  networkMode: 'none',
  maxConcurrentExecutions: 2,
  cancelGraceSeconds: 10,
  logLevel: 'info',
  drainTimeoutSeconds: 300,
  metricsListen: '',
  minFreeDiskMb: 512,
  logFormat: 'auto',
  secretKeyFile: '',
  containerMemoryMb: 4096,
  containerCpus: 2,
  containerPidsLimit: 4096,
  headersTimeoutSeconds: 10,
  requestTimeoutSeconds: 300,
  maxConnections: 1024,
  forbidRoot: false,
  nosuidPipelines: true,
  allowedRepositoryRoots: [],
  allowedRepositoryHosts: [],
  localWorker: true,
  workerLeaseSeconds: 60,
  workerHeartbeatSeconds: 10,
  queuePollSeconds: 10,
  repositoryPollSeconds: 60,
};

/** Environment variable name for each key: GANTRY_ + upper snake case (dataDir → GANTRY_DATA_DIR). */
export function envName(key: string): string {
  return 'GANTRY_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

export class ConfigError extends Error {}

type Layer = Record<string, unknown>;

/**
 * Environment values are text; numeric keys take plain decimal integers only. Number() would read "",
 * "0x1F90" and "1e3" as 0, 8080 and 1000, so anything else is left as text for the schema to refuse.
 */
function coerce(key: keyof typeof DEFAULTS, raw: string): unknown {
  const kind = DEFAULTS[key];
  // Lists are comma-separated; booleans are "true"/"false".
  if (Array.isArray(kind))
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (typeof kind === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (key === 'containerCpus' && /^[0-9]+(\.[0-9]+)?$/.test(raw)) return Number(raw);
  return typeof kind === 'number' && /^-?[0-9]+$/.test(raw) ? Number(raw) : raw;
}

function fromEnv(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = {};
  const known = new Set(Object.keys(DEFAULTS).map(envName));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('GANTRY_') || value === undefined) continue;
    if (name === 'GANTRY_CONFIG') continue;
    if (!known.has(name)) throw new ConfigError(`unknown environment setting ${name}`);
    const key = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).find((k) => envName(k) === name)!;
    layer[key] = coerce(key, value);
  }
  return layer;
}

function fromFile(file: string): Layer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('expected a JSON object');
    }
    return parsed as Layer;
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid: ${(err as Error).message}`);
  }
}

/**
 * Loads configuration in stages — defaults, then the JSON file (flag or GANTRY_CONFIG), then GANTRY_*
 * environment variables, then CLI flags — validates it and returns it frozen. Unknown keys are
 * rejected so that a typo does not silently fall back to a default.
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; flags?: Layer } = {}): Config {
  const env = options.env ?? {};
  const file = options.file ?? env.GANTRY_CONFIG;
  const merged: Layer = { ...DEFAULTS, ...(file ? fromFile(file) : {}), ...fromEnv(env) };
  for (const [k, v] of Object.entries(options.flags ?? {})) if (v !== undefined) merged[k] = v;
  for (const key of Object.keys(merged)) {
    // Own keys only: `in` would also accept names every object inherits, such as "toString".
    if (!Object.hasOwn(DEFAULTS, key)) throw new ConfigError(`unknown configuration key "${key}"`);
  }
  const errors = [...Value.Errors(ConfigSchema, merged)];
  if (errors.length > 0) {
    const e = errors[0]!;
    throw new ConfigError(`invalid configuration ${e.path.slice(1) || '(root)'}: ${e.message}`);
  }
  const config = merged as Static<typeof ConfigSchema>;
  config.dataDir = path.resolve(config.dataDir);
  if (config.publicUrl === '') config.publicUrl = `http://${config.host}:${config.port}`;
  config.publicUrl = config.publicUrl.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(config.publicUrl))
    throw new ConfigError('publicUrl must start with http:// or https://');
  if (config.workerHeartbeatSeconds * 2 > config.workerLeaseSeconds)
    throw new ConfigError('workerLeaseSeconds must be at least twice workerHeartbeatSeconds');
  if (config.metricsListen !== '' && config.metricsListen !== 'off' && !parseListen(config.metricsListen))
    throw new ConfigError(
      `metricsListen "${config.metricsListen}" must be host:port (e.g. 127.0.0.1:9464), empty, or off`,
    );
  return Object.freeze(config);
}

/** "host:port" (IPv6 hosts in brackets) as a listen address; null when it is not one. */
export function parseListen(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):([0-9]{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}
