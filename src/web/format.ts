/** Formatting helpers shared by the views: dates, durations, counts. */
const pad = (n: number): string => String(n).padStart(2, '0');

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.floor(s / 86400)} d ago`;
  return fmtDate(iso).slice(0, 10);
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms) || ms < 0) return '';
  const s = Math.floor(ms / 1000);
  if (s < 1) return `${(ms / 1000).toFixed(1)}s`;
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

export function durationOf(start: string | null | undefined, finish: string | null | undefined): string {
  if (!start) return '';
  const b = finish ? Date.parse(finish) : Date.now();
  return fmtDuration(b - Date.parse(start));
}

export const shortSha = (sha: string | null | undefined): string => (sha ? sha.slice(0, 8) : '');
export const firstLine = (s: string | null | undefined): string => (s ? (s.split('\n')[0] ?? '') : '');
export const num = (n: number | null | undefined): string => Number(n ?? 0).toLocaleString('en-US');
