import type { Config } from '../config/config.ts';
import type { ExecutionEngine } from '../engine/engine.ts';
import type { LogStore } from '../engine/log-store.ts';
import type { ProjectRepositories } from '../engine/project-repositories.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import type { Triggers } from '../triggers/triggers.ts';
import type { Urls } from './present/urls.ts';

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
}
