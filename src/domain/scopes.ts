/** Token scopes Gantry enforces, named as Buddy names them. */
export const SCOPES = [
  'WORKSPACE',
  'PROJECT_DELETE',
  'REPOSITORY_READ',
  'REPOSITORY_WRITE',
  'EXECUTION_INFO',
  'EXECUTION_RUN',
  'EXECUTION_MANAGE',
  'ENVIRONMENT_INFO',
  'ENVIRONMENT_ADD',
  'ENVIRONMENT_MANAGE',
  'INTEGRATION_INFO',
  'INTEGRATION_ADD',
  'INTEGRATION_MANAGE',
  'VARIABLE_ADD',
  'VARIABLE_INFO',
  'VARIABLE_MANAGE',
  'TOKEN_INFO',
  'TOKEN_MANAGE',
  'WORKSPACES_MANAGE',
  'USER_INFO',
  'USER_EMAIL',
  'USER_KEY',
  'MANAGE_EMAILS',
  'MEMBER_EMAIL',
  'WEBHOOK_INFO',
  'WEBHOOK_ADD',
  'WEBHOOK_MANAGE',
  'ZONE_READ',
  'ZONE_WRITE',
  'ZONE_MANAGE',
  'TARGET_INFO',
  'TARGET_ADD',
  'TARGET_MANAGE',
  // Gantry's own: a remote worker (gantry worker) takes executions, reports them and fetches their sources.
  'WORKER',
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
