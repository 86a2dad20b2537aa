import { parseRef, refMatches } from '../domain/pipeline-events.ts';
import type { PipelineSettings } from '../domain/pipeline.ts';
import type { RunRequestBody, RunOrigin } from '../engine/run-request.ts';

/** One ref a push (or a poll of an external repository) changed; null before = created, null after = deleted. */
export interface RefUpdate {
  ref: string;
  before: string | null;
  after: string | null;
}

/** The refs that differ between two snapshots (ref → revision), in ref-name order. */
export function diffRefs(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const ref of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(ref) ?? null;
    const a = after.get(ref) ?? null;
    if (b !== a) updates.push({ ref, before: b, after: a });
  }
  return updates.sort((x, y) => (x.ref < y.ref ? -1 : x.ref > y.ref ? 1 : 0));
}

export type RefEventType = 'PUSH' | 'CREATE_REF' | 'DELETE_REF';

/** A run an event asks for: which pipeline, which event type matched, which ref change. */
export interface EventRun {
  pipelineId: number;
  event: RefEventType;
  update: RefUpdate;
}

function appliesTo(type: string, update: RefUpdate): type is RefEventType {
  if (type === 'PUSH') return update.after !== null;
  if (type === 'CREATE_REF') return update.before === null && update.after !== null;
  if (type === 'DELETE_REF') return update.after === null;
  return false;
}

/**
 * Which pipelines the ref changes start: each pipeline at most once per ref, for the first of its
 * events that applies (PUSH to a created or moved ref, CREATE_REF, DELETE_REF) and whose refs match.
 * An event without refs uses the pipeline's `refs`; with neither, PUSH means every branch and
 * CREATE_REF/DELETE_REF every branch and tag. Pure, so the rules are unit-tested.
 */
export function eventRuns(
  pipelines: readonly { id: number; settings: Pick<PipelineSettings, 'events' | 'refs'> }[],
  updates: readonly RefUpdate[],
  defaultBranch: string | null,
): EventRun[] {
  const runs: EventRun[] = [];
  for (const update of updates) {
    const ref = parseRef(update.ref);
    for (const p of pipelines) {
      for (const e of p.settings.events) {
        if (!appliesTo(e.type, update)) continue;
        let patterns = e.refs !== null && e.refs.length > 0 ? e.refs : p.settings.refs;
        if (patterns.length === 0)
          patterns = e.type === 'PUSH' ? ['refs/heads/*'] : ['refs/heads/*', 'refs/tags/*'];
        if (refMatches(patterns, ref, defaultBranch)) {
          runs.push({ pipelineId: p.id, event: e.type, update });
          break;
        }
      }
    }
  }
  return runs;
}

/** The run request for a ref change: at the new revision with the changeset from the old one; a deleted ref runs at its last revision. */
export function runRequestFor(update: RefUpdate): { body: RunRequestBody; origin: RunOrigin } {
  const ref = parseRef(update.ref);
  const named = {
    branch: ref.kind === 'branch' ? ref.short : null,
    tag: ref.kind === 'tag' ? ref.short : null,
  };
  if (update.after === null) {
    return {
      body: { to_revision: { revision: update.before! } },
      origin: { triggeredOn: 'EVENT', reportRef: named },
    };
  }
  const body: RunRequestBody = { to_revision: { revision: update.after } };
  if (named.branch) body.branch = { name: named.branch };
  if (named.tag) body.tag = { name: named.tag };
  if (update.before !== null) body.from_revision = { revision: update.before };
  return { body, origin: { triggeredOn: 'EVENT' } };
}
