/** Integration types Gantry can use: registries that take a username and a password. */
export const SUPPORTED_INTEGRATION_TYPES = ['DOCKER_HUB', 'DOCKER_REGISTRY'] as const;
export type IntegrationType = (typeof SUPPORTED_INTEGRATION_TYPES)[number];

/**
 * Buddy's other integration types (every type its Go SDK knows, and more of its API). They are stored
 * with their credentials sealed, so a Buddy client can manage them; an action that tries to use one
 * fails saying Gantry cannot use that type yet, since each needs a provider's own API (token exchange,
 * OAuth, cloud SDKs).
 */
export const STORED_ONLY_INTEGRATION_TYPES = [
  'AMAZON',
  'AMAZON_ECR',
  'AZURE',
  'AZURE_CLOUD',
  'AZURE_DEVOPS',
  'BITBUCKET',
  'CLOUDFLARE',
  'DATADOG',
  'DIGITAL_OCEAN',
  'DOCKER_HUB_TOKEN',
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

export const KNOWN_INTEGRATION_TYPES: readonly string[] = [
  ...SUPPORTED_INTEGRATION_TYPES,
  ...STORED_ONLY_INTEGRATION_TYPES,
];

/** Credential fields: sealed at rest and never shown. */
export const SECRET_INTEGRATION_FIELDS = [
  'token',
  'access_key',
  'secret_key',
  'api_key',
  'partner_token',
  'config',
] as const;

/** Fields describing how to reach the provider: stored and shown. */
export const PLAIN_INTEGRATION_FIELDS = [
  'shop',
  'audience',
  'app_id',
  'tenant_id',
  'email',
  'google_project',
  'region',
] as const;

export const INTEGRATION_AUTH_TYPES = ['DEFAULT', 'TOKEN', 'TOKEN_APP_EXTENSION', 'TRUSTED', 'OIDC'] as const;

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
