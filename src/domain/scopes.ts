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
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
