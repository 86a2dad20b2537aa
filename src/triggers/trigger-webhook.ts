import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import type { PipelineSettings } from '../domain/pipeline.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import {
  deleteTriggerWebhook,
  getTriggerWebhook,
  saveTriggerWebhook,
  setTotpSecret,
} from '../store/trigger-webhooks.ts';

/** RFC 6238 with the parameters every authenticator app uses: SHA-1, 6 digits, 30 s steps. */
const PERIOD_SECONDS = 30;

/** Secrets of a pipeline's trigger webhook, shown once: in the response that created them. */
export interface ShownTriggerSecrets {
  secret?: string;
  totp_secret?: string;
  totp_uri?: string;
}

export function hashTriggerToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `token` is the secret whose hash is stored (constant time). */
export function triggerTokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashTriggerToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function totpFor(base32: string, label: string): TOTP {
  return new TOTP({
    issuer: 'Gantry',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_SECONDS,
    secret: Secret.fromBase32(base32),
  });
}

/** The time step of a valid `code` (the current step, or one either side for clock drift), or null. */
export function totpStep(base32: string, code: string, atMs = Date.now()): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const delta = totpFor(base32, 'x').validate({ token: code, timestamp: atMs, window: 1 });
  if (delta === null) return null;
  return Math.floor(atMs / 1000 / PERIOD_SECONDS) + delta;
}

/** The current code for a key (tests and the README example use it). */
export function totpCode(base32: string, atMs = Date.now()): string {
  return totpFor(base32, 'x').generate({ timestamp: atMs });
}

function webhookEvent(s: PipelineSettings): { totp: boolean } | null {
  return s.events.find((e) => e.type === 'WEBHOOK') ?? null;
}

/**
 * Keeps a pipeline's trigger webhook in step with its events after a save: a WEBHOOK event gets a
 * secret (and a TOTP key when `totp` is on), removing the event deletes them, switching `totp` on
 * adds a key and off removes it. Returns the secrets created by this save, to be shown once.
 */
export async function syncTriggerWebhook(
  db: Db,
  secrets: SecretBox,
  pipelineId: number,
  label: string,
  settings: PipelineSettings,
): Promise<ShownTriggerSecrets> {
  const event = webhookEvent(settings);
  const stored = await getTriggerWebhook(db, pipelineId);
  if (!event) {
    if (stored) await deleteTriggerWebhook(db, pipelineId);
    return {};
  }
  const shown: ShownTriggerSecrets = {};
  const newTotp = (): string => {
    const base32 = new Secret({ size: 20 }).base32;
    shown.totp_secret = base32;
    shown.totp_uri = totpFor(base32, label).toString();
    return secrets.seal(base32);
  };
  if (!stored) {
    shown.secret = randomBytes(24).toString('base64url');
    await saveTriggerWebhook(db, pipelineId, hashTriggerToken(shown.secret), event.totp ? newTotp() : null);
  } else if (event.totp && stored.totp_secret === null) {
    await setTotpSecret(db, pipelineId, newTotp());
  } else if (!event.totp && stored.totp_secret !== null) {
    await setTotpSecret(db, pipelineId, null);
  }
  return shown;
}

/** New secret (and TOTP key when the event has `totp`) for a pipeline's trigger webhook; the old ones stop working. */
export async function rotateTriggerWebhook(
  db: Db,
  secrets: SecretBox,
  pipelineId: number,
  label: string,
  settings: PipelineSettings,
): Promise<ShownTriggerSecrets | null> {
  const event = webhookEvent(settings);
  if (!event) return null;
  const secret = randomBytes(24).toString('base64url');
  let totp: string | null = null;
  const shown: ShownTriggerSecrets = { secret };
  if (event.totp) {
    const base32 = new Secret({ size: 20 }).base32;
    shown.totp_secret = base32;
    shown.totp_uri = totpFor(base32, label).toString();
    totp = secrets.seal(base32);
  }
  await saveTriggerWebhook(db, pipelineId, hashTriggerToken(secret), totp);
  return shown;
}
