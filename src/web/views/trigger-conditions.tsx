/**
 * A pipeline's trigger conditions (Buddy's `trigger_conditions`, all of which must hold for a run to
 * start): one row per condition, its inputs depending on its type. A controlled list: the pipeline
 * form keeps it and sends it whole.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

export interface TriggerCondition {
  trigger_condition: string;
  trigger_condition_paths?: string[] | null;
  trigger_variable_key?: string | null;
  trigger_variable_value?: string | null;
  trigger_hours?: number[] | null;
  trigger_days?: number[] | null;
  timezone?: string | null;
  trigger_project_name?: string | null;
  trigger_pipeline_name?: string | null;
  trigger_user?: string | null;
  trigger_group?: string | null;
}

const TYPES: [string, string][] = [
  ['ON_CHANGE', 'Files changed since the last run'],
  ['ON_CHANGE_AT_PATH', 'Files changed at these paths'],
  ['VAR_IS', 'A variable equals'],
  ['VAR_IS_NOT', 'A variable does not equal'],
  ['VAR_CONTAINS', 'A variable contains'],
  ['VAR_NOT_CONTAINS', 'A variable does not contain'],
  ['DATETIME', 'Only at these hours / days'],
  ['SUCCESS_PIPELINE', 'Another pipeline last succeeded'],
  ['TRIGGERING_USER_IS', 'Run by this user'],
  ['TRIGGERING_USER_IS_NOT', 'Not run by this user'],
  ['TRIGGERING_USER_IS_IN_GROUP', 'Run by a member of this group'],
  ['TRIGGERING_USER_IS_NOT_IN_GROUP', 'Not run by a member of this group'],
  ['ALWAYS', 'Always'],
];

const numbers = (text: string): number[] =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);

let counter = 0;

export function TriggerConditions(props: {
  value: TriggerCondition[];
  onChange: (next: TriggerCondition[]) => void;
}): JSX.Element {
  const set = (i: number, patch: Partial<TriggerCondition>): void =>
    props.onChange(props.value.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  return (
    <div>
      {props.value.length === 0 && <p class="muted small">No conditions: every trigger starts a run.</p>}
      <ol class="rows">
        {props.value.map((c, i) => (
          <li key={i} class="nested">
            <Condition
              index={i}
              condition={c}
              onChange={(patch) => set(i, patch)}
              onRemove={() => props.onChange(props.value.filter((_, j) => j !== i))}
            />
          </li>
        ))}
      </ol>
      <button
        type="button"
        class="small"
        onClick={() => props.onChange([...props.value, { trigger_condition: 'ON_CHANGE' }])}
      >
        Add a condition
      </button>
    </div>
  );
}

function Condition(props: {
  index: number;
  condition: TriggerCondition;
  onChange: (patch: Partial<TriggerCondition>) => void;
  onRemove: () => void;
}): JSX.Element {
  const [id] = useState(() => `cond${++counter}`);
  const c = props.condition;
  const t = c.trigger_condition;
  const n = props.index + 1;
  const input = (
    field: keyof TriggerCondition,
    label: string,
    value: string,
    toValue: (text: string) => unknown = (x) => x,
    placeholder?: string,
  ): JSX.Element => (
    <div class="field">
      <label for={`${id}-${field}`}>{label}</label>
      <input
        id={`${id}-${field}`}
        value={value}
        placeholder={placeholder}
        autocomplete="off"
        spellcheck={false}
        onInput={(e) => props.onChange({ [field]: toValue((e.currentTarget as HTMLInputElement).value) })}
      />
    </div>
  );
  return (
    <>
      <div class="field">
        <label for={`${id}-type`}>Condition {n}</label>
        <select
          id={`${id}-type`}
          value={t}
          onChange={(e) =>
            props.onChange({ trigger_condition: (e.currentTarget as HTMLSelectElement).value })
          }
        >
          {TYPES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {t === 'ON_CHANGE_AT_PATH' &&
        input(
          'trigger_condition_paths',
          `Paths of condition ${n} (comma-separated)`,
          (c.trigger_condition_paths ?? []).join(', '),
          (x) =>
            x
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean),
          'src/, docs/*.md',
        )}
      {t.startsWith('VAR_') && (
        <div class="grid2">
          {input('trigger_variable_key', `Variable of condition ${n}`, c.trigger_variable_key ?? '')}
          {input('trigger_variable_value', `Value of condition ${n}`, c.trigger_variable_value ?? '')}
        </div>
      )}
      {t === 'DATETIME' && (
        <div class="grid2">
          {input(
            'trigger_hours',
            `Hours of condition ${n} (0–23)`,
            (c.trigger_hours ?? []).join(', '),
            numbers,
            '9, 10, 11',
          )}
          {input(
            'trigger_days',
            `Days of condition ${n} (1 = Monday … 7)`,
            (c.trigger_days ?? []).join(', '),
            numbers,
            '1, 2, 3, 4, 5',
          )}
          {input('timezone', `Time zone of condition ${n}`, c.timezone ?? '', (x) => x, 'Europe/Warsaw')}
        </div>
      )}
      {t === 'SUCCESS_PIPELINE' && (
        <div class="grid2">
          {input('trigger_project_name', `Project of condition ${n}`, c.trigger_project_name ?? '')}
          {input('trigger_pipeline_name', `Pipeline of condition ${n}`, c.trigger_pipeline_name ?? '')}
        </div>
      )}
      {t.startsWith('TRIGGERING_USER_IS') &&
        !t.endsWith('GROUP') &&
        input('trigger_user', `User's e-mail of condition ${n}`, c.trigger_user ?? '')}
      {t.endsWith('GROUP') && input('trigger_group', `Group of condition ${n}`, c.trigger_group ?? '')}
      <button type="button" class="small" onClick={props.onRemove}>
        Remove condition {n}
      </button>
    </>
  );
}
