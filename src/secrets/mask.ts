/** Line width `base64` tools wrap at by default, so a wrapped encoding is masked line by line too. */
const BASE64_WRAP = 76;

function base64Forms(value: string): string[] {
  const forms: string[] = [];
  for (const text of [value, value + '\n']) {
    const encoded = Buffer.from(text, 'utf8').toString('base64');
    forms.push(encoded, encoded.replace(/=+$/, ''));
    for (let i = 0; i + BASE64_WRAP < encoded.length; i += BASE64_WRAP)
      forms.push(encoded.slice(i, i + BASE64_WRAP));
  }
  return forms;
}

/**
 * Builds a line transform that replaces every secret by *** in log lines: the value itself, each
 * line of a multi-line value (logs are masked line by line, so a value spanning lines is caught
 * piecewise), and its base64 forms. Values arriving split across writes are caught because lines
 * are assembled before masking. One regular expression keeps it to a single pass per line.
 */
export interface LineMasker {
  (line: string): string;
  /** Cheap pre-check over a block of lines: false means no line in it needs masking. */
  anyIn(text: string): boolean;
  /** The same pre-check over UTF-8 bytes, so output that needs no masking is never decoded. */
  anyInBytes(bytes: Buffer): boolean;
}

export function secretMasker(secrets: readonly string[]): LineMasker {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    // Lines are masked one by one, so a multi-line value is caught through its lines.
    for (const part of secret.split(/\r?\n/)) if (part.trim() !== '') needles.add(part);
    for (const form of base64Forms(secret)) if (form.length >= 4) needles.add(form);
  }
  const sorted = [...needles].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(sorted.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const mask = ((line: string) => (sorted.length === 0 ? line : line.replace(pattern, '***'))) as LineMasker;
  // String.includes per needle over a whole chunk is far cheaper than a regex pass per line, and
  // most chunks hold no secret at all.
  // A needle that contains a shorter needle can only be present where the shorter one is.
  const minimal = sorted.filter((n) => !sorted.some((m) => m !== n && m.length < n.length && n.includes(m)));
  mask.anyIn = (text) => minimal.some((n) => text.includes(n));
  // Bytes contain a needle's UTF-8 encoding wherever their decoded text contains the needle (a
  // replacement character from invalid input is never part of a secret), so no secret is missed.
  const minimalBytes = minimal.map((n) => Buffer.from(n, 'utf8'));
  mask.anyInBytes = (bytes) => minimalBytes.some((n) => bytes.includes(n));
  return mask;
}
