import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PREFIX = 'v1:';

export class SecretKeyError extends Error {}

/**
 * Seals and opens secrets at rest with AES-256-GCM, so a tampered or foreign value fails loudly
 * instead of decrypting to garbage. Sealed text is "v1:" + base64(iv | tag | ciphertext).
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new SecretKeyError('secret key must be 32 bytes');
    this.#key = key;
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new SecretKeyError('value is not sealed by Gantry');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError(
        'cannot decrypt a stored secret: the secret key is not the one it was sealed with',
      );
    }
  }
}

/**
 * Loads the key from `file`, creating it (mode 0600) when `create` is true and it does not exist.
 * A missing key when secrets already exist is reported by the caller, which knows whether any do.
 */
export function loadSecretKey(file: string, create: boolean): Buffer {
  if (!existsSync(file)) {
    if (!create)
      throw new SecretKeyError(
        `secret key file ${file} is missing: stored secrets cannot be read without it`,
      );
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32)
    throw new SecretKeyError(`secret key file ${file} does not hold a 32-byte base64 key`);
  return key;
}
