import { git, makeRepo, TEST_IMAGE } from '../../test/support/harness.ts';
import { rmSync } from 'node:fs';
import { expectStatus, type GantryServer } from './gantry-server.ts';
import { onInterrupt } from './interrupt-cleanup.ts';

/** A RUN_DOCKER_CONTAINER action on the local busybox test image; `overrides` win. */
export function busyboxAction(
  name: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return { type: 'RUN_DOCKER_CONTAINER', name, ...TEST_IMAGE, inline_commands: 'true', ...overrides };
}

/**
 * Workspace "bench" and project "bench" on a one-commit repository: by default hosted by Gantry (pushed
 * over its git HTTP endpoint, the usual setup, where a run needs no git call to resolve its revision);
 * with `outside` (or BENCH_OUTSIDE_REPO=1), a local repository as custom_repo_url (every run request
 * asks it for its refs with one `git ls-remote`).
 * Returns the project's API path and `removeRepo`, which deletes the local repository (call it when done).
 */
export async function createBenchProject(
  server: GantryServer,
  options: { outside?: boolean } = {},
): Promise<{ projectPath: string; removeRepo: () => void }> {
  const outside = options.outside ?? process.env.BENCH_OUTSIDE_REPO === '1';
  const { dir } = makeRepo([{ message: 'Initial commit', files: { 'README.md': '# bench\n' } }]);
  const removeRepo = (): void => rmSync(dir, { recursive: true, force: true });
  const forget = onInterrupt(removeRepo);
  expectStatus(
    await server.request('POST', '/api/workspaces', { name: 'Bench', domain: 'bench' }),
    201,
    'create workspace',
  );
  const project = expectStatus(
    await server.request('POST', '/api/workspaces/bench/projects', {
      display_name: 'bench',
      name: 'bench',
      ...(outside ? { custom_repo_url: dir } : {}),
    }),
    201,
    'create project',
  );
  if (!outside) {
    const url = new URL(project.http_repository as string);
    url.username = 'bench';
    url.password = server.token;
    git(dir, 'push', '-q', url.toString(), 'HEAD:master');
  }
  return {
    projectPath: '/api/workspaces/bench/projects/bench',
    removeRepo: () => {
      removeRepo();
      forget();
    },
  };
}

/** A pipeline with `actions` in order; returns its API path, id and the created actions' ids. */
export async function createPipelineWithActions(
  server: GantryServer,
  projectPath: string,
  name: string,
  actions: Record<string, unknown>[],
): Promise<{ pipelinePath: string; pipelineId: number; actionIds: number[] }> {
  const p = expectStatus(
    await server.request('POST', `${projectPath}/pipelines`, { name }),
    201,
    `create pipeline ${name}`,
  );
  const pipelinePath = `${projectPath}/pipelines/${p.id}`;
  const actionIds: number[] = [];
  for (const a of actions) {
    actionIds.push(
      expectStatus(
        await server.request('POST', `${pipelinePath}/actions`, a),
        201,
        `create action ${String(a.name)}`,
      ).id,
    );
  }
  return { pipelinePath, pipelineId: p.id, actionIds };
}
