import { chmodSync, closeSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { InlineVariable } from '../domain/pipeline.ts';
import { parseOutputs } from '../domain/variables.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import { openRegularFile } from './pinned-path.ts';
import type { Db } from '../store/database.ts';
import {
  fromInline,
  loadActionLevels,
  loadExecutionLevels,
  mergeLevels,
  type ResolvedVariable,
  type ScopeIds,
} from './variable-scope.ts';

/** What one action runs with. */
export interface ActionVariables {
  /** Clear values by key, for substitution and the container's environment. */
  values: Map<string, string>;
  /** Clear values of encrypted variables, masked in logs. */
  secrets: string[];
  /** FILE and SSH_KEY variables to place in the container. */
  files: ResolvedVariable[];
  /** The run request's variables and earlier actions' outputs, as stored on the action execution (secrets sealed). */
  passed: InlineVariable[];
  merged: Map<string, ResolvedVariable>;
}

/**
 * Stores a settable variable's new value for future runs: sealed when `encrypted`, which is also the
 * variable's new encryption (an output made from a secret turns the variable encrypted).
 */
export type SettableUpdate = (storedId: number, value: string, encrypted: boolean) => Promise<void>;

/** What seals and opens secrets: the server's SecretBox, or a worker's TransitBox (workers hold no key). */
export type Sealer = Pick<SecretBox, 'seal' | 'open'>;

/** Every level of an execution's variables as plain data (clear values): what a worker receives. */
export interface VariablesSnapshot {
  below: ResolvedVariable[][];
  actionLevels: [number, ResolvedVariable[]][];
  request: ResolvedVariable[];
  outputs: ResolvedVariable[];
}

/**
 * The variables of one execution, by Buddy's precedence: built-ins < workspace < project <
 * environment < pipeline < action < execution request < outputs of earlier actions. Every level is
 * loaded when the execution is claimed, so running it reads no database; outputs accumulate as
 * actions finish.
 */
export class ExecutionVariables {
  private readonly outputs = new Map<string, ResolvedVariable>();

  private constructor(
    private readonly box: Sealer,
    private readonly below: ResolvedVariable[][],
    private readonly actionLevels: ReadonlyMap<number, ResolvedVariable[]>,
    private readonly request: ResolvedVariable[],
  ) {}

  /** Loads every level for the actions `actions` (id and inline variables) of one execution. */
  static async load(
    db: Db,
    box: SecretBox,
    ids: ScopeIds,
    builtIns: Record<string, string>,
    pipelineInline: readonly InlineVariable[],
    requestVariables: readonly InlineVariable[],
    actions: readonly { actionId: number; inline: readonly InlineVariable[] }[],
  ): Promise<ExecutionVariables> {
    const builtInLevel = Object.entries(builtIns).map(([key, value]) =>
      fromInline(box, { key, value, encrypted: false }),
    );
    const levels = await loadExecutionLevels(db, box, ids, pipelineInline);
    const actionLevels = await loadActionLevels(db, box, ids.workspaceId, actions);
    return new ExecutionVariables(
      box,
      [builtInLevel, ...levels],
      actionLevels,
      requestVariables.map((v) => fromInline(box, v)),
    );
  }

  /** The levels as plain data, to hand the execution to a remote worker. */
  snapshot(): VariablesSnapshot {
    return {
      below: this.below,
      actionLevels: [...this.actionLevels],
      request: this.request,
      outputs: [...this.outputs.values()],
    };
  }

  /** The variables a worker received; `box` seals outputs for the way back (see TransitBox). */
  static fromSnapshot(box: Sealer, s: VariablesSnapshot): ExecutionVariables {
    const v = new ExecutionVariables(box, s.below, new Map(s.actionLevels), s.request);
    for (const o of s.outputs) v.outputs.set(o.key, o);
    return v;
  }

  /** Restores outputs recorded by actions that already succeeded (RETRY does not re-run them). */
  restoreOutputs(stored: readonly InlineVariable[]): void {
    for (const v of stored) this.outputs.set(v.key, fromInline(this.box, v));
  }

  forAction(actionId: number): ActionVariables {
    const actionLevel = this.actionLevels.get(actionId) ?? [];
    const merged = mergeLevels([...this.below, actionLevel, this.request, [...this.outputs.values()]]);
    const passed = [...this.request, ...this.outputs.values()].map((v) => this.sealed(v));
    return {
      values: new Map([...merged].map(([k, v]) => [k, v.value])),
      secrets: [...merged.values()].filter((v) => v.encrypted).map((v) => v.value),
      files: [...merged.values()].filter((v) => v.type !== 'VAR' && v.filePlace === 'CONTAINER'),
      passed,
      merged,
    };
  }

  /**
   * Reads what an action wrote to its outputs file: each KEY=value is passed to later actions of this
   * execution, keeps the encryption of the variable it replaces, and updates a stored settable variable
   * for future runs (Buddy's settable variables). An output whose value shows a secret (`showsSecret`:
   * the value, or an encoded form of it, inside) is itself a secret: encrypted wherever it goes, masked
   * in later actions' logs. Returns the outputs, secrets sealed.
   */
  async collectOutputs(
    outputsFile: string,
    merged: ReadonlyMap<string, ResolvedVariable>,
    updateSettable: SettableUpdate,
    showsSecret: (value: string) => boolean,
  ): Promise<InlineVariable[]> {
    let text: string;
    try {
      // The container owned the directory: a link planted as the outputs file must not read the host.
      const fd = openRegularFile(outputsFile, 'outputs file');
      try {
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch {
      return [];
    }
    const out: InlineVariable[] = [];
    for (const [key, value] of parseOutputs(text)) {
      const known = merged.get(key);
      const encrypted = (known?.encrypted ?? false) || showsSecret(value);
      const resolved: ResolvedVariable = known
        ? { ...known, value, encrypted }
        : { ...fromInline(this.box, { key, value, encrypted: false }), encrypted };
      this.outputs.set(key, resolved);
      if (known?.settable && known.storedId !== null) {
        await updateSettable(known.storedId, encrypted ? this.box.seal(value) : value, encrypted);
      }
      out.push(this.sealed(resolved));
    }
    return out;
  }

  private sealed(v: ResolvedVariable): InlineVariable {
    return {
      key: v.key,
      value: v.encrypted ? this.box.seal(v.value) : v.value,
      encrypted: v.encrypted,
      settable: v.settable,
    };
  }
}

/**
 * A fresh, world-writable directory for one action's outputs file (actions may run as any user), inside
 * `<dataDir>/outputs` (0700), which no other host user can traverse.
 */
export async function prepareOutputsDir(dataDir: string, actionExecutionId: string): Promise<string> {
  const dir = path.join(dataDir, 'outputs', actionExecutionId);
  // Usually new: made with synchronous calls, each a single system call, rather than a trip through
  // the thread pool per call (measurable before every action on a busy machine). One left by an
  // earlier attempt holds whatever a container wrote, so it is emptied asynchronously.
  mkdirSync(path.dirname(dir), { recursive: true });
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  }
  chmodSync(path.dirname(dir), 0o700);
  chmodSync(dir, 0o777);
  return dir;
}
