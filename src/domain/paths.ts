import path from 'node:path';

/**
 * Resolves `userPath` (absolute or relative, read from the pipeline filesystem root) to a path under
 * `root`, or returns null when it would leave it. Purely lexical: symlinks are resolved by the caller
 * that touches the disk (see engine/pipeline-filesystem.ts).
 */
export function confinePath(root: string, userPath: string): string | null {
  if (userPath.includes('\0')) return null;
  const rel = path.posix.normalize('/' + userPath.replace(/\\/g, '/'));
  const candidate = path.join(root, rel);
  const relative = path.relative(root, candidate);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return null;
  return relative === '' ? root : candidate;
}

/** True when `userPath`, read inside a filesystem root, stays in it ("../x" and "/a/../../b" do not). */
export function staysInside(userPath: string): boolean {
  if (userPath.includes('\0')) return false;
  const parts = userPath.replace(/\\/g, '/').split('/');
  let depth = 0;
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      depth -= 1;
      if (depth < 0) return false;
    } else depth += 1;
  }
  return true;
}

export interface VolumeMapping {
  source: string;
  target: string;
}

/**
 * Why `p` cannot be where a directory is mounted in a container, or null: it must be absolute, name
 * something below `/` (mounting over the root replaces the image), hold no `.` or `..` component (the
 * engine would resolve them inside the container), and no `:` or `,` (they separate mount options).
 * `$NAME` parts are allowed; the substituted path is checked again before the container is made.
 */
export function containerMountPathProblem(p: string, what: string): string | null {
  if (!p.startsWith('/') && !p.startsWith('$')) return `${what} "${p}" must be an absolute container path`;
  if (/[:,]/.test(p)) return `${what} "${p}" may not contain ":" or ","`;
  const parts = p.split('/').filter((c) => c !== '');
  if (parts.some((c) => c === '.' || c === '..'))
    return `${what} "${p}" may not contain "." or ".." components`;
  if (parts.length === 0) return `${what} "${p}" would replace the container's root directory`;
  return null;
}

/**
 * Parses a Buddy volume mapping "<path in the pipeline filesystem>:<path in the container>".
 * Returns an error message when it is malformed or its left side would leave the filesystem.
 */
export function parseVolumeMapping(entry: string): VolumeMapping | string {
  const idx = entry.indexOf(':');
  if (idx < 0) return `volume mapping "${entry}" must be "<filesystem path>:<container path>"`;
  const source = entry.slice(0, idx);
  const target = entry.slice(idx + 1);
  if (source === '' || target === '')
    return `volume mapping "${entry}" must be "<filesystem path>:<container path>"`;
  if (target.includes(':')) return `volume mapping "${entry}" has more than one ":"`;
  if (!target.startsWith('/') && !target.startsWith('$'))
    return `volume mapping "${entry}": the container path must be absolute`;
  const targetProblem = containerMountPathProblem(target, `volume mapping "${entry}": container path`);
  if (targetProblem !== null) return targetProblem;
  if (!staysInside(source)) return `volume mapping "${entry}" leaves the pipeline filesystem`;
  return { source, target };
}
