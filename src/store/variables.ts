import type { Db } from './database.ts';
import type { VariableRow, VariablesTable } from './schema.ts';
import { now } from './time.ts';

/** The one object a variable is attached to; none of them means the workspace itself. */
export interface VariableScope {
  workspaceId: number;
  projectId?: number | null;
  pipelineId?: number | null;
  actionId?: number | null;
  environmentId?: string | null;
}

function scoped(db: Db, s: VariableScope) {
  const is =
    <K extends 'project_id' | 'pipeline_id' | 'action_id' | 'environment_id'>(
      col: K,
      v: VariablesTable[K] | null | undefined,
    ) =>
    (q: ReturnType<typeof base>) =>
      v === undefined || v === null ? q.where(col, 'is', null) : q.where(col, '=', v as never);
  const base = () => db.selectFrom('variables').where('workspace_id', '=', s.workspaceId);
  let q = base();
  q = is('project_id', s.projectId)(q);
  q = is('pipeline_id', s.pipelineId)(q);
  q = is('action_id', s.actionId)(q);
  q = is('environment_id', s.environmentId)(q);
  return q;
}

export async function listVariables(db: Db, scope: VariableScope): Promise<VariableRow[]> {
  return scoped(db, scope).selectAll().orderBy('key').execute();
}

/**
 * The variables created through the API for each of `actionIds` (the action level), by action and key:
 * one query for a whole execution instead of one per action.
 */
export async function listActionVariables(
  db: Db,
  workspaceId: number,
  actionIds: readonly number[],
): Promise<VariableRow[]> {
  if (actionIds.length === 0) return [];
  return db
    .selectFrom('variables')
    .where('workspace_id', '=', workspaceId)
    .where('project_id', 'is', null)
    .where('pipeline_id', 'is', null)
    .where('environment_id', 'is', null)
    .where('action_id', 'in', [...actionIds])
    .selectAll()
    .orderBy('action_id')
    .orderBy('key')
    .execute();
}

export async function findVariable(
  db: Db,
  scope: VariableScope,
  key: string,
): Promise<VariableRow | undefined> {
  return scoped(db, scope).selectAll().where('key', '=', key).executeTakeFirst();
}

export async function getVariable(db: Db, workspaceId: number, id: number): Promise<VariableRow | undefined> {
  return db
    .selectFrom('variables')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export type NewVariable = Omit<VariablesTable, 'id' | 'create_date'>;

export async function createVariable(db: Db, v: NewVariable): Promise<VariableRow> {
  return db
    .insertInto('variables')
    .values({ ...v, create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateVariable(db: Db, id: number, patch: Partial<NewVariable>): Promise<VariableRow> {
  return db.updateTable('variables').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Whether the stored variable `id` is encrypted (false when there is none). */
export async function isVariableEncrypted(db: Db, id: number): Promise<boolean> {
  const row = await db.selectFrom('variables').select('encrypted').where('id', '=', id).executeTakeFirst();
  return row?.encrypted === 1;
}

export async function deleteVariable(db: Db, id: number): Promise<void> {
  await db.deleteFrom('variables').where('id', '=', id).execute();
}
