/** Integration types Gantry can use: registries that take a username and a password. */
export const SUPPORTED_INTEGRATION_TYPES = ['DOCKER_HUB', 'DOCKER_REGISTRY'] as const;
export type IntegrationType = (typeof SUPPORTED_INTEGRATION_TYPES)[number];

/**
 * Buddy's other integration types. Each needs a provider's own API (token exchange, OAuth, cloud
 * SDKs) that Gantry does not speak yet, so they are refused with "not supported yet" rather than
 * stored and failing later.
 */
export const UNSUPPORTED_INTEGRATION_TYPES = [
  'AMAZON',
  'AMAZON_ECR',
  'AZURE',
  'AZURE_CLOUD',
  'AZURE_DEVOPS',
  'BITBUCKET',
  'CLOUDFLARE',
  'DATADOG',
  'DIGITAL_OCEAN',
  'DO_SPACES',
  'FIREBASE',
  'GHOST_INSPECTOR',
  'GIT_HUB',
  'GIT_LAB',
  'GOOGLE_GCR',
  'GOOGLE_SERVICE_ACCOUNT',
  'HEROKU',
  'HONEYBADGER',
  'KUBERNETES',
  'LOGGLY',
  'NEW_RELIC',
  'PUSHOVER',
  'RACKSPACE',
  'ROLLBAR',
  'SENTRY',
  'SENTRY_ENTERPRISE',
  'SHOPIFY',
  'SLACK',
  'STACK_HAWK',
  'UPCLOUD',
  'VULTR',
] as const;

export function isSupportedIntegrationType(type: string): type is IntegrationType {
  return (SUPPORTED_INTEGRATION_TYPES as readonly string[]).includes(type);
}

/** Docker Hub's address in registry credentials. */
export const DOCKER_HUB_REGISTRY = 'docker.io';

/** The registry an integration authenticates against. */
export function integrationRegistry(type: IntegrationType, host: string | null): string {
  return type === 'DOCKER_HUB' ? DOCKER_HUB_REGISTRY : (host ?? '');
}

/**
 * A registry address as `host[:port]`: a scheme and trailing slashes are dropped; null when it is
 * not one (a path, spaces, an empty host).
 */
export function normalizeRegistryHost(value: string): string | null {
  const bare = value
    .trim()
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  return /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/.test(bare) ? bare : null;
}

/** Docker Hub answers under several names; they are one registry. */
export function sameRegistry(a: string, b: string): boolean {
  const hub = (r: string): string =>
    ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(r) ? DOCKER_HUB_REGISTRY : r;
  return hub(a.toLowerCase()) === hub(b.toLowerCase());
}
