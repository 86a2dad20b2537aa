import { ByteMatcher } from './byte-matcher.ts';
import { NeedleSearch } from './needle-search.ts';

/** Line width `base64` tools wrap at by default, so a wrapped encoding is masked line by line too. */
const BASE64_WRAP = 76;
/** Shorter encoded forms would mask ordinary words; a secret that short is masked only as itself. */
const MIN_FORM = 4;

/**
 * The base64 characters that depend only on `bytes` wherever they sit in a longer input: `bytes`
 * encoded after 0, 1 and 2 other bytes, without the characters the neighbours share. This is how a
 * secret inside `user:secret` or a docker config.json is caught once encoded (the approach of
 * GitHub Actions' runner).
 */
export function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let align = 0; align < 3; align += 1) {
    const total = align + bytes.length;
    const encoded = Buffer.concat([Buffer.alloc(align), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    // Characters 0..1 (align 1) or 0..2 (align 2) hold bits of the bytes before; the last one holds
    // bits of the byte after unless the input ends on a 3-byte group.
    const core = encoded.slice([0, 2, 3][align], total % 3 === 0 ? undefined : -1);
    cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return cores;
}

function base64Forms(value: string): string[] {
  const forms = base64Cores(Buffer.from(value, 'utf8'));
  for (const text of [value, value + '\n']) {
    const encoded = Buffer.from(text, 'utf8').toString('base64');
    forms.push(encoded, encoded.replace(/=+$/, ''));
    for (let i = 0; i + BASE64_WRAP < encoded.length; i += BASE64_WRAP)
      forms.push(encoded.slice(i, i + BASE64_WRAP));
  }
  return forms;
}

/** The value as a URL or form field carries it (upper- and lower-case hex, space as %20 or +, every byte escaped). */
function urlForms(value: string): string[] {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    return []; // a lone surrogate: no URL carries it
  }
  const lower = encoded.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
  // Every byte escaped, as some encoders (and `od | sed` one-liners) write it.
  const everyByte = [...Buffer.from(value, 'utf8')]
    .map((b) => `%${b.toString(16).padStart(2, '0')}`)
    .join('');
  return [
    encoded,
    lower,
    encoded.replace(/%20/g, '+'),
    lower.replace(/%20/g, '+'),
    everyByte,
    everyByte.toUpperCase(),
  ];
}

/** The value inside a JSON string: as JSON.stringify writes it, with `\/`, and with non-ASCII as \uXXXX. */
function jsonForms(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  const ascii = escaped.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return [escaped, escaped.replace(/\//g, '\\/'), ascii, ascii.replace(/\//g, '\\/')];
}

/**
 * Every string whose appearance in a log line means a secret is shown: the value, each line of a
 * multi-line value (logs are masked line by line), its base64 forms at every alignment, and its URL-
 * and JSON-escaped forms.
 */
export function secretForms(secrets: readonly string[]): string[] {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    for (const part of secret.split(/\r?\n/)) if (part.trim() !== '') needles.add(part);
    for (const form of [...base64Forms(secret), ...urlForms(secret), ...jsonForms(secret)])
      if (form.length >= MIN_FORM && !form.includes('\n')) needles.add(form);
  }
  return [...needles];
}

/**
 * A line transform that replaces every secret form by *** (overlapping secrets are masked as one
 * span), with the pre-checks the log writer uses to leave blocks that need no masking untouched.
 */
export interface LineMasker {
  (line: string): string;
  /** Cheap pre-check over a block of lines: false means no line in it needs masking. */
  anyIn(text: string): boolean;
  /** The same pre-check over UTF-8 bytes, so output that needs no masking is never decoded. */
  anyInBytes(bytes: Buffer): boolean;
  /** Every masked span in `bytes`, merged, as [start, end) byte offsets. */
  ranges(bytes: Buffer): [number, number][];
  /** Bytes in the longest form (0 when there is nothing to mask): how far a secret cut in two can reach. */
  reach: number;
}

export function secretMasker(secrets: readonly string[]): LineMasker {
  const forms = secretForms(secrets);
  const bytes = forms.map((f) => Buffer.from(f, 'utf8'));
  // Built on first use: most logs never hold a secret, and the table costs milliseconds per action.
  let matcher: ByteMatcher | null = null;
  const ranges = (input: Buffer): [number, number][] => (matcher ??= new ByteMatcher(bytes)).ranges(input);
  const mask = ((line: string): string => {
    if (forms.length === 0) return line;
    const input = Buffer.from(line, 'utf8');
    const found = ranges(input);
    if (found.length === 0) return line;
    const parts: Buffer[] = [];
    let at = 0;
    for (const [start, end] of found) {
      parts.push(input.subarray(at, start), STARS);
      at = end;
    }
    parts.push(input.subarray(at));
    return Buffer.concat(parts).toString('utf8');
  }) as LineMasker;
  // A form that contains a shorter form can only be present where the shorter one is.
  const minimal = bytes.filter((n) => !bytes.some((m) => m.length < n.length && n.includes(m)));
  // One skipping pass over the input for all forms (NeedleSearch), built on first use: the automaton's
  // per-byte loop and a native search per form were both slower on the hot path.
  let search: NeedleSearch | null = null;
  mask.anyInBytes = (input) => (search ??= new NeedleSearch(minimal)).foundIn(input);
  mask.anyIn = (text) => mask.anyInBytes(Buffer.from(text, 'utf8'));
  mask.ranges = ranges;
  mask.reach = Math.max(0, ...bytes.map((b) => b.length));
  return mask;
}

const STARS = Buffer.from('***');
