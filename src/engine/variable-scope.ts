import type { InlineVariable } from '../domain/pipeline.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import type { VariableRow } from '../store/schema.ts';
import { listActionVariables, listVariables } from '../store/variables.ts';

/** A variable as an action receives it: clear value, plus what is needed to place files and mask logs. */
export interface ResolvedVariable {
  key: string;
  value: string;
  encrypted: boolean;
  type: 'VAR' | 'FILE' | 'SSH_KEY';
  filePlace: 'CONTAINER' | 'NONE';
  filePath: string | null;
  fileChmod: string | null;
  settable: boolean;
  /** Id of the stored variable (Variables API), for settable updates; null for inline ones. */
  storedId: number | null;
}

function fromRow(box: SecretBox, v: VariableRow): ResolvedVariable {
  return {
    key: v.key,
    value: v.encrypted === 1 ? box.open(v.value) : v.value,
    encrypted: v.encrypted === 1,
    type: v.type as ResolvedVariable['type'],
    filePlace: v.file_place as ResolvedVariable['filePlace'],
    filePath: v.file_path,
    fileChmod: v.file_chmod,
    settable: v.settable === 1,
    storedId: v.id,
  };
}

export function fromInline(box: Pick<SecretBox, 'open'>, v: InlineVariable): ResolvedVariable {
  return {
    key: v.key,
    value: v.encrypted ? box.open(v.value) : v.value,
    encrypted: v.encrypted,
    type: 'VAR',
    filePlace: 'NONE',
    filePath: null,
    fileChmod: null,
    settable: v.settable ?? false,
    storedId: null,
  };
}

export interface ScopeIds {
  workspaceId: number;
  projectId: number;
  environmentId: string | null;
  pipelineId: number;
}

/**
 * The levels below an action, lowest precedence first: workspace < project < environment < pipeline
 * (API-created first, then the pipeline's inline variables). Loaded once per execution.
 */
export async function loadExecutionLevels(
  db: Db,
  box: SecretBox,
  ids: ScopeIds,
  pipelineInline: readonly InlineVariable[],
): Promise<ResolvedVariable[][]> {
  const rows = (scope: Parameters<typeof listVariables>[1]) =>
    listVariables(db, scope).then((r) => r.map((v) => fromRow(box, v)));
  return [
    await rows({ workspaceId: ids.workspaceId }),
    await rows({ workspaceId: ids.workspaceId, projectId: ids.projectId }),
    ids.environmentId === null
      ? []
      : await rows({ workspaceId: ids.workspaceId, environmentId: ids.environmentId }),
    [
      ...(await rows({ workspaceId: ids.workspaceId, pipelineId: ids.pipelineId })),
      ...pipelineInline.map((v) => fromInline(box, v)),
    ],
  ];
}

/** Each action's own level: variables created for it through the API, then its inline ones. */
export async function loadActionLevels(
  db: Db,
  box: SecretBox,
  workspaceId: number,
  actions: readonly { actionId: number; inline: readonly InlineVariable[] }[],
): Promise<Map<number, ResolvedVariable[]>> {
  const stored = await listActionVariables(
    db,
    workspaceId,
    actions.map((a) => a.actionId),
  );
  const levels = new Map<number, ResolvedVariable[]>();
  for (const a of actions) levels.set(a.actionId, []);
  for (const row of stored) levels.get(row.action_id!)?.push(fromRow(box, row));
  for (const a of actions) levels.get(a.actionId)!.push(...a.inline.map((v) => fromInline(box, v)));
  return levels;
}

/** Merges levels, lowest precedence first; a later level's key replaces an earlier one's. */
export function mergeLevels(levels: readonly (readonly ResolvedVariable[])[]): Map<string, ResolvedVariable> {
  const merged = new Map<string, ResolvedVariable>();
  for (const level of levels) for (const v of level) merged.set(v.key, v);
  return merged;
}

/** Where a FILE/SSH_KEY variable lands: `~/` is the running user's home directory. */
export function containerFilePath(filePath: string, home: string): string {
  return filePath.startsWith('~/') ? `${home.replace(/\/+$/, '')}/${filePath.slice(2)}` : filePath;
}
