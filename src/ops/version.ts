import { readFileSync } from 'node:fs';

/**
 * Gantry's version, read once from package.json (two levels up from this file both in src/ and in a
 * compiled build's mirror of it), so a release only ever changes it in one place.
 */
export const GANTRY_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The value of the `Server` header of every response. */
export const SERVER_HEADER = `Gantry/${GANTRY_VERSION}`;
