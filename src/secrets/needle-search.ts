/** Needles at least this long are searched together (see NeedleSearch); shorter ones one by one. */
const SKIP_MIN_LENGTH = 8;

/**
 * Whether any of many byte strings occurs in a buffer: the log writer's pre-check before masking, run
 * over every byte an action prints. A secret gives a few dozen forms (base64 at three alignments, URL
 * and JSON escapes), and the native substring search once per form made the pre-check the largest CPU
 * cost of a 100 MB log (measured 57-74 ms per 100 MB for two SSH keys' 31 forms, against 13 ms here).
 *
 * The long needles are searched in one pass that skips (Wu-Manber, with 2-byte blocks): a window as long
 * as the shortest of them slides over the input; the two bytes at its end say how far it may move without
 * passing the end of any needle's first window-length bytes, which for needles tens of bytes long is
 * nearly the whole window. Only where that distance is 0 are the needles ending in those two bytes
 * compared. Needles shorter than SKIP_MIN_LENGTH would allow only short moves and keep the native search.
 */
export class NeedleSearch {
  /** Length of the shortest long needle: the window. 0 when there are no long needles. */
  private readonly window: number;
  /**
   * How far the window may move, by the two bytes at its end (byte1 << 8 | byte2); 0: compare. Empty
   * when there are no long needles: a masker, and so this search, is made for every action.
   */
  private readonly shift: Uint8Array;
  /** The long needles whose first window-length bytes end in the two bytes (the key). */
  private readonly endingIn = new Map<number, Buffer[]>();
  private readonly short: Buffer[];

  constructor(needles: readonly Buffer[]) {
    const long = needles.filter((n) => n.length >= SKIP_MIN_LENGTH);
    this.short = needles.filter((n) => n.length < SKIP_MIN_LENGTH);
    const m = long.length === 0 ? 0 : Math.min(...long.map((n) => n.length));
    this.window = m;
    this.shift = new Uint8Array(m === 0 ? 0 : 65536);
    if (m === 0) return;
    // A smaller move is always safe; the table holds at most 255.
    this.shift.fill(Math.min(255, m - 1));
    for (const needle of long) {
      for (let j = 1; j < m; j += 1) {
        const key = (needle[j - 1]! << 8) | needle[j]!;
        this.shift[key] = Math.min(this.shift[key]!, m - 1 - j);
      }
      const key = (needle[m - 2]! << 8) | needle[m - 1]!;
      const list = this.endingIn.get(key);
      if (list) list.push(needle);
      else this.endingIn.set(key, [needle]);
    }
  }

  /** Whether any needle occurs in `haystack`. */
  foundIn(haystack: Buffer): boolean {
    return this.longFoundIn(haystack) || this.short.some((n) => haystack.includes(n));
  }

  private longFoundIn(haystack: Buffer): boolean {
    const m = this.window;
    if (m === 0) return false;
    const shift = this.shift;
    const n = haystack.length;
    // i: the last byte of the window.
    let i = m - 1;
    while (i < n) {
      const key = (haystack[i - 1]! << 8) | haystack[i]!;
      const move = shift[key]!;
      if (move !== 0) {
        i += move;
        continue;
      }
      const start = i - m + 1;
      for (const needle of this.endingIn.get(key)!) {
        const end = start + needle.length;
        if (end <= n && haystack.compare(needle, 0, needle.length, start, end) === 0) return true;
      }
      i += 1;
    }
    return false;
  }
}
