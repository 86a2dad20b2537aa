import { arch } from 'node:os';

/** What a runner offers: a remote worker's name and tags, or a server's local runner (name null, no tags). */
export interface RunnerTraits {
  name: string | null;
  tags: readonly string[];
  cpu: 'X64' | 'ARM';
}

/** The routing fields of a pipeline. */
export interface Route {
  worker: string;
  tags: readonly string[];
  cpu: 'X64' | 'ARM';
}

/** Buddy's name for this machine's CPU architecture. */
export function localCpu(): 'X64' | 'ARM' {
  return arch() === 'arm64' || arch() === 'arm' ? 'ARM' : 'X64';
}

/**
 * Whether a runner may take a pipeline's runs: `worker` names it, every pipeline tag is one of the
 * runner's, and the CPU matches. A pipeline naming a worker or tags runs on remote workers only.
 */
export function runnerMatches(route: Route, runner: RunnerTraits): boolean {
  if (route.cpu !== runner.cpu) return false;
  if (runner.name === null) return route.worker === '' && route.tags.length === 0;
  if (route.worker !== '' && route.worker !== runner.name) return false;
  return route.tags.every((t) => runner.tags.includes(t));
}

/** What a pipeline waits for, for the execution's wait_reason. */
export function describeRoute(route: Route): string {
  const parts: string[] = [];
  if (route.worker !== '') parts.push(`named "${route.worker}"`);
  if (route.tags.length > 0) parts.push(`with tags ${route.tags.join(', ')}`);
  parts.push(`on ${route.cpu}`);
  return `a worker ${parts.join(' ')}`;
}
