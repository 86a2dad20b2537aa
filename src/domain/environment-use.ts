/**
 * Whether an environment lets a pipeline run in it (buddy-api-clients.md §C.8): an `allowed_pipelines`
 * entry naming the pipeline's project and the pipeline (by name or identifier) decides; otherwise the
 * environment's `pipelines_access_level`. Only USE_ONLY lets a run in; DENIED or anything else keeps it out.
 */
export function environmentAllowsPipeline(
  settings: {
    pipelines_access_level: string;
    allowed_pipelines: readonly { project: string; pipeline: string; access_level: string }[];
  },
  projectName: string,
  pipeline: { name: string; identifier: string },
): boolean {
  const own = settings.allowed_pipelines.find(
    (p) => p.project === projectName && (p.pipeline === pipeline.name || p.pipeline === pipeline.identifier),
  );
  return (own?.access_level ?? settings.pipelines_access_level) === 'USE_ONLY';
}
