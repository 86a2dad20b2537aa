import { PIPELINE_DEFAULTS, type PipelineSettings } from '../domain/pipeline.ts';
import type { Db } from './database.ts';
import type { PipelineRow } from './schema.ts';
import { now, parseJson } from './time.ts';
import { reusableArrayQuery, reusableQuery } from './reusable-query.ts';

export interface Pipeline {
  id: number;
  projectId: number;
  name: string;
  identifier: string;
  creatorId: number;
  createDate: string;
  lastExecutionStatus: string;
  lastExecutionRevision: string | null;
  settings: PipelineSettings;
  lastSkippedTrigger: SkippedTrigger | null;
}

/** An event or schedule that matched a pipeline but started no run, and why. */
export interface SkippedTrigger {
  date: string;
  trigger: string;
  ref: string | null;
  reason: string;
}

/**
 * Parsed settings by pipeline id, with the stored JSON they came from: lists and lookups parse each
 * pipeline's settings once per change rather than once per request (a page of 20 parsed them 20 times).
 * A row whose JSON differs (another server saved it) is parsed again. Bounded: cleared past MAX entries.
 */
const parsedSettings = new Map<number, { raw: string; settings: PipelineSettings }>();
const MAX_PARSED_SETTINGS = 10_000;

function settingsOf(row: PipelineRow): PipelineSettings {
  const hit = parsedSettings.get(row.id);
  // A shallow copy: callers build new settings from it ({ ...settings, paused: true }) and never edit it.
  if (hit && hit.raw === row.settings) return { ...hit.settings };
  // Pipelines saved before a field existed get its default.
  const settings = { ...PIPELINE_DEFAULTS, ...parseJson<Partial<PipelineSettings>>(row.settings) };
  if (parsedSettings.size >= MAX_PARSED_SETTINGS) parsedSettings.clear();
  parsedSettings.set(row.id, { raw: row.settings, settings });
  return { ...settings };
}

export function toPipeline(row: PipelineRow): Pipeline {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    identifier: row.identifier,
    creatorId: row.creator_id,
    createDate: row.create_date,
    lastExecutionStatus: row.last_execution_status,
    lastExecutionRevision: row.last_execution_revision,
    lastSkippedTrigger: row.last_skipped_trigger ? parseJson<SkippedTrigger>(row.last_skipped_trigger) : null,
    settings: settingsOf(row),
  };
}

/** Every column of a pipeline row, in the table's order; `satisfies` fails the build when the table gains one. */
export const PIPELINE_COLUMNS = Object.keys({
  id: 1,
  project_id: 1,
  name: 1,
  identifier: 1,
  settings: 1,
  priority: 1,
  concurrent_pipeline_runs: 1,
  creator_id: 1,
  create_date: 1,
  last_execution_status: 1,
  last_execution_revision: 1,
  last_skipped_trigger: 1,
} satisfies Record<keyof PipelineRow, 1>) as (keyof PipelineRow)[];

/** A row read as the array of PIPELINE_COLUMNS' values (see reusableArrayQuery). */
function pipelineRowOf(values: readonly unknown[]): PipelineRow {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < PIPELINE_COLUMNS.length; i += 1) row[PIPELINE_COLUMNS[i]!] = values[i];
  return row as unknown as PipelineRow;
}

/**
 * One page of a project's pipelines, each row carrying the project's pipeline count after its columns
 * (a subquery the database runs once): one statement instead of two.
 */
const pipelinePage = reusableArrayQuery(3, (db, projectId: number, limit: number, offset: number) =>
  db
    .selectFrom('pipelines as pl')
    .select(PIPELINE_COLUMNS.map((c) => `pl.${c}` as const))
    .select((eb) =>
      eb
        .selectFrom('pipelines as counted')
        .select(eb.fn.countAll<number>().as('n'))
        .where('counted.project_id', '=', projectId)
        .as('total_count'),
    )
    .where('pl.project_id', '=', projectId)
    .orderBy('pl.id')
    .limit(limit)
    .offset(offset),
);
const pipelineCount = reusableQuery(1, (db, projectId: number) =>
  db
    .selectFrom('pipelines')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId),
);

export async function listPipelines(
  db: Db,
  projectId: number,
  limit: number,
  offset: number,
  /** Pipelines to leave out, or the only ones to list (see AccessContext.pipelineFilter). */
  filter: { except: number[] } | { only: number[] } | null = null,
): Promise<{ rows: Pipeline[]; total: number }> {
  const { rows, total } = await listPipelineRows(db, projectId, limit, offset, filter);
  return { rows: rows.map(toPipeline), total };
}

/** listPipelines with the rows as stored (for callers that reuse what they presented from a row before). */
export async function listPipelineRows(
  db: Db,
  projectId: number,
  limit: number,
  offset: number,
  filter: { except: number[] } | { only: number[] } | null = null,
): Promise<{ rows: PipelineRow[]; total: number }> {
  if (filter === null) {
    // The common case (callers who see every pipeline), with a query compiled once.
    const page = await pipelinePage(db, projectId, limit, offset);
    // A page past the end has no row to carry the count.
    const total =
      page.length > 0
        ? Number(page[0]![PIPELINE_COLUMNS.length])
        : Number((await pipelineCount(db, projectId))[0]?.n ?? 0);
    return { rows: page.map(pipelineRowOf), total };
  }
  let base = db.selectFrom('pipelines').where('project_id', '=', projectId);
  if (filter && 'only' in filter)
    base = filter.only.length > 0 ? base.where('id', 'in', filter.only) : base.where('id', '<', 0);
  if (filter && 'except' in filter && filter.except.length > 0)
    base = base.where('id', 'not in', filter.except);
  const rows = await base.selectAll().orderBy('id').limit(limit).offset(offset).execute();
  const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return { rows, total: Number(count.n) };
}

const pipelineOfProject = reusableQuery(2, (db, projectId: number, id: number) =>
  db.selectFrom('pipelines').selectAll().where('project_id', '=', projectId).where('id', '=', id),
);

export async function getPipeline(db: Db, projectId: number, id: number): Promise<Pipeline | undefined> {
  const [row] = await pipelineOfProject(db, projectId, id);
  return row && toPipeline(row);
}

export async function getPipelineById(db: Db, id: number): Promise<Pipeline | undefined> {
  const row = await db.selectFrom('pipelines').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toPipeline(row);
}

export async function identifierTaken(
  db: Db,
  projectId: number,
  identifier: string,
  exceptId?: number,
): Promise<boolean> {
  let q = db
    .selectFrom('pipelines')
    .select('id')
    .where('project_id', '=', projectId)
    .where('identifier', '=', identifier);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

export async function createPipeline(
  db: Db,
  p: { projectId: number; name: string; identifier: string; creatorId: number; settings: PipelineSettings },
): Promise<Pipeline> {
  const row = await db
    .insertInto('pipelines')
    .values({
      project_id: p.projectId,
      name: p.name,
      identifier: p.identifier,
      creator_id: p.creatorId,
      create_date: now(),
      settings: JSON.stringify(p.settings),
      priority: p.settings.priority,
      concurrent_pipeline_runs: p.settings.concurrent_pipeline_runs ? 1 : 0,
      last_execution_status: 'INITIAL',
      last_execution_revision: null,
      last_skipped_trigger: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toPipeline(row);
}

export async function updatePipeline(
  db: Db,
  id: number,
  p: { name: string; identifier: string; settings: PipelineSettings },
): Promise<Pipeline> {
  const row = await db
    .updateTable('pipelines')
    .set({
      name: p.name,
      identifier: p.identifier,
      settings: JSON.stringify(p.settings),
      priority: p.settings.priority,
      concurrent_pipeline_runs: p.settings.concurrent_pipeline_runs ? 1 : 0,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toPipeline(row);
}

export async function deletePipeline(db: Db, id: number): Promise<void> {
  await db.deleteFrom('pipelines').where('id', '=', id).execute();
}

/** Every pipeline of a project, oldest first (the candidates an event of the project may start). */
export async function projectPipelines(db: Db, projectId: number): Promise<Pipeline[]> {
  const rows = await db
    .selectFrom('pipelines')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('id')
    .execute();
  return rows.map(toPipeline);
}

export async function recordSkippedTrigger(
  db: Db,
  pipelineId: number,
  skipped: SkippedTrigger,
): Promise<void> {
  await db
    .updateTable('pipelines')
    .set({ last_skipped_trigger: JSON.stringify(skipped) })
    .where('id', '=', pipelineId)
    .execute();
}

/** The pipeline named `pipelineName` in project `projectName` of a workspace (the oldest of that name). */
export async function findPipelineByNames(
  db: Db,
  workspaceId: number,
  projectName: string,
  pipelineName: string,
): Promise<Pipeline | undefined> {
  const row = await db
    .selectFrom('pipelines as pl')
    .innerJoin('projects as p', 'p.id', 'pl.project_id')
    .selectAll('pl')
    .where('p.workspace_id', '=', workspaceId)
    .where('p.name', '=', projectName)
    .where('pl.name', '=', pipelineName)
    .orderBy('pl.id')
    .executeTakeFirst();
  return row && toPipeline(row);
}

/**
 * Status of the last finished execution of a pipeline ("INITIAL" when it never finished one). A run
 * still in progress does not count: it has not succeeded yet.
 */
export async function lastFinishedStatus(db: Db, pipelineId: number): Promise<string> {
  const last = await db
    .selectFrom('executions')
    .select('status')
    .where('pipeline_id', '=', pipelineId)
    .where('status', 'in', ['SUCCESSFUL', 'FAILED', 'TERMINATED'])
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return last?.status ?? 'INITIAL';
}
