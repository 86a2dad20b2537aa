/**
 * Replaces `$NAME` with the variable's value by Buddy's rule: the name runs while characters are
 * letters, digits or `_`, so `release-$BUDDY_EXECUTION_ID-staging` works. Undefined names stay as written.
 */
export function substitute(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => values.get(name) ?? whole);
}

/** The names `text` refers to as `$NAME` (what substitute would replace). */
export function referencedNames(text: string): string[] {
  return [...text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

export interface ScopedVariable {
  key: string;
  value: string;
  encrypted: boolean;
}

/**
 * Merges variable levels, lowest precedence first (workspace, project, environment, pipeline, action,
 * execution): a later level's key replaces an earlier one's.
 */
export function mergeVariableLevels(
  levels: readonly (readonly ScopedVariable[])[],
): Map<string, ScopedVariable> {
  const merged = new Map<string, ScopedVariable>();
  for (const level of levels) for (const v of level) merged.set(v.key, v);
  return merged;
}

const OUTPUT_LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/**
 * Parses the outputs file an action's commands may append to: one `KEY=value` per line (an optional
 * `export ` prefix and surrounding quotes are accepted); other lines are ignored; the last write wins.
 */
export function parseOutputs(text: string): Map<string, string> {
  const outputs = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const match = OUTPUT_LINE.exec(raw.trim());
    if (!match) continue;
    let value = match[2]!;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]))
      value = value.slice(1, -1);
    outputs.set(match[1]!, value);
  }
  return outputs;
}
