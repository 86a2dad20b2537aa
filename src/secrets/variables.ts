import type { InlineVariable } from '../domain/pipeline.ts';
import type { SecretBox } from './cipher.ts';

const SHOWN_PREFIX = '!encrypted ';

/** How an encrypted value is shown by the API: never the clear text. */
export function shownSealed(sealed: string): string {
  return SHOWN_PREFIX + sealed.replace(/^v1:/, '');
}

/** A variable as the API presents it (encrypted values replaced by their sealed form). */
export function presentVariable(v: InlineVariable): Record<string, unknown> {
  return {
    key: v.key,
    value: v.encrypted ? shownSealed(v.value) : v.value,
    type: 'VAR',
    encrypted: v.encrypted,
    settable: v.settable ?? false,
    description: v.description ?? null,
  };
}

/**
 * Seals encrypted values of incoming variables for storage. A value sent back exactly as the API
 * showed it ("!encrypted ...") keeps the stored secret instead of encrypting the placeholder.
 */
export function sealVariables(
  box: SecretBox,
  incoming: readonly {
    key: string;
    value: string;
    encrypted?: boolean;
    settable?: boolean;
    description?: string | null;
  }[],
  previous: readonly InlineVariable[] = [],
): InlineVariable[] | string {
  const keys = new Set<string>();
  const out: InlineVariable[] = [];
  for (const v of incoming) {
    if (keys.has(v.key)) return `variable "${v.key}" is given twice`;
    keys.add(v.key);
    const encrypted = v.encrypted ?? false;
    let value = v.value;
    if (encrypted) {
      const kept = previous.find((p) => p.key === v.key && p.encrypted && shownSealed(p.value) === v.value);
      if (kept) value = kept.value;
      else if (v.value.startsWith(SHOWN_PREFIX))
        return `variable "${v.key}": an "!encrypted" value can only be sent back unchanged`;
      else value = box.seal(v.value);
    }
    out.push({
      key: v.key,
      value,
      encrypted,
      settable: v.settable ?? false,
      description: v.description ?? null,
    });
  }
  return out;
}

/** Clear values of stored variables, for the engine only. */
export function openVariables(box: SecretBox, vars: readonly InlineVariable[]): InlineVariable[] {
  return vars.map((v) => (v.encrypted ? { ...v, value: box.open(v.value) } : v));
}
