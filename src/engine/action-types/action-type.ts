import type { TProperties } from '@sinclair/typebox';
import type {
  ActionSecrets,
  ActionType,
  BuiltImageReference,
  ContainerActionSettings,
  DockerfileActionSettings,
  DockerPushActionSettings,
  WaitForApplyActionSettings,
} from '../../domain/action.ts';
import type { BindMount, ContainerRuntime, RegistryAuth } from '../../runtime/container-runtime.ts';
import type { ActionOutcome, PreparedContainer } from '../actions/run-docker-container.ts';
import type { LogWriter } from '../log-store.ts';
import type { PipelineFilesystem } from '../pipeline-filesystem.ts';
import type { ResolvedVariable } from '../variable-scope.ts';

/** The stored settings of each action type (common fields included). */
export interface SettingsByType {
  RUN_DOCKER_CONTAINER: ContainerActionSettings;
  DOCKERFILE: DockerfileActionSettings;
  DOCKER_PUSH: DockerPushActionSettings;
  WAIT_FOR_APPLY: WaitForApplyActionSettings;
}

/** An action of the same pipeline, as save-time checks see it. */
export interface PipelineActionRef {
  id: number;
  name: string;
  type: string;
  position: number;
}

/** What a save-time check knows besides the settings: the pipeline's other actions and where this one will stand. */
export interface SaveContext {
  actions: readonly PipelineActionRef[];
  position: number;
}

/** What an action's container is made from, ahead of its turn as well (see early-containers.ts). */
export interface ActionPrepareContext {
  runtime: ContainerRuntime;
  networkMode: string;
  fs: PipelineFilesystem;
  projectName: string;
  /** Every variable in scope, clear values. */
  variables: ReadonlyMap<string, string>;
  secrets: ActionSecrets;
  /** FILE and SSH_KEY variables to place in the container. */
  files: readonly ResolvedVariable[];
  /** Host directory for the action's outputs file. */
  outputsDir: string;
  /** Aborted when the execution is cancelled or the server stops. */
  signal: AbortSignal;
  labels: Record<string, string>;
  packageMount: BindMount | null;
  onContainer: (id: string | null) => Promise<void>;
  resolveIntegration: (identifier: string) => Promise<RegistryAuth | null>;
}

/** What the runner hands an action attempt: the execution's resources, this action's variables, log and labels. */
export interface ActionRunContext extends ActionPrepareContext {
  cancelGraceSeconds: number;
  actionExecutionId: string;
  log: LogWriter;
  /** Pull even when the image is present (clear_cache). */
  forcePull: boolean;
  /** The container `prepare` made for this attempt, if any (the runner discards it when unused). */
  prepared?: Promise<PreparedContainer | null>;
  /**
   * Clean-up that may finish after the attempt (removing its container): the next action starts
   * meanwhile, and the execution's end waits for it.
   */
  afterward: (work: () => Promise<void>) => void;
  /** The image a DOCKERFILE action of this execution built for `ref`, or the failure saying why there is none. */
  builtImageFor: (ref: BuiltImageReference) => string | ActionOutcome;
  /** Records an image or tag this execution made, removed when it ends. */
  trackImage: (ref: string) => void;
}

/**
 * Everything Gantry knows about one action type: how its body is validated and defaulted, the rules
 * checked when it is saved, and how one attempt of it runs. One entry per type in the registry.
 */
export interface ActionTypeHandler<S> {
  /** TypeBox fields of the type's body, beside the fields every action has. */
  fields: TProperties;
  /** Fields a new action of this type must have (besides name and type). */
  required: readonly string[];
  /** Type-specific defaults of a new action. */
  defaults: Partial<S>;
  /** Rules a schema cannot express; returns a client-facing message, or null when the settings are fine. */
  check(settings: S, ctx: SaveContext): string | null;
  /**
   * True for an approval gate: the runner never calls run(); the execution waits there for an APPLY
   * (WAITING_FOR_APPLY) and gives its runner back.
   */
  gate?: true;
  /** One attempt of the action. A failure is an outcome; only infrastructure faults throw. */
  run(settings: S, ctx: ActionRunContext): Promise<ActionOutcome>;
  /**
   * Makes the container of the action's first attempt ahead of its turn, while the run still checks its
   * revision out; null when it cannot be made without side effects yet (run() then does everything).
   * Absent for types that run no container of their own.
   */
  prepare?(settings: S, ctx: ActionPrepareContext): Promise<PreparedContainer | null>;
  /**
   * True when a successful result does not survive its execution's end, so a retry must run it again
   * (a build whose image was pruned).
   */
  rerunOnRetry(settings: S): boolean;
}

export type ActionTypeRegistry = { [T in ActionType]: ActionTypeHandler<SettingsByType[T]> };
