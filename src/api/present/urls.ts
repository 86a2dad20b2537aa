/** Builds every `url` (API address) and `html_url` (web UI page) from the configured base URL. */
export class Urls {
  constructor(readonly base: string) {}

  api(path: string): string {
    return `${this.base}/api${path}`;
  }

  html(path: string): string {
    return `${this.base}/#${path}`;
  }

  workspace(ws: string): string {
    return `/workspaces/${encodeURIComponent(ws)}`;
  }

  project(ws: string, project: string): string {
    return `${this.workspace(ws)}/projects/${encodeURIComponent(project)}`;
  }

  pipeline(ws: string, project: string, pipelineId: number): string {
    return `${this.project(ws, project)}/pipelines/${pipelineId}`;
  }

  action(ws: string, project: string, pipelineId: number, actionId: number): string {
    return `${this.pipeline(ws, project, pipelineId)}/actions/${actionId}`;
  }

  execution(ws: string, project: string, pipelineId: number, executionId: number): string {
    return `${this.pipeline(ws, project, pipelineId)}/executions/${executionId}`;
  }

  gitRepository(ws: string, project: string): string {
    return `${this.base}/git/${encodeURIComponent(ws)}/${encodeURIComponent(project)}.git`;
  }

  /** The web UI page where an invited user sets a password with a one-time `token`. */
  passwordLink(token: string): string {
    return `${this.base}/#/set-password?token=${encodeURIComponent(token)}`;
  }

  /** `url` and `html_url` of an object at `path`. */
  pair(path: string): { url: string; html_url: string } {
    return { url: this.api(path), html_url: this.html(path) };
  }
}
