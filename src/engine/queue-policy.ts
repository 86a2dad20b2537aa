/** An execution of a pipeline that waits for or holds a slot, as the queue policies see it. */
export interface ActiveRun {
  id: number;
  pipelineId: number;
  /** The branch the run is for ("tag:<name>" for a tag run, "" for neither). */
  refKey: string;
  /** True while it waits (ENQUEUED and not yet launched); false once it runs. */
  waiting: boolean;
}

/** A pipeline's queue settings (Buddy's names). */
export interface QueueSettings {
  concurrent_pipeline_runs: boolean;
  no_skip_to_most_recent: boolean;
  terminate_stale_runs: boolean;
}

/** What to do with a run a newer one supersedes. */
export interface Superseded {
  id: number;
  newerId: number;
  action: 'SKIP' | 'TERMINATE';
}

/** The key runs of the same branch share: the branch, else "tag:<tag>", else "". */
export function refKeyOf(branch: string | null, tag: string | null): string {
  if (branch) return branch;
  return tag ? `tag:${tag}` : '';
}

/**
 * Buddy's queue options, applied to the active runs of each pipeline:
 * - `terminate_stale_runs`: the newest run of a branch terminates every older active run (waiting or
 *   running) of the same branch.
 * - `no_skip_to_most_recent` false (the default): of the runs waiting for a pipeline that runs one at a
 *   time, only the newest will run; the others end SKIPPED. With concurrent_pipeline_runs nothing
 *   waits for the pipeline, so nothing is skipped.
 * "Newest" is the last accepted (highest id). Pure, so the rules are unit-tested without a database.
 */
export function supersededRuns(
  active: readonly ActiveRun[],
  settings: ReadonlyMap<number, QueueSettings>,
): Superseded[] {
  const out: Superseded[] = [];
  const ended = new Set<number>();
  const byPipeline = new Map<number, ActiveRun[]>();
  for (const r of active) byPipeline.set(r.pipelineId, [...(byPipeline.get(r.pipelineId) ?? []), r]);
  for (const [pipelineId, runs] of byPipeline) {
    const s = settings.get(pipelineId);
    if (!s) continue;
    if (s.terminate_stale_runs) {
      const newestOfRef = new Map<string, number>();
      for (const r of runs) newestOfRef.set(r.refKey, Math.max(newestOfRef.get(r.refKey) ?? 0, r.id));
      for (const r of runs) {
        const newest = newestOfRef.get(r.refKey)!;
        if (r.id !== newest) {
          out.push({ id: r.id, newerId: newest, action: 'TERMINATE' });
          ended.add(r.id);
        }
      }
    }
    if (!s.no_skip_to_most_recent && !s.concurrent_pipeline_runs) {
      const waiting = runs.filter((r) => r.waiting && !ended.has(r.id));
      const newest = Math.max(...waiting.map((r) => r.id));
      for (const r of waiting) if (r.id !== newest) out.push({ id: r.id, newerId: newest, action: 'SKIP' });
    }
  }
  return out.sort((a, b) => a.id - b.id);
}
