/**
 * One action execution's log: ANSI colours (ansi_up, HTML-escaped, colours as classes so the
 * Content-Security-Policy needs no inline styles), numbered lines that link to themselves, search,
 * download of the raw text. A running action's log follows its event stream; a finished one is read
 * in pages. One pane, one list of lines: nothing is shown twice.
 */
import { AnsiUp } from 'ansi_up';
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, openStream } from './api.ts';
import { num } from './format.ts';
import type { LogPage } from './types.ts';

const PAGE = 1000;
/** Lines kept in the page; longer logs are downloaded. */
const CAP = 20_000;

const ansi = new AnsiUp();
ansi.use_classes = true;
ansi.escape_html = true;

/** What a terminal would show of a line rewritten with carriage returns (progress bars). */
export function visibleText(line: string): string {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
  const i = trimmed.lastIndexOf('\r');
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

export function LogViewer(props: {
  /** API path of the action execution. */
  aePath: string;
  /** Still running: follow the live stream. */
  live: boolean;
  /** Link of line n (the page's address with the line in it). */
  lineHref: (n: number) => string;
  /** Line to scroll to and mark, 1-based. */
  focusLine?: number | null;
  fileName: string;
}): JSX.Element {
  const [lines, setLines] = useState<string[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [state, setState] = useState<'loading' | 'live' | 'done' | 'error'>('loading');
  const [error, setError] = useState('');
  const [query, setQuery] = useState('');
  const buffer = useRef<string[]>([]);

  useEffect(() => {
    buffer.current = [];
    setLines([]);
    if (props.live) {
      setState('live');
      let flush: ReturnType<typeof setTimeout> | null = null;
      const close = openStream(`${props.aePath}/logs/stream`, {
        on: {
          log: (data, id) => {
            const n = Number(id);
            // Resumed streams never repeat a line: the event id is its index.
            if (Number.isInteger(n) && n < buffer.current.length) return;
            if (buffer.current.length < CAP) buffer.current.push(data);
            flush ??= setTimeout(() => {
              flush = null;
              setLines(buffer.current.slice());
            }, 100);
          },
        },
        onEnd: () => {
          setLines(buffer.current.slice());
          setState('done');
        },
      });
      return () => {
        close();
        if (flush) clearTimeout(flush);
      };
    }
    let cancelled = false;
    (async () => {
      for (let offset = 0; offset < CAP; offset += PAGE) {
        const page = await api<LogPage>('GET', `${props.aePath}/logs?offset=${offset}&limit=${PAGE}`);
        if (cancelled) return;
        buffer.current.push(...page.logs);
        setTotal(page.total_element_count);
        setLines(buffer.current.slice());
        if (page.logs.length < PAGE) break;
      }
      setState('done');
    })().catch((e: unknown) => {
      if (cancelled) return;
      setError(e instanceof Error ? e.message : String(e));
      setState('error');
    });
    return () => {
      cancelled = true;
    };
  }, [props.aePath, props.live]);

  const focusRef = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    if (props.focusLine && focusRef.current) focusRef.current.scrollIntoView({ block: 'center' });
  }, [props.focusLine, lines.length > 0]);

  const needle = query.trim().toLowerCase();
  const shown = useMemo(() => {
    const all = lines.map((text, i) => ({ n: i + 1, text }));
    return needle ? all.filter((l) => visibleText(l.text).toLowerCase().includes(needle)) : all;
  }, [lines, needle]);

  const download = async (): Promise<void> => {
    const out: string[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await api<LogPage>('GET', `${props.aePath}/logs?offset=${offset}&limit=${PAGE}`);
      out.push(...page.logs);
      if (page.logs.length < PAGE) break;
    }
    const url = URL.createObjectURL(
      new Blob([out.join('\n') + (out.length ? '\n' : '')], { type: 'text/plain' }),
    );
    const a = document.createElement('a');
    a.href = url;
    a.download = props.fileName;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  const searchId = `${props.fileName}-search`;
  return (
    <div class="log">
      <div class="log-tools">
        <label for={searchId} class="visually-hidden">
          Search the log
        </label>
        <input
          id={searchId}
          type="search"
          placeholder="Search the log"
          value={query}
          onInput={(ev) => setQuery((ev.currentTarget as HTMLInputElement).value)}
        />
        <span class="muted small" role="status">
          {needle
            ? `${num(shown.length)} of ${num(lines.length)} lines match`
            : `${num(lines.length)}${total !== null && total > lines.length ? ` of ${num(total)}` : ''} lines`}
          {state === 'live' ? ' · live' : ''}
        </span>
        <button type="button" class="small" onClick={() => void download()}>
          Download raw log
        </button>
      </div>
      {state === 'error' && (
        <div class="alert error" role="alert">
          {error}
        </div>
      )}
      {lines.length >= CAP && (
        <p class="muted small">Showing the first {num(CAP)} lines; download the raw log for the rest.</p>
      )}
      <div class="log-lines" role="log" aria-label="Log" tabIndex={0}>
        {shown.length === 0 && (
          <div class="log-empty">
            {state === 'loading' ? 'Loading…' : needle ? 'No line matches.' : 'No output.'}
          </div>
        )}
        {shown.map((l) => (
          <div
            key={l.n}
            class={`ln${props.focusLine === l.n ? ' focus' : ''}`}
            ref={props.focusLine === l.n ? focusRef : undefined}
          >
            <a class="num" href={props.lineHref(l.n)} aria-label={`Line ${l.n}`}>
              {l.n}
            </a>
            <span class="txt" dangerouslySetInnerHTML={{ __html: ansi.ansi_to_html(visibleText(l.text)) }} />
          </div>
        ))}
      </div>
    </div>
  );
}
