import { sameRegistry } from '../domain/integrations.ts';
import { substitute } from '../domain/variables.ts';
import type { RegistryAuth } from '../runtime/container-runtime.ts';

/** The registry host of an image reference, or `registry` when given ("https://" and slashes trimmed). */
export function registryOf(image: string, registry: string | null): string {
  if (registry) return registry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'docker.io';
}

/** A registry credential problem the action reports as its failure. */
export class RegistryAuthError extends Error {}

export interface RegistryFields {
  login: string | null;
  registry: string | null;
  integration: { identifier: string } | null;
}

/**
 * Credentials for talking to the registry of `imageRef` ('' when unknown, as for a build's base images): the action's integration, else its
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
    const identifier = fields.integration.identifier;
    const auth = await resolveIntegration(identifier);
    if (!auth) throw new RegistryAuthError(`integration "${identifier}" not found`);
    // Credentials go only to the registry they belong to: sending them elsewhere would leak them.
    const imageRegistry =
      imageRef === ''
        ? null
        : registryOf(imageRef, fields.registry ? substitute(fields.registry, variables) : null);
    if (imageRegistry !== null && !sameRegistry(imageRegistry, auth.serveraddress)) {
      throw new RegistryAuthError(
        `integration "${identifier}" holds credentials for ${auth.serveraddress}, but image ${imageRef} comes from ${imageRegistry}; set "registry" or name the image with its registry`,
      );
    }
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
