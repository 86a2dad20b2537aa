import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import type { Logger } from 'pino';

/**
 * Makes `dir` (the pipelines directory) a `nosuid,nodev` mount of itself: Linux copies a mount's
 * per-mount flags to every bind mount made from it (clone_mnt copies mnt_flags), so the containers'
 * binds of a pipeline filesystem, and the volumes pinning volume mappings, are nosuid and nodev too,
 * which Docker 20.10 cannot ask for itself. A setuid file or device node an action leaves there has no
 * effect, on the host or in another action. Needs root on Linux (mount(8)); elsewhere, or when mount
 * fails, it logs why and the pipelines directory's mode 0700 is the protection. Returns the undo (an
 * unmount of what this call mounted), or null.
 */
export function mountNosuid(dir: string, logger: Pick<Logger, 'info' | 'warn'>): (() => void) | null {
  const fallback = (why: string): null => {
    logger.warn(
      { dir, why },
      'pipeline filesystems are not on a nosuid,nodev mount: only their 0700 parent keeps setuid files from other host users',
    );
    return null;
  };
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return fallback('needs root on Linux');
  mkdirSync(dir, { recursive: true });
  const real = realpathSync(dir);
  const existing = mountFlags(real);
  if (existing !== null && existing.includes('nosuid') && existing.includes('nodev')) return () => {};
  let mounted = false;
  try {
    if (existing === null) {
      execFileSync('mount', ['--bind', real, real], { stdio: 'pipe' });
      mounted = true;
    }
    execFileSync('mount', ['-o', 'remount,bind,nosuid,nodev', real], { stdio: 'pipe' });
  } catch (err) {
    if (mounted) unmount(real);
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return fallback(stderr || (err as Error).message);
  }
  logger.info({ dir: real }, 'pipeline filesystems are on a nosuid,nodev mount');
  return mounted ? () => unmount(real) : () => {};
}

function unmount(dir: string): void {
  try {
    // Lazy: a container still holding a bind of it keeps its own copy; the directory itself is freed.
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    // already gone
  }
}

/** The per-mount options of the mount whose mount point is exactly `dir`, or null when it is none. */
export function mountFlags(dir: string): string[] | null {
  const unescape = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  let found: string[] | null = null;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    // The last mount on a mount point is the one in effect.
    if (fields.length > 5 && unescape(fields[4]!) === dir) found = fields[5]!.split(',');
  }
  return found;
}
