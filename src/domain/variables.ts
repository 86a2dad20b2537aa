/**
 * Replaces `$NAME` with the variable's value by Buddy's rule: the name runs while characters are
 * letters, digits or `_`, so `release-$BUDDY_EXECUTION_ID-staging` works. Undefined names stay as written.
 */
export function substitute(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => values.get(name) ?? whole);
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
export function mergeVariableLevels(levels: readonly (readonly ScopedVariable[])[]): Map<string, ScopedVariable> {
  const merged = new Map<string, ScopedVariable>();
  for (const level of levels) for (const v of level) merged.set(v.key, v);
  return merged;
}
