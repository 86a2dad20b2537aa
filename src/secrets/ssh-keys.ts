import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';

/** An SSH key pair as a variable of type SSH_KEY carries it. */
export interface SshKeyPair {
  /** OpenSSH private key (PEM-style armour), what `ssh -i` reads. */
  privateKey: string;
  /** `ssh-ed25519 AAAA... comment`: what a user adds as a deploy key. */
  publicKey: string;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/** An SSH mpint: big-endian, no superfluous leading zeros, a zero byte before a set high bit. */
function sshMpint(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const trimmed = bytes.subarray(start);
  return sshString((trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function sshFingerprint(publicBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`;
}

function armour(kind: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN ${kind}-----\n${lines.join('\n')}\n-----END ${kind}-----\n`;
}

/**
 * A new Ed25519 key pair in OpenSSH's own private-key format (OpenSSH does not read Ed25519 keys in
 * PKCS#8, the only PEM form Node writes). Generating Ed25519 costs microseconds, so every workspace
 * and project can have one without slowing their creation.
 */
export function generateSshKey(comment: string): SshKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let secret = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padding = Buffer.from(Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1));
  secret = Buffer.concat([secret, padding]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    Buffer.from([0, 0, 0, 1]),
    sshString(publicBlob),
    sshString(secret),
  ]);
  return {
    privateKey: armour('OPENSSH PRIVATE KEY', body),
    publicKey: `ssh-ed25519 ${publicBlob.toString('base64')} ${comment}`,
    fingerprint: sshFingerprint(publicBlob),
  };
}

/** The public half of an OpenSSH-format private key: it is stored in clear in the key's header. */
function openSshPublicBlob(text: string): Buffer | null {
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!match) return null;
  const body = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (body.subarray(0, magic.length).toString('latin1') !== magic) return null;
  let at = magic.length;
  const next = (): Buffer => {
    if (at + 4 > body.length) throw new Error('truncated');
    const len = body.readUInt32BE(at);
    const value = body.subarray(at + 4, at + 4 + len);
    if (value.length !== len) throw new Error('truncated');
    at += 4 + len;
    return value;
  };
  try {
    next(); // cipher
    next(); // kdf
    next(); // kdf options
    if (body.readUInt32BE(at) < 1) return null;
    at += 4;
    return next();
  } catch {
    return null;
  }
}

/** The OpenSSH public key blob of a PEM private key (RSA, ECDSA or Ed25519), or null. */
function pemPublicBlob(text: string): Buffer | null {
  let key;
  try {
    key = createPublicKey(text);
  } catch {
    return null;
  }
  const jwk = key.export({ format: 'jwk' });
  const b = (v: string | undefined): Buffer => Buffer.from(v ?? '', 'base64url');
  if (jwk.kty === 'RSA') return Buffer.concat([sshString('ssh-rsa'), sshMpint(b(jwk.e)), sshMpint(b(jwk.n))]);
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519')
    return Buffer.concat([sshString('ssh-ed25519'), sshString(b(jwk.x))]);
  if (jwk.kty === 'EC') {
    const curve = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' }[jwk.crv ?? ''];
    if (!curve) return null;
    const point = Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]);
    return Buffer.concat([sshString(`ecdsa-sha2-${curve}`), sshString(curve), sshString(point)]);
  }
  return null;
}

/**
 * The public key and fingerprint of an SSH private key (OpenSSH format, or PEM as `ssh-keygen -m PEM`
 * writes it), or null when `text` is no private key Gantry can read.
 */
export function describeSshKey(text: string): { publicKey: string; fingerprint: string } | null {
  const blob = openSshPublicBlob(text) ?? pemPublicBlob(text);
  if (!blob) return null;
  const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1');
  return { publicKey: `${type} ${blob.toString('base64')}`, fingerprint: sshFingerprint(blob) };
}

/** A checksum of a variable's value that changes with it and reveals nothing of it. */
export function valueChecksum(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
