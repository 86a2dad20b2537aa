import type { Config } from '../config/config.ts';
import type { ExecutionEngine } from '../engine/engine.ts';
import type { LogStore } from '../engine/log-store.ts';
import type { ProjectRepositories } from '../engine/project-repositories.ts';
import type { GantryMetrics } from '../metrics/metrics.ts';
import type { Readiness } from '../ops/readiness.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import type { Triggers } from '../triggers/triggers.ts';
import type { Urls } from './present/urls.ts';
import type { WorkerHub } from '../engine/worker-hub.ts';

/** What the HTTP layer is handed by the composition root. */
export interface ApiContext {
  config: Config;
  db: Db;
  urls: Urls;
  secrets: SecretBox;
  repositories: ProjectRepositories;
  engine: ExecutionEngine;
  logs: LogStore;
  triggers: Triggers;
  /** Remote workers: leases, handing out work, their reports. */
  workers: WorkerHub;
  /** Moves on every write to tokens, users or workspaces made through `db` (the token cache's invalidation). */
  identityWrites: { readonly generation: number };
  /** Operations: readiness probe and metrics (null when metricsListen is "off"). */
  ops: {
    readiness: () => Promise<Readiness>;
    metrics: GantryMetrics | null;
    /** True when GET /metrics is served on the API port (for admin tokens); false: a separate listener or none. */
    metricsOnApiPort: boolean;
  };
}
