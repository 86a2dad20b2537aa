/** Shared building blocks: page frame, badges, forms with per-field API errors, copy buttons, data loading. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import { fmtAgo, fmtDate } from './format.ts';
import { statusInfo } from './status.ts';

export type Crumb = [label: string, href?: string];

/** A page: breadcrumb (the last item is the current page, aria-current), title, body. */
export function Page(props: {
  crumbs: Crumb[];
  title: string;
  sub?: ComponentChildren;
  badge?: ComponentChildren;
  actions?: ComponentChildren;
  children?: ComponentChildren;
}): JSX.Element {
  useEffect(() => {
    document.title = `${props.title} · Gantry`;
  }, [props.title]);
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <ol>
          {props.crumbs.map(([label, to], i) => (
            <li key={i}>
              {i === props.crumbs.length - 1 || !to ? (
                <span aria-current="page">{label}</span>
              ) : (
                <a href={to}>{label}</a>
              )}
            </li>
          ))}
        </ol>
      </nav>
      <div class="page-head">
        <div class="title">
          <h1>{props.title}</h1>
          {props.badge}
        </div>
        {props.actions && <div class="actions-row">{props.actions}</div>}
      </div>
      {props.sub && <div class="sub">{props.sub}</div>}
      {props.children}
    </>
  );
}

/** The page while its data loads, or when loading failed; null once there is data. */
export function Pending(props: {
  crumbs: Crumb[];
  title: string;
  error: unknown;
  loaded: boolean;
}): JSX.Element | null {
  if (props.error)
    return (
      <Page crumbs={props.crumbs} title={props.title}>
        <ErrorBox error={props.error} />
      </Page>
    );
  if (!props.loaded)
    return (
      <Page crumbs={props.crumbs} title={props.title}>
        <Loading />
      </Page>
    );
  return null;
}

export function Badge(props: { status: string | null | undefined; large?: boolean }): JSX.Element {
  const info = statusInfo(props.status);
  return (
    <span class={`badge s-${info.tone}${props.large ? ' large' : ''}${info.active ? ' live' : ''}`}>
      {info.label}
    </span>
  );
}

export function When(props: { iso: string | null | undefined }): JSX.Element {
  return <time title={props.iso ? fmtDate(props.iso) : undefined}>{fmtAgo(props.iso)}</time>;
}

export function ErrorBox(props: { error: unknown }): JSX.Element | null {
  if (!props.error) return null;
  const e = props.error;
  const msg = e instanceof Error ? e.message : String(e);
  const status = e instanceof ApiError && e.status ? ` (HTTP ${e.status})` : '';
  return (
    <div class="alert error" role="alert">
      {msg + status}
    </div>
  );
}

export function Loading(): JSX.Element {
  return (
    <p class="muted" role="status">
      Loading…
    </p>
  );
}

/** Loads data with `load`; `reload` runs it again (live pages call it on stream events). */
export function useData<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | undefined; error: unknown; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  const seq = useRef(0);
  const reload = useCallback(() => {
    const mine = ++seq.current;
    load().then(
      (data) => mine === seq.current && setState({ data }),
      (error: unknown) => mine === seq.current && setState((s) => ({ ...s, error })),
    );
  }, deps);
  useEffect(() => {
    setState({});
    reload();
    return () => {
      seq.current += 1;
    };
  }, [reload]);
  return { data: state.data, error: state.error, reload };
}

/** Coalesces bursts of calls (stream events) into one call after `ms`. */
export function useDebounced(fn: () => void, ms = 250): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  return useCallback(() => {
    timer.current ??= setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms);
  }, [ms]);
}

export type FormValues = Record<string, string | boolean>;

export interface FormState<T extends FormValues> {
  values: T;
  set: (name: keyof T & string, value: string | boolean) => void;
  error: { field: string | null; message: string } | null;
  busy: boolean;
  /** Runs `action` as the form's submit handler; API errors land next to the field they name. */
  submit: (action: (values: T) => Promise<void>) => (ev: Event) => void;
  idPrefix: string;
}

let formCounter = 0;

export function useForm<T extends FormValues>(initial: T): FormState<T> {
  const [values, setValues] = useState<T>(initial);
  const [error, setError] = useState<FormState<T>['error']>(null);
  const [busy, setBusy] = useState(false);
  const [idPrefix] = useState(() => `f${++formCounter}`);
  const set = useCallback((name: string, value: string | boolean) => {
    setValues((v) => ({ ...v, [name]: value }));
  }, []);
  const submit =
    (action: (values: T) => Promise<void>) =>
    (ev: Event): void => {
      ev.preventDefault();
      if (busy) return;
      setBusy(true);
      setError(null);
      action(values).then(
        () => setBusy(false),
        (e: unknown) => {
          setBusy(false);
          const message = e instanceof Error ? e.message : String(e);
          setError({ field: e instanceof ApiError ? e.fieldOf(Object.keys(values)) : null, message });
        },
      );
    };
  return { values, set, error, busy, submit, idPrefix };
}

interface FieldProps<T extends FormValues> {
  form: FormState<T>;
  name: keyof T & string;
  label: string;
  hint?: ComponentChildren;
  type?: 'text' | 'password' | 'number' | 'url' | 'datetime-local' | 'email';
  placeholder?: string;
  required?: boolean;
  autocomplete?: string;
}

function describedBy(id: string, hint: boolean, error: boolean): string | undefined {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-err` : ''].filter(Boolean).join(' ');
  return ids || undefined;
}

function FieldFrame(props: {
  id: string;
  label: string;
  hint?: ComponentChildren;
  error: string | null;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <div class={`field${props.error ? ' invalid' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <div class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </div>
      )}
      {props.error && (
        <div class="field-error" id={`${props.id}-err`} role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

function fieldError<T extends FormValues>(form: FormState<T>, name: string): string | null {
  return form.error && form.error.field === name ? form.error.message : null;
}

export function TextField<T extends FormValues>(
  props: FieldProps<T> & { multiline?: boolean; rows?: number },
): JSX.Element {
  const id = `${props.form.idPrefix}-${props.name}`;
  const err = fieldError(props.form, props.name);
  const common = {
    id,
    name: props.name,
    value: String(props.form.values[props.name] ?? ''),
    placeholder: props.placeholder,
    required: props.required,
    'aria-invalid': err ? ('true' as const) : undefined,
    'aria-describedby': describedBy(id, !!props.hint, !!err),
    onInput: (ev: Event) => props.form.set(props.name, (ev.currentTarget as HTMLInputElement).value),
  };
  return (
    <FieldFrame id={id} label={props.label} hint={props.hint} error={err}>
      {props.multiline ? (
        <textarea {...common} rows={props.rows ?? 6} spellcheck={false} />
      ) : (
        <input
          {...common}
          type={(props.type ?? 'text') as 'text'}
          autocomplete={props.autocomplete ?? 'off'}
          spellcheck={false}
        />
      )}
    </FieldFrame>
  );
}

/** A select's choices: a value that is its own label, or a value and its label. */
export type SelectOptions = readonly (string | [value: string, label: string])[];

function Options(props: { options: SelectOptions }): JSX.Element {
  return (
    <>
      {props.options.map((o) => {
        const [value, label] = Array.isArray(o) ? o : [o, o];
        return (
          <option key={value} value={value}>
            {label}
          </option>
        );
      })}
    </>
  );
}

export function SelectField<T extends FormValues>(
  props: FieldProps<T> & { options: SelectOptions },
): JSX.Element {
  const id = `${props.form.idPrefix}-${props.name}`;
  const err = fieldError(props.form, props.name);
  return (
    <FieldFrame id={id} label={props.label} hint={props.hint} error={err}>
      <select
        id={id}
        name={props.name}
        value={String(props.form.values[props.name] ?? '')}
        aria-invalid={err ? 'true' : undefined}
        aria-describedby={describedBy(id, !!props.hint, !!err)}
        onChange={(ev) => props.form.set(props.name, (ev.currentTarget as HTMLSelectElement).value)}
      >
        <Options options={props.options} />
      </select>
    </FieldFrame>
  );
}

export function CheckField<T extends FormValues>(props: FieldProps<T>): JSX.Element {
  const id = `${props.form.idPrefix}-${props.name}`;
  const err = fieldError(props.form, props.name);
  return (
    <div class={`field check${err ? ' invalid' : ''}`}>
      <input
        type="checkbox"
        id={id}
        name={props.name}
        checked={props.form.values[props.name] === true}
        aria-describedby={describedBy(id, !!props.hint, !!err)}
        onChange={(ev) => props.form.set(props.name, (ev.currentTarget as HTMLInputElement).checked)}
      />
      <label for={id}>{props.label}</label>
      {props.hint && (
        <div class="hint" id={`${id}-hint`}>
          {props.hint}
        </div>
      )}
      {err && (
        <div class="field-error" id={`${id}-err`} role="alert">
          {err}
        </div>
      )}
    </div>
  );
}

/** The form-level error (one no field claims) and the submit button. */
export function FormFooter<T extends FormValues>(props: {
  form: FormState<T>;
  submit: string;
  /** Shows a Cancel button that calls this. */
  onCancel?: () => void;
  children?: ComponentChildren;
}): JSX.Element {
  const e = props.form.error;
  return (
    <>
      {e && e.field === null && (
        <div class="alert error" role="alert">
          {e.message}
        </div>
      )}
      <div class="actions-row">
        <button class="primary" type="submit" disabled={props.form.busy}>
          {props.form.busy ? 'Working…' : props.submit}
        </button>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        {props.children}
      </div>
    </>
  );
}

export function CopyButton(props: { text: string; label?: string }): JSX.Element {
  const [state, setState] = useState('');
  const copy = async (): Promise<void> => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(props.text);
      ok = true;
    } catch {
      ok = false;
    }
    setState(ok ? 'Copied' : 'Copy failed: select the text');
    setTimeout(() => setState(''), 1500);
  };
  return (
    <button type="button" class="small" onClick={() => void copy()} aria-label={props.label ?? 'Copy'}>
      {state || 'Copy'}
      <span class="visually-hidden" aria-live="polite">
        {state}
      </span>
    </button>
  );
}

export function CopyLine(props: { text: string; label: string }): JSX.Element {
  return (
    <div class="copyline">
      <code>{props.text}</code>
      <CopyButton text={props.text} label={props.label} />
    </div>
  );
}

/** A delete button that asks first. */
export function DeleteButton(props: { what: string; onDelete: () => Promise<void> }): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = (): void => {
    if (!window.confirm(`Delete ${props.what}? This cannot be undone.`)) return;
    setBusy(true);
    props.onDelete().then(
      () => setBusy(false),
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return (
    <>
      <button type="button" class="danger" disabled={busy} onClick={run}>
        Delete {props.what}
      </button>
      <ErrorBox error={error} />
    </>
  );
}

/** A panel whose body is a form shown on demand ("New project"). */
export function Disclosure(props: {
  label: string;
  open?: boolean;
  children: (close: () => void) => ComponentChildren;
}): JSX.Element {
  const [open, setOpen] = useState(props.open ?? false);
  return open ? (
    <section class="panel">{props.children(() => setOpen(false))}</section>
  ) : (
    <div class="actions-row gap">
      <button type="button" class="primary" onClick={() => setOpen(true)}>
        {props.label}
      </button>
    </div>
  );
}

/** Tabs as links (`?tab=`), so each tab has its own address. */
export function Tabs(props: {
  tabs: [id: string, label: string][];
  current: string;
  base: string;
}): JSX.Element {
  return (
    <nav class="tabs" aria-label="Sections">
      {props.tabs.map(([id, label]) => (
        <a
          key={id}
          href={id === props.tabs[0]?.[0] ? props.base : `${props.base}?tab=${id}`}
          aria-current={id === props.current ? 'page' : undefined}
        >
          {label}
        </a>
      ))}
    </nav>
  );
}

/** A polite live region: status changes are read out by screen readers. */
export function Announce(props: { text: string }): JSX.Element {
  return (
    <div class="visually-hidden" aria-live="polite" role="status">
      {props.text}
    </div>
  );
}

/** "Edit" (naming the item for screen readers) and "Delete …" buttons of a list row. */
export function EditDelete(props: {
  name: string;
  what: string;
  onEdit?: () => void;
  onDelete: () => Promise<void>;
}): JSX.Element {
  return (
    <span class="actions-row">
      {props.onEdit && (
        <button type="button" class="small" onClick={props.onEdit}>
          Edit <span class="visually-hidden">{props.name}</span>
        </button>
      )}
      <DeleteButton what={props.what} onDelete={props.onDelete} />
    </span>
  );
}

/**
 * A panel listing one kind of object with an inline edit form per row and a folded "add" form: the
 * shape of the variables, environments, integrations, permission sets, groups and team pages.
 */
export function ResourceList<T>(props: {
  title: string;
  /** Loads the items; runs again after every save or delete. */
  load: () => Promise<T[]>;
  deps: unknown[];
  keyOf: (item: T) => string | number;
  /** The inside of an item's row; `edit` opens its form, `reload` refreshes the list. */
  row: (item: T, ctl: { edit: () => void; reload: () => void }) => ComponentChildren;
  /** The create (no item) or edit form; `done` closes it and reloads. */
  form?: (item: T | undefined, done: () => void) => ComponentChildren;
  addLabel?: string;
  empty?: string;
  /** Shown inside another list's row (an environment's variables): no panel of its own, an h3. */
  nested?: boolean | undefined;
  children?: ComponentChildren;
}): JSX.Element {
  const { data, error, reload } = useData(props.load, props.deps);
  const [editing, setEditing] = useState<string | number | null>(null);
  const [titleId] = useState(() => `list${++formCounter}`);
  const Heading = props.nested ? 'h3' : 'h2';
  return (
    <section class={props.nested ? 'nested' : 'panel'} aria-labelledby={titleId}>
      <Heading id={titleId}>{props.title}</Heading>
      <ErrorBox error={error} />
      {!data && !error && <Loading />}
      {data && data.length === 0 && <p class="muted">{props.empty ?? 'None yet.'}</p>}
      {data && data.length > 0 && (
        <ul class="rows">
          {data.map((item) => {
            const key = props.keyOf(item);
            return editing === key && props.form ? (
              <li key={key}>
                {props.form(item, () => {
                  setEditing(null);
                  reload();
                })}
              </li>
            ) : (
              <li key={key} class="row">
                {props.row(item, { edit: () => setEditing(key), reload })}
              </li>
            );
          })}
        </ul>
      )}
      {props.children}
      {props.form && props.addLabel && (
        <Disclosure label={props.addLabel}>
          {(close) =>
            props.form!(undefined, () => {
              close();
              reload();
            })
          }
        </Disclosure>
      )}
    </section>
  );
}

/** Runs one change of a list row at a time (a role, a permission set, a removal), keeping its error. */
function useRowChange(): { busy: boolean; error: unknown; run: (change: () => Promise<void>) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = (change: () => Promise<void>): void => {
    setBusy(true);
    setError(null);
    change().then(
      () => setBusy(false),
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return { busy, error, run };
}

/**
 * A button in a list row that changes the row at once ("Make admin", "Remove"): `hidden` names the row
 * for screen readers; a refusal from the API shows beside it instead of vanishing.
 */
export function RowButton(props: {
  label: string;
  hidden?: string;
  ariaLabel?: string;
  disabled?: boolean;
  onClick: () => Promise<void>;
}): JSX.Element {
  const change = useRowChange();
  return (
    <>
      <button
        type="button"
        class="small"
        aria-label={props.ariaLabel}
        disabled={props.disabled || change.busy}
        onClick={() => change.run(props.onClick)}
      >
        {props.label}
        {props.hidden && <span class="visually-hidden"> {props.hidden}</span>}
      </button>
      <ErrorBox error={change.error} />
    </>
  );
}

/** A select in a list row that saves on change (a member's role, a permission set), with its error. */
export function RowSelect(props: {
  label: string;
  value: string;
  options: SelectOptions;
  onChoose: (value: string) => Promise<void>;
}): JSX.Element {
  const change = useRowChange();
  return (
    <>
      <select
        aria-label={props.label}
        value={props.value}
        disabled={change.busy}
        onChange={(e) => {
          const value = (e.currentTarget as HTMLSelectElement).value;
          change.run(() => props.onChoose(value));
        }}
      >
        <Options options={props.options} />
      </select>
      <ErrorBox error={change.error} />
    </>
  );
}
