/** The parts of the Buddy-compatible API's objects the UI reads (see /api/openapi.json). */
export interface Links {
  url: string;
  html_url: string;
}

export interface User extends Links {
  id: number;
  name: string;
  email?: string;
  admin?: boolean;
}

export interface Workspace extends Links {
  id: number;
  name: string;
  domain: string;
  create_date?: string;
}

export interface Project extends Links {
  name: string;
  display_name: string;
  status: string;
  create_date?: string;
  http_repository?: string | null;
  custom_repo_url?: string | null;
  custom_repo_user?: string | null;
  default_branch?: string | null;
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

export interface Variable extends Links {
  id: number;
  key: string;
  value?: string;
  type: string;
  encrypted: boolean;
  settable?: boolean;
  description?: string | null;
  project?: { name: string } | null;
  pipeline?: { id: number } | null;
  action?: { id: number } | null;
  environment?: { id: string } | null;
}

export interface Environment extends Links {
  id: string;
  name: string;
  identifier: string;
  type?: string;
  public_url?: string | null;
  project?: { name: string } | null;
}

export interface Integration extends Links {
  hash_id: string;
  name: string;
  type: string;
  identifier?: string;
  scope?: string;
}

export interface Token {
  id: string;
  name: string;
  token?: string;
  scopes: string[];
  expires_at?: string | null;
  create_date?: string;
  workspace_restrictions?: string[];
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
