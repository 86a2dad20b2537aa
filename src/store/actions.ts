import type { ActionDefinition, ActionSettings, ActionType } from '../domain/action.ts';
import type { Db } from './database.ts';
import type { ActionRow } from './schema.ts';
import { now, parseJson } from './time.ts';
import { reusableQuery } from './reusable-query.ts';

export interface StoredAction extends ActionDefinition {
  lastExecutionStatus: string;
  /** Sealed JSON of ActionSecrets (see secrets/). */
  sealedSecrets: string;
}

export function toAction(row: ActionRow): StoredAction {
  return {
    id: row.id,
    pipelineId: row.pipeline_id,
    position: row.position,
    type: row.type as ActionType,
    name: row.name,
    settings: parseJson<ActionSettings>(row.settings),
    hasPassword: row.secrets !== '',
    sealedSecrets: row.secrets,
    lastExecutionStatus: row.last_execution_status,
  };
}

export async function listActions(db: Db, pipelineId: number): Promise<StoredAction[]> {
  const rows = await db
    .selectFrom('actions')
    .selectAll()
    .where('pipeline_id', '=', pipelineId)
    .orderBy('position')
    .execute();
  return rows.map(toAction);
}

export async function getAction(db: Db, pipelineId: number, id: number): Promise<StoredAction | undefined> {
  const row = await db
    .selectFrom('actions')
    .selectAll()
    .where('pipeline_id', '=', pipelineId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toAction(row);
}

const actionWithPrevious = reusableQuery(2, (db, pipelineId: number, id: number) =>
  db
    .selectFrom('actions as a')
    .selectAll('a')
    .select((eb) =>
      eb
        .selectFrom('actions as b')
        .select('b.id')
        .whereRef('b.pipeline_id', '=', 'a.pipeline_id')
        .whereRef('b.position', '<', 'a.position')
        .orderBy('b.position', 'desc')
        .limit(1)
        .as('previous_id'),
    )
    .where('a.pipeline_id', '=', pipelineId)
    .where('a.id', '=', id),
);

/**
 * One action and the id of the one before it in the pipeline (null for the first), in one query: what
 * `after_action_id` shows, without reading every action of the pipeline.
 */
export async function getActionWithPrevious(
  db: Db,
  pipelineId: number,
  id: number,
): Promise<{ action: StoredAction; previousId: number | null } | undefined> {
  const found = await getActionRowWithPrevious(db, pipelineId, id);
  return found && { action: toAction(found.row), previousId: found.previousId };
}

/** getActionWithPrevious with the row as stored (for callers that reuse what they presented from a row before). */
export async function getActionRowWithPrevious(
  db: Db,
  pipelineId: number,
  id: number,
): Promise<{ row: ActionRow; previousId: number | null } | undefined> {
  const [found] = await actionWithPrevious(db, pipelineId, id);
  if (!found) return undefined;
  const { previous_id, ...row } = found;
  return { row, previousId: previous_id ?? null };
}

export interface ActionWrite {
  type: ActionType;
  name: string;
  settings: ActionSettings;
  sealedSecrets: string;
}

/**
 * Renumbers positions so `id` stands right after `afterId` (0 or null: first; undefined: unchanged
 * for updates, last for inserts). Runs inside the caller's transaction.
 */
async function placeAction(
  db: Db,
  pipelineId: number,
  id: number,
  afterId: number | null | undefined,
): Promise<void> {
  if (afterId === undefined) return;
  const ids = (
    await db
      .selectFrom('actions')
      .select('id')
      .where('pipeline_id', '=', pipelineId)
      .orderBy('position')
      .execute()
  )
    .map((r) => r.id)
    .filter((x) => x !== id);
  const at = afterId === null || afterId === 0 ? 0 : ids.indexOf(afterId) + 1;
  ids.splice(at, 0, id);
  for (const [index, actionId] of ids.entries()) {
    await db.updateTable('actions').set({ position: index }).where('id', '=', actionId).execute();
  }
}

export async function createAction(
  db: Db,
  pipelineId: number,
  a: ActionWrite,
  afterId: number | null | undefined,
): Promise<StoredAction> {
  return db.transaction().execute(async (trx) => {
    const last = await trx
      .selectFrom('actions')
      .select((eb) => eb.fn.max('position').as('p'))
      .where('pipeline_id', '=', pipelineId)
      .executeTakeFirst();
    const row = await trx
      .insertInto('actions')
      .values({
        pipeline_id: pipelineId,
        position: Number(last?.p ?? -1) + 1,
        type: a.type,
        name: a.name,
        settings: JSON.stringify(a.settings),
        secrets: a.sealedSecrets,
        last_execution_status: 'INITIAL',
        create_date: now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await placeAction(trx, pipelineId, row.id, afterId);
    const placed = await trx
      .selectFrom('actions')
      .selectAll()
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    return toAction(placed);
  });
}

export async function updateAction(
  db: Db,
  pipelineId: number,
  id: number,
  a: Omit<ActionWrite, 'type'>,
  afterId: number | null | undefined,
): Promise<StoredAction> {
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('actions')
      .set({ name: a.name, settings: JSON.stringify(a.settings), secrets: a.sealedSecrets })
      .where('id', '=', id)
      .execute();
    await placeAction(trx, pipelineId, id, afterId);
    return toAction(
      await trx.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
    );
  });
}

export async function deleteAction(db: Db, id: number): Promise<void> {
  await db.deleteFrom('actions').where('id', '=', id).execute();
}

export async function getActionById(db: Db, id: number): Promise<StoredAction | undefined> {
  const row = await db.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toAction(row);
}
