/**
 * The API's objects as the UI reads them. Wherever a route declares its response schema, the type is
 * taken from src/web/api-types.ts, which scripts/gen-web-types.ts generates from the server's OpenAPI
 * document (a test fails when it is stale). Request bodies come from there too (`BodyOf`). The few
 * interfaces written out below are for routes that do not declare a response schema yet.
 */
import type { paths } from './api-types.ts';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type Op<P extends keyof paths, M extends string> = M extends keyof paths[P] ? paths[P][M] : never;

/** The JSON a route answers with (its 200 or 201 response). */
export type ResponseOf<P extends keyof paths, M extends string> =
  Op<P, M> extends { responses: infer R }
    ? R extends { 200: infer O }
      ? Json<O>
      : R extends { 201: infer O }
        ? Json<O>
        : never
    : never;

/** The JSON body a route accepts. */
export type BodyOf<P extends keyof paths, M extends string> =
  Op<P, M> extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;

export type User = ResponseOf<'/user', 'get'>;
export type Workspace = ResponseOf<'/workspaces/{workspace}', 'get'>;
export type Project = ResponseOf<'/workspaces/{workspace}/projects/{project_name}', 'get'>;
export type Variable = ResponseOf<'/workspaces/{workspace}/variables/{id}', 'get'>;
export type Environment = ResponseOf<'/workspaces/{workspace}/environments/{id}', 'get'>;
export type Integration = ResponseOf<'/workspaces/{workspace}/integrations/{identifier}', 'get'>;
export type Token = ResponseOf<'/user/tokens/{id}', 'get'>;
export type NewToken = ResponseOf<'/user/tokens', 'post'>;

export interface Links {
  url: string;
  html_url: string;
}

export interface Revision {
  revision: string;
  message?: string;
  author?: { name?: string; email?: string } | null;
}

export interface Pipeline extends Links {
  id: number;
  name: string;
  identifier?: string;
  on: string;
  refs?: string[];
  priority?: string;
  last_execution_status?: string | null;
  last_execution_revision?: string | null;
  always_from_scratch?: boolean;
  auto_clear_cache?: boolean;
  concurrent_pipeline_runs?: boolean;
  terminate_stale_runs?: boolean;
  no_skip_to_most_recent?: boolean;
  disabled?: boolean;
  paused?: boolean;
  tags?: string[];
  events?: unknown[];
  create_date?: string;
}

export interface Action extends Links {
  id: number;
  name: string;
  type: string;
  trigger_time?: string;
  disabled?: boolean;
  [field: string]: unknown;
}

export interface ActionExecution extends Links {
  action_execution_id: string;
  log_lines?: number;
  status: string;
  progress?: number;
  start_date?: string | null;
  finish_date?: string | null;
  action: { id: number; name: string; type: string };
  log?: string[];
  error_message?: string | null;
}

export interface Execution extends Links {
  id: number;
  status: string;
  comment?: string | null;
  priority?: string;
  refresh?: boolean;
  clear_cache?: boolean;
  branch?: { name: string } | null;
  tag?: { name: string } | null;
  to_revision?: Revision | null;
  start_date?: string | null;
  finish_date?: string | null;
  delay_until?: string | null;
  error_message?: string | null;
  creator?: User | null;
  action_executions?: ActionExecution[];
}

export interface Paged {
  page?: number;
  total_page_count?: number;
  total_element_count?: number;
}

export interface LogPage {
  offset: number;
  limit: number;
  element_count: number;
  total_element_count: number;
  logs: string[];
}
