/**
 * The API's objects as the UI reads them. Wherever a route declares its response schema, the type is
 * taken from src/web/api-types.ts, which scripts/gen-web-types.ts generates from the server's OpenAPI
 * document (a test fails when it is stale). Request bodies come from there too (`BodyOf`).
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

type PipelinePath = '/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}';
type ExecutionPath =
  '/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}/executions/{execution_id}';
type ActionExecutionPath =
  '/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}/executions/{execution_id}/action_executions/{action_execution_id}';

export type Pipeline = ResponseOf<PipelinePath, 'get'>;
/** An action: the common fields plus whatever its type adds. */
export type Action = ResponseOf<
  '/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}/actions/{action_id}',
  'get'
> & { [field: string]: unknown };
export type Execution = ResponseOf<ExecutionPath, 'get'>;
export type ActionExecution = ResponseOf<ActionExecutionPath, 'get'>;
export type LogPage = ResponseOf<`${ActionExecutionPath}/logs`, 'get'>;
export type Member = ResponseOf<'/workspaces/{workspace}/members/{member_id}', 'get'>;
export type Group = ResponseOf<'/workspaces/{workspace}/groups/{group_id}', 'get'>;
export type GroupMember = ResponseOf<'/workspaces/{workspace}/groups/{group_id}/members/{member_id}', 'get'>;
export type PermissionSet = ResponseOf<'/workspaces/{workspace}/permissions/{permission_id}', 'get'>;
export type ProjectMember = ResponseOf<
  '/workspaces/{workspace}/projects/{project_name}/members/{member_id}',
  'get'
>;

/** The paging fields of a list answer. */
export interface Paged {
  page?: number;
  total_page_count?: number;
  total_element_count?: number;
}
