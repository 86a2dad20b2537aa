/**
 * A node:test reporter for scripts/run-tests.ts: writes, when the tests end, one line of JSON with the
 * counts and every failing test (file, line, enclosing suites, first lines of the error), which the
 * runner gathers into its summary. Beside it, the spec reporter prints the tests as they run.
 *
 *   node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout \
 *     --test-reporter=./test/support/summary-reporter.mjs --test-reporter-destination=FILE.json FILE.test.ts
 *
 * (Plain JavaScript: node loads reporters before tsx's --import hook is in place.)
 */
import path from 'node:path';

/** @param {string | undefined} file */
const relative = (file) =>
  file === undefined ? '(unknown file)' : path.relative(process.cwd(), file) || file;

/** @param {unknown} error @returns {string} */
function messageOf(error) {
  if (!(error instanceof Error)) return String(error);
  // A failing test's error is wrapped ("test failed"); its cause holds the assertion or thrown error.
  const cause = /** @type {{ cause?: unknown }} */ (error).cause;
  const inner = cause instanceof Error ? cause : error;
  const first = (inner.message ?? String(inner)).split('\n').slice(0, 6).join('\n');
  return cause !== undefined && !(cause instanceof Error) ? `${first}: ${String(cause)}` : first;
}

/**
 * The line in `file` where the error was raised, from its (source-mapped) stack: the test's own reported
 * line is that of the transpiled code.
 * @param {string | undefined} file @param {unknown} error @returns {number | undefined}
 */
function lineIn(file, error) {
  if (file === undefined) return undefined;
  const cause = /** @type {{ cause?: unknown }} */ (error)?.cause;
  for (const e of [cause, error]) {
    const stack = e instanceof Error ? (e.stack ?? '') : '';
    const at = stack.indexOf(`${file}:`);
    if (at >= 0) return Number(/^:(\d+)/.exec(stack.slice(at + file.length))?.[1]) || undefined;
  }
  return undefined;
}

/** @param {AsyncIterable<{ type: string, data?: any }>} source */
export default async function* summaryReporter(source) {
  /** @type {{ file: string, line?: number, names: string[], message: string }[]} */
  const failures = [];
  // The enclosing suites of the test being reported, per file, to name a failing test in full.
  const open = new Map();
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    const data = event.data;
    if (!data) continue;
    const file = relative(data.file);
    const isFile = data.nesting === 0 && data.file !== undefined && data.name === data.file;
    if (event.type === 'test:start' && !isFile) {
      const stack = open.get(file) ?? [];
      stack.length = data.nesting ?? 0;
      stack.push(data.name ?? '');
      open.set(file, stack);
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (isFile) {
      // A file whose process failed outside any test (a crash, a syntax error) fails as a whole.
      if (event.type === 'test:fail' && !failures.some((f) => f.file === file)) {
        failed += 1;
        failures.push({
          file,
          names: ['(the file as a whole: it crashed, exited early or failed to load; see its output above)'],
          message: messageOf(data.details?.error),
        });
      }
      continue;
    }
    if (data.details?.type === 'suite' && event.type === 'test:pass') continue;
    const stack = open.get(file) ?? [];
    const names = [...stack.slice(0, data.nesting ?? 0), data.name ?? ''];
    if (data.skip !== undefined && data.skip !== false) skipped += 1;
    else if (event.type === 'test:pass') passed += 1;
    else {
      const error = data.details?.error;
      // A suite fails when a test in it fails: count and name the test only.
      if (error?.failureType === 'subtestsFailed') continue;
      failed += 1;
      failures.push({ file, line: lineIn(data.file, error), names, message: messageOf(error) });
    }
  }
  yield `${JSON.stringify({ passed, failed, skipped, failures })}\n`;
}
