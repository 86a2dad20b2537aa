import { Type, type TSchema } from '@sinclair/typebox';
import { SUPPORTED_ACTION_TYPES } from '../../domain/action.ts';
import { ACTION_TYPES } from '../../engine/action-types/registry.ts';
import { CommonFields } from './action.ts';
import { Links, Member } from './identity.ts';
import { PipelineFields } from './pipeline.ts';
import { Nullable, OpenObject, responsePropertiesOf } from './response.ts';

/**
 * Response schemas of pipelines and actions (seed 004, buddy-api-clients.md §C.6). Their settings are
 * the request fields (a field a client may set is echoed), so a new setting needs no second listing.
 */

/** The request fields minus those only accepted to be ignored (`id`, `url`... sent back from a GET: no type). */
function settingsOf(fields: Record<string, unknown>): Record<string, TSchema> {
  return Object.fromEntries(
    Object.entries(responsePropertiesOf(fields)).filter(([, s]) => 'type' in s || 'anyOf' in s),
  );
}

export const Paging = {
  page: Type.Integer(),
  page_size: Type.Integer(),
  total_page_count: Type.Integer(),
  element_count: Type.Integer(),
  total_element_count: Type.Integer(),
};

/** An inline variable of a pipeline, action or execution. */
export const InlineVariable = Type.Object({
  key: Type.String(),
  value: Type.String({ description: 'encrypted values only as "!encrypted ..."' }),
  type: Type.String(),
  encrypted: Type.Boolean(),
  settable: Type.Boolean(),
  description: Nullable(Type.String()),
});

export const ProjectRef = Type.Object({
  ...Links,
  name: Type.String(),
  display_name: Type.String(),
  status: Type.String(),
});

export const Pipeline = Type.Object(
  {
    ...Links,
    ...settingsOf(PipelineFields),
    id: Type.Integer(),
    identifier: Type.String(),
    name: Type.String(),
    waiting_for_push: Type.Boolean(),
    create_date: Type.String(),
    creator: Nullable(Member),
    project: ProjectRef,
    last_execution_status: Type.String(),
    last_execution_revision: Nullable(Type.String()),
    last_skipped_trigger: Nullable(OpenObject('the last event or schedule that started no run, and why')),
    trigger_webhook: Nullable(
      Type.Object(
        { url: Type.String(), totp: Nullable(Type.Boolean()) },
        {
          additionalProperties: true,
          description: 'WEBHOOK event: its address (secrets only right after they are made)',
        },
      ),
    ),
    variables: Type.Array(InlineVariable),
  },
  { title: 'Pipeline' },
);

export const PipelineList = Type.Object({ ...Links, ...Paging, pipelines: Type.Array(Pipeline) });
/** PipelineList without its items, which the list route serialises one by one (and reuses; see PresentedJsonCache). */
export const PipelineListHead = Type.Object({ ...Links, ...Paging });

/** The short pipeline nested in actions. */
export const PipelineRef = Type.Object({
  ...Links,
  id: Type.Integer(),
  identifier: Type.String(),
  name: Type.String(),
  on: Type.String(),
  refs: Type.Array(Type.String()),
  priority: Type.String(),
  last_execution_status: Type.String(),
  last_execution_revision: Nullable(Type.String()),
});

/** Every action type's own fields, together (an action shows those of its type). */
const typeFields = Object.assign({}, ...SUPPORTED_ACTION_TYPES.map((t) => ACTION_TYPES[t].fields)) as Record<
  string,
  unknown
>;

export const Action = Type.Object(
  {
    ...Links,
    ...settingsOf({ ...CommonFields, ...typeFields }),
    id: Type.Integer(),
    name: Type.String(),
    type: Type.String(),
    after_action_id: Nullable(Type.Integer()),
    last_execution_status: Type.String(),
    current_revision: Nullable(Type.String()),
    password: Nullable(Type.String({ description: 'only in sealed form ("!encrypted ...")' })),
    variables: Type.Array(InlineVariable),
    pipeline: PipelineRef,
  },
  { title: 'Action' },
);

export const ActionList = Type.Object({ ...Links, actions: Type.Array(Action) });
