import { substitute } from '../domain/variables.ts';
import type { RegistryAuth } from '../runtime/container-runtime.ts';

/** The registry host of an image reference, or `registry` when given ("https://" and slashes trimmed). */
export function registryOf(image: string, registry: string | null): string {
  if (registry) return registry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/** A registry credential problem the action reports as its failure. */
export class RegistryAuthError extends Error {}

export interface RegistryFields {
  login: string | null;
  registry: string | null;
  integration: { identifier: string } | null;
}

/**
 * Credentials for talking to the registry of `imageRef`: the action's integration, else its
 * login + password, else none (anonymous).
 */
export async function registryAuthFor(
  fields: RegistryFields,
  password: string | undefined,
  imageRef: string,
  variables: ReadonlyMap<string, string>,
  resolveIntegration: (identifier: string) => Promise<RegistryAuth | null>,
): Promise<RegistryAuth | undefined> {
  if (fields.integration !== null) {
    const auth = await resolveIntegration(fields.integration.identifier);
    if (!auth) throw new RegistryAuthError(`integration "${fields.integration.identifier}" not found`);
    return auth;
  }
  if (!fields.login) return undefined;
  return {
    username: substitute(fields.login, variables),
    password: password ?? '',
    serveraddress: registryOf(imageRef, fields.registry ? substitute(fields.registry, variables) : null),
  };
}

/** "registry/repository:tag", the registry part only when given and not already in the repository. */
export function qualifiedRef(registry: string | null, repository: string, tag: string): string {
  const host = registry ? registry.replace(/^https?:\/\//, '').replace(/\/+$/, '') : null;
  const name = host && !repository.startsWith(host + '/') ? `${host}/${repository}` : repository;
  return `${name}:${tag}`;
}
