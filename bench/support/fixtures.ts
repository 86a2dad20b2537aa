import { makeRepo, TEST_IMAGE } from '../../test/support/harness.ts';
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
 * Workspace "bench" and project "bench" on a one-commit local repository (custom_repo_url).
 * Returns the project's API path and `removeRepo`, which deletes the repository (call it when done).
 */
export async function createBenchProject(
  server: GantryServer,
): Promise<{ projectPath: string; removeRepo: () => void }> {
  const { dir } = makeRepo([{ message: 'Initial commit', files: { 'README.md': '# bench\n' } }]);
  const removeRepo = (): void => rmSync(dir, { recursive: true, force: true });
  const forget = onInterrupt(removeRepo);
  expectStatus(
    await server.request('POST', '/api/workspaces', { name: 'Bench', domain: 'bench' }),
    201,
    'create workspace',
  );
  expectStatus(
    await server.request('POST', '/api/workspaces/bench/projects', {
      display_name: 'bench',
      name: 'bench',
      custom_repo_url: dir,
    }),
    201,
    'create project',
  );
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
