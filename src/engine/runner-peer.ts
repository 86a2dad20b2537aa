import type { ActionSecrets, ActionSettings, ActionType } from '../domain/action.ts';
import type { InlineVariable } from '../domain/pipeline.ts';
import type { ActionExecutionStatus, ExecutionStatus } from '../domain/status.ts';
import type { BindMount, RegistryAuth } from '../runtime/container-runtime.ts';
import type { ExecutionVariables } from './execution-variables.ts';
import type { PinnedFiles } from './package-pin.ts';
import type { LogWriter } from './log-store.ts';

/** One action execution as the runner receives it. */
export interface WorkloadStep {
  /** The action execution id (24 hex characters). */
  id: string;
  actionId: number;
  position: number;
  name: string;
  type: ActionType;
  settings: ActionSettings;
  secrets: ActionSecrets;
  /**
   * ENQUEUED (or INITIAL) when it is to run; SUCCESSFUL when a retry keeps its earlier result; any other
   * settled status when the run goes on after an approval and this step was settled before the gate.
   */
  status: ActionExecutionStatus;
}

/**
 * Everything a runner needs to run one execution, resolved by the server when the runner claims it:
 * with it, running reads no database.
 */
export interface Workload {
  executionId: number;
  pipelineId: number;
  workspaceId: number;
  projectId: number;
  projectName: string;
  revision: string;
  /** Start from a clean work tree (refresh, always_from_scratch). */
  cleanCheckout: boolean;
  /**
   * The run goes on after an approval (WAIT_FOR_APPLY) on the pipeline filesystem its first part left:
   * no checkout and no cache clearing, unless the filesystem is not here (cleanCheckout then says so).
   */
  resumed: boolean;
  /** Empty the pipeline's cache first and pull images even when present (clear_cache, auto_clear_cache). */
  clearCache: boolean;
  /** Paths changed since the changeset base, for ON_CHANGE conditions; null when unknown. */
  changeset: string[] | null;
  /** actions_to_run of the run request; null means all. */
  selected: number[] | null;
  steps: WorkloadStep[];
  variables: ExecutionVariables;
  /** The pinned package version (null when none): what a remote worker fetches from its server. */
  pinnedPackage: PinnedFiles | null;
  /**
   * Where the pinned version's files are, mounted read-only in every container action: set by the
   * in-process peer at the claim, by a worker's peer once it fetched them.
   */
  packageMount: BindMount | null;
  /** Lines the runner writes at the top of the first log of the run (e.g. why the checkout is fresh). */
  notes: string[];
}

/** How an action execution ended, as the runner reports it. */
export interface StepResult {
  status: 'SUCCESSFUL' | 'FAILED' | 'TERMINATED';
  error: string | null;
  outputs: InlineVariable[];
  logLines: number;
}

/**
 * The port between the engine and whatever runs actions, after Woodpecker's rpc.Peer: a runner claims
 * work (`claim`, Woodpecker's Next), reports each step's moves (`stepStarted`/`stepEnded`/`stepsSkipped`,
 * Update), streams logs (`openLog`, Log) and ends the execution (`done`, Done); the AbortSignal the
 * runner gets is Wait. Every method carries plain data, so the same runner code can sit behind an
 * in-process peer (today) or one that speaks HTTP to a server (remote workers).
 */
export interface RunnerPeer {
  /**
   * Moves a queued execution to INPROGRESS for this runner and hands over its workload. Null when the
   * execution was not claimable (another runner or a cancel moved it) or could not start (the peer
   * has then ended it with a message saying why).
   */
  claim(executionId: number): Promise<Workload | null>;
  /** Where the runner fetches the execution's revision from (a local mirror path for the in-process peer). */
  source(work: Workload): Promise<string>;
  stepStarted(executionId: number, stepId: string, passed: InlineVariable[]): Promise<void>;
  stepEnded(executionId: number, stepId: string, result: StepResult): Promise<void>;
  stepsSkipped(executionId: number, stepIds: string[], status: 'SKIPPED' | 'NOT_EXECUTED'): Promise<void>;
  /** The container running a step now (null once it is gone), so a restarted server can sweep it. */
  containerChanged(stepId: string, containerId: string | null): Promise<void>;
  openLog(stepId: string): LogWriter;
  /** Credentials of a registry integration for a pipeline (a project's own integrations and pipeline restrictions apply). */
  registryAuth(
    workspaceId: number,
    identifier: string,
    user: { projectId: number; pipelineId: number },
  ): Promise<RegistryAuth | null>;
  /**
   * Stores a settable variable's new (already sealed when encrypted) value for future runs; `encrypted`
   * true also makes the variable encrypted (its new value was made from a secret).
   */
  updateSettable(executionId: number, storedId: number, value: string, encrypted?: boolean): Promise<void>;
  /**
   * The run reached the approval gate `stepId`: the execution and the gate become WAITING_FOR_APPLY in
   * one write and the runner lets the execution go (an APPLY queues it again). `question` is the gate's
   * comment with variables substituted and secrets masked. False when the execution was no longer
   * running (a cancel won): the runner then ends it as terminated.
   */
  awaitApproval(executionId: number, stepId: string, question: string | null): Promise<boolean>;
  /** The final status of the pipeline's run before this one (ON_BACK_TO_SUCCESS), null when none. */
  previousStatus(executionId: number): Promise<ExecutionStatus | null>;
  /** Ends the execution; steps still waiting end NOT_EXECUTED in the same write. */
  done(
    executionId: number,
    status: 'SUCCESSFUL' | 'FAILED' | 'TERMINATED',
    error: string | null,
  ): Promise<void>;
}
