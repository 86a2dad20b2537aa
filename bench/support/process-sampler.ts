import { readFileSync } from 'node:fs';

/** Resident set size of a process in bytes (VmRSS in /proc/<pid>/status), or null once it is gone. */
export function rssOf(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Samples a process's RSS every `intervalMs` (default 200 ms) until stopped, keeping the peak.
 * Reading /proc is a few microseconds, so sampling does not disturb what is measured.
 */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  peak = 0;
  first = 0;
  last = 0;
  samples = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 200,
  ) {}

  start(): this {
    this.sample();
    this.first = this.last;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  /** Stops sampling (after a last sample) and returns the peak in bytes. */
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.peak;
  }

  private sample(): void {
    const rss = rssOf(this.pid);
    if (rss === null) return;
    this.last = rss;
    this.samples += 1;
    if (rss > this.peak) this.peak = rss;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system) a process has used so far, in ms (10 ms resolution), or null once it is gone. */
export function cpuTimeOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return null;
  }
}

/**
 * CPU time of a process plus that of the children it has waited for (git subprocesses), in ms (10 ms
 * resolution), or null once it is gone.
 */
export function cpuTimeWithChildrenOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return (ticks * 1000) / USER_HZ;
  } catch {
    return null;
  }
}
