import type { InlineVariable } from './pipeline.ts';

export const SUPPORTED_ACTION_TYPES = [
  'RUN_DOCKER_CONTAINER',
  'DOCKERFILE',
  'DOCKER_PUSH',
  'WAIT_FOR_APPLY',
] as const;
export type ActionType = (typeof SUPPORTED_ACTION_TYPES)[number];

export const TRIGGER_TIMES = [
  'ON_EVERY_EXECUTION',
  'ON_SUCCESS',
  'ON_FAILURE',
  'ON_BACK_TO_SUCCESS',
  'ON_WAIT_FOR_APPROVE',
] as const;
export type TriggerTime = (typeof TRIGGER_TIMES)[number];
/** Trigger times Buddy has that Gantry does not run yet; saying so beats accepting them silently. */
export const UNSUPPORTED_TRIGGER_TIMES = ['ON_WARNING', 'ON_TERMINATE'] as const;

export const RUN_NEXT = ['WAIT_ON_SUCCESS', 'IN_SOFT_PARALLEL', 'IN_HARD_PARALLEL'] as const;
export type RunNext = (typeof RUN_NEXT)[number];

export const TRIGGER_CONDITIONS = [
  'ALWAYS',
  'ON_CHANGE',
  'ON_CHANGE_AT_PATH',
  'VAR_IS',
  'VAR_IS_NOT',
  'VAR_CONTAINS',
  'VAR_NOT_CONTAINS',
] as const;

export interface TriggerCondition {
  trigger_condition: (typeof TRIGGER_CONDITIONS)[number];
  trigger_condition_paths?: string[];
  trigger_variable_key?: string;
  trigger_variable_value?: string;
}

/** Fields every action has, whatever its type. */
export interface CommonActionSettings {
  trigger_time: TriggerTime;
  trigger_conditions: TriggerCondition[];
  run_next: RunNext;
  run_only_on_first_failure: boolean;
  variables: InlineVariable[];
  disabled: boolean;
  timeout: number | null;
  ignore_errors: boolean;
  retry_count: number;
  retry_interval: number;
}

export const COMMON_ACTION_DEFAULTS: CommonActionSettings = {
  trigger_time: 'ON_EVERY_EXECUTION',
  trigger_conditions: [],
  run_next: 'WAIT_ON_SUCCESS',
  run_only_on_first_failure: false,
  variables: [],
  disabled: false,
  timeout: null,
  ignore_errors: false,
  retry_count: 0,
  retry_interval: 0,
};

/** The RUN_DOCKER_CONTAINER fields of seed 004 plus the older documented ones. */
export interface DockerContainerSettings {
  docker_image_name: string;
  docker_image_tag: string;
  inline_commands: string;
  run_as_user: string | null;
  mount_filesystem_disable: boolean;
  mount_filesystem_path: string | null;
  volume_mappings: string[];
  login: string | null;
  registry: string | null;
  export_container_path: string | null;
  integration: { identifier: string } | null;
  region: string | null;
  use_image_from_action: boolean;
  docker_build_action_id: number | null;
  docker_build_action_name: string | null;
  entrypoint: string | null;
  image_location: string | null;
  docker_registry: string | null;
}

export const DOCKER_CONTAINER_DEFAULTS: Omit<
  DockerContainerSettings,
  'docker_image_name' | 'docker_image_tag' | 'inline_commands'
> = {
  run_as_user: null,
  mount_filesystem_disable: false,
  mount_filesystem_path: null,
  volume_mappings: [],
  login: null,
  registry: null,
  export_container_path: null,
  integration: null,
  region: null,
  use_image_from_action: false,
  docker_build_action_id: null,
  docker_build_action_name: null,
  entrypoint: null,
  image_location: null,
  docker_registry: null,
};

/** A reference to an image an earlier DOCKERFILE action builds in the same execution. */
export interface BuiltImageReference {
  /** Id of the DOCKERFILE action; 0 means the nearest earlier one. */
  docker_build_action_id: number | null;
  docker_build_action_name: string | null;
}

/** DOCKERFILE: build an image from a Dockerfile in the pipeline filesystem. */
export interface DockerfileSettings {
  dockerfile_path: string;
  /** Build context, read inside the pipeline filesystem; "/" is its root. */
  context_path: string;
  docker_image_tag: string;
  /** "KEY=value" entries. */
  build_args: string[];
  target_platform: string | null;
  /** Credentials for pulling private base images. */
  login: string | null;
  registry: string | null;
  repository: string | null;
  integration: { identifier: string } | null;
  do_not_prune_images: boolean;
  insecure_registry: boolean;
}

export const DOCKERFILE_DEFAULTS: Omit<DockerfileSettings, 'dockerfile_path'> = {
  context_path: '/',
  docker_image_tag: 'latest',
  build_args: [],
  target_platform: null,
  login: null,
  registry: null,
  repository: null,
  integration: null,
  do_not_prune_images: false,
  insecure_registry: false,
};

/** DOCKER_PUSH: push an image built in this execution to a registry. */
export interface DockerPushSettings extends BuiltImageReference {
  docker_image_tag: string;
  login: string | null;
  registry: string | null;
  repository: string;
  integration: { identifier: string } | null;
}

export const DOCKER_PUSH_DEFAULTS: Omit<DockerPushSettings, 'repository'> = {
  docker_image_tag: 'latest',
  login: null,
  registry: null,
  integration: null,
  docker_build_action_id: 0,
  docker_build_action_name: null,
};

/** WAIT_FOR_APPLY: the run stops here until someone who may run the pipeline approves it. */
export interface WaitForApplySettings {
  /** The question shown while the run waits; variables (`$NAME`) are substituted when the gate is reached. */
  comment: string | null;
}

export const WAIT_FOR_APPLY_DEFAULTS: WaitForApplySettings = { comment: null };

/** Values kept sealed and never returned in clear. */
export interface ActionSecrets {
  password?: string;
}

export type ContainerActionSettings = CommonActionSettings & DockerContainerSettings;
export type DockerfileActionSettings = CommonActionSettings & DockerfileSettings;
export type DockerPushActionSettings = CommonActionSettings & DockerPushSettings;
export type WaitForApplyActionSettings = CommonActionSettings & WaitForApplySettings;
/** Stored settings of an action of any type; the action's `type` says which. */
export type ActionSettings =
  ContainerActionSettings | DockerfileActionSettings | DockerPushActionSettings | WaitForApplyActionSettings;

/**
 * The DOCKERFILE action a reference points at among `actions` (in pipeline order), for an action
 * standing at `position`: by name, by id, or (id 0) the nearest earlier one. Undefined when none fits.
 */
export function findBuildAction<T extends { id: number; name: string; type: string; position: number }>(
  actions: readonly T[],
  ref: BuiltImageReference,
  position: number,
): T | undefined {
  const builds = actions.filter((a) => a.type === 'DOCKERFILE');
  if (ref.docker_build_action_name !== null)
    return builds.find((a) => a.name === ref.docker_build_action_name);
  if (ref.docker_build_action_id !== null && ref.docker_build_action_id !== 0)
    return builds.find((a) => a.id === ref.docker_build_action_id);
  return builds.filter((a) => a.position < position).sort((a, b) => b.position - a.position)[0];
}

/** An action as the engine runs it and the API presents it (secrets excluded). */
export interface ActionDefinition {
  id: number;
  pipelineId: number;
  position: number;
  type: ActionType;
  name: string;
  settings: ActionSettings;
  hasPassword: boolean;
}
