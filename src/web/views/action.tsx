/**
 * Create or edit an action: forms for RUN_DOCKER_CONTAINER, DOCKERFILE and DOCKER_PUSH with the fields
 * of the seed examples, WAIT_FOR_APPLY (an approval gate with its question), the action's variables,
 * delete. Passwords are write-only.
 */
import type { JSX } from 'preact';
import { api, get, path } from '../api.ts';
import {
  CheckField,
  DeleteButton,
  ErrorBox,
  FormFooter,
  Page,
  SelectField,
  TextField,
  useData,
  useForm,
  type FormState,
  type FormValues,
  Pending,
} from '../components.tsx';
import { href, navigate } from '../router.ts';
import type { Action, Integration, Pipeline } from '../types.ts';
import { Variables } from './variables.tsx';

const TYPES: Record<string, string> = {
  RUN_DOCKER_CONTAINER: 'Run commands in a container',
  DOCKERFILE: 'Build a Docker image',
  DOCKER_PUSH: 'Push a Docker image',
  WAIT_FOR_APPLY: 'Wait for approval',
};

const TRIGGER_TIMES: [string, string][] = [
  ['ON_EVERY_EXECUTION', 'On every execution'],
  ['ON_SUCCESS', 'When the pipeline succeeds'],
  ['ON_FAILURE', 'When the pipeline fails'],
  ['ON_BACK_TO_SUCCESS', 'When it is back to success'],
];

export function ActionView(props: {
  ws: string;
  project: string;
  pid: string;
  aid: string;
  type: string;
}): JSX.Element {
  const plPath = path('workspaces', props.ws, 'projects', props.project, 'pipelines', props.pid);
  const isNew = props.aid === 'new';
  const { data, error } = useData(
    () =>
      Promise.all([
        get<Pipeline>(plPath),
        get<{ actions: Action[] }>(`${plPath}/actions`),
        isNew ? Promise.resolve(null) : get<Action>(`${plPath}/actions/${encodeURIComponent(props.aid)}`),
        get<{ integrations: Integration[] }>(`${path('workspaces', props.ws)}/integrations`).catch(() => ({
          integrations: [] as Integration[],
        })),
      ]),
    [plPath, props.aid],
  );
  const segs = ['workspaces', props.ws, 'projects', props.project, 'pipelines', props.pid];
  const crumbs: [string, string?][] = [
    ['Workspaces', '#/'],
    [props.ws, href(['workspaces', props.ws])],
    [props.project, href(['workspaces', props.ws, 'projects', props.project])],
    [data?.[0].name ?? `Pipeline ${props.pid}`, href(segs)],
    [isNew ? 'New action' : (data?.[2]?.name ?? `Action ${props.aid}`)],
  ];
  const title = isNew ? `New action: ${TYPES[props.type] ?? props.type}` : (data?.[2]?.name ?? 'Action');
  if (error || !data) return <Pending crumbs={crumbs} title={title} error={error} loaded={!!data} />;
  const [pl, { actions }, action, { integrations }] = data;
  const type = action?.type ?? props.type;
  if (!TYPES[type])
    return (
      <Page crumbs={crumbs} title={title}>
        <ErrorBox error={`Unknown action type "${type}"`} />
      </Page>
    );
  return (
    <Page crumbs={crumbs} title={title}>
      <section class="panel">
        <ActionForm
          plPath={plPath}
          segs={segs}
          type={type}
          action={action}
          actions={actions.filter((a) => a.id !== action?.id)}
          integrations={integrations}
        />
      </section>
      {action && (
        <>
          <Variables
            scope={{ workspace: props.ws, project: props.project, pipelineId: pl.id, actionId: action.id }}
            title="Action variables"
          />
          <section class="panel">
            <h2>Danger zone</h2>
            <DeleteButton
              what="this action"
              onDelete={async () => {
                await api('DELETE', `${plPath}/actions/${action.id}`);
                navigate(href(segs));
              }}
            />
          </section>
        </>
      )}
    </Page>
  );
}

const str = (v: unknown, fallback = ''): string =>
  typeof v === 'string' ? v : v == null ? fallback : String(v);
const lines = (v: unknown): string => (Array.isArray(v) ? v.map(String).join('\n') : '');
const toList = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
const orNull = (s: string): string | null => (s.trim() === '' ? null : s);
const integrationOf = (v: unknown): string =>
  v && typeof v === 'object' && 'identifier' in v ? str((v as { identifier: unknown }).identifier) : '';

function ActionForm(props: {
  plPath: string;
  segs: string[];
  type: string;
  action: Action | null;
  actions: Action[];
  integrations: Integration[];
}): JSX.Element {
  const a = props.action ?? ({} as Partial<Action>);
  const last = props.actions[props.actions.length - 1];
  const form = useForm({
    name: str(a.name),
    trigger_time: str(a.trigger_time, 'ON_EVERY_EXECUTION'),
    // RUN_DOCKER_CONTAINER
    docker_image_name: str(a.docker_image_name),
    docker_image_tag: str(a.docker_image_tag, props.type === 'RUN_DOCKER_CONTAINER' ? '' : 'latest'),
    inline_commands: str(a.inline_commands),
    entrypoint: str(a.entrypoint),
    run_as_user: str(a.run_as_user),
    mount_filesystem_disable: a.mount_filesystem_disable === true,
    export_container_path: str(a.export_container_path),
    volume_mappings: lines(a.volume_mappings),
    // DOCKERFILE
    dockerfile_path: str(a.dockerfile_path, 'Dockerfile'),
    context_path: str(a.context_path, '/'),
    build_args: lines(a.build_args),
    target_platform: str(a.target_platform),
    do_not_prune_images: a.do_not_prune_images === true,
    // DOCKER_PUSH and registries
    repository: str(a.repository),
    docker_build_action_id: str(a.docker_build_action_id, '0'),
    registry: str(a.registry),
    login: str(a.login),
    password: '',
    integration: integrationOf(a.integration),
    timeout: str(a.timeout),
    // WAIT_FOR_APPLY
    comment: str(a.comment),
  });
  // A gate runs nothing: no registry, timeout or trigger time (the API keeps it on every execution).
  const gate = props.type === 'WAIT_FOR_APPLY';
  return (
    <form
      class="form"
      aria-label="Action"
      onSubmit={form.submit(async (f) => {
        const body = bodyFor(props.type, f);
        if (!props.action) {
          body.type = props.type;
          if (last) body.after_action_id = last.id;
        }
        if (props.action) await api<Action>('PATCH', `${props.plPath}/actions/${props.action.id}`, body);
        else await api<Action>('POST', `${props.plPath}/actions`, body);
        navigate(href(props.segs));
      })}
    >
      <TextField form={form} name="name" label="Action name" required />
      {props.type === 'RUN_DOCKER_CONTAINER' && <ContainerFields form={form} />}
      {props.type === 'DOCKERFILE' && <DockerfileFields form={form} />}
      {props.type === 'DOCKER_PUSH' && <PushFields form={form} actions={props.actions} />}
      {gate && (
        <TextField
          form={form}
          name="comment"
          label="Question for the approver"
          multiline
          rows={3}
          placeholder="Deploy $BUDDY_EXECUTION_BRANCH to production?"
          hint="The run stops here until someone who may run the pipeline approves it; $VARIABLES are filled in."
        />
      )}
      {!gate && (
        <>
          <fieldset>
            <legend>Registry credentials</legend>
            <SelectField
              form={form}
              name="integration"
              label="Integration"
              options={[
                ['', 'None'],
                ...props.integrations.map((i): [string, string] => [i.identifier ?? i.hash_id, i.name]),
              ]}
            />
            <div class="grid2">
              <TextField form={form} name="registry" label="Registry" placeholder="registry.example.com" />
              <TextField form={form} name="login" label="Login" />
            </div>
            <TextField
              form={form}
              name="password"
              label={props.action ? 'New password (leave empty to keep it)' : 'Password'}
              type="password"
            />
          </fieldset>
          <div class="grid2">
            <SelectField form={form} name="trigger_time" label="When to run" options={TRIGGER_TIMES} />
            <TextField form={form} name="timeout" label="Timeout (seconds)" type="number" />
          </div>
        </>
      )}
      <FormFooter form={form} submit={props.action ? 'Save action' : 'Add action'}>
        <a class="btn" href={href(props.segs)}>
          Cancel
        </a>
      </FormFooter>
    </form>
  );
}

type F = Record<string, string | boolean>;

function bodyFor(type: string, f: F): Record<string, unknown> {
  const s = (k: string): string => String(f[k] ?? '');
  if (type === 'WAIT_FOR_APPLY') return { name: s('name'), comment: orNull(s('comment')) };
  const body: Record<string, unknown> = { name: s('name'), trigger_time: s('trigger_time') };
  if (s('timeout')) body.timeout = Number(s('timeout'));
  body.integration = s('integration') ? { identifier: s('integration') } : null;
  body.registry = orNull(s('registry'));
  body.login = orNull(s('login'));
  if (s('password')) body.password = s('password');
  if (type === 'RUN_DOCKER_CONTAINER') {
    Object.assign(body, {
      docker_image_name: s('docker_image_name'),
      docker_image_tag: s('docker_image_tag') || 'latest',
      inline_commands: s('inline_commands'),
      entrypoint: orNull(s('entrypoint')),
      run_as_user: orNull(s('run_as_user')),
      mount_filesystem_disable: f.mount_filesystem_disable === true,
      export_container_path: orNull(s('export_container_path')),
      volume_mappings: toList(s('volume_mappings')),
    });
  } else if (type === 'DOCKERFILE') {
    Object.assign(body, {
      dockerfile_path: s('dockerfile_path'),
      context_path: orNull(s('context_path')),
      docker_image_tag: s('docker_image_tag') || 'latest',
      build_args: toList(s('build_args')),
      target_platform: orNull(s('target_platform')),
      do_not_prune_images: f.do_not_prune_images === true,
    });
  } else {
    Object.assign(body, {
      repository: s('repository'),
      docker_image_tag: s('docker_image_tag') || 'latest',
      docker_build_action_id: Number(s('docker_build_action_id') || 0),
    });
  }
  return body;
}

function ContainerFields<T extends FormValues>(props: { form: FormState<T> }): JSX.Element {
  const { form } = props;
  return (
    <>
      <div class="grid2">
        <TextField form={form} name="docker_image_name" label="Image" required placeholder="library/ubuntu" />
        <TextField form={form} name="docker_image_tag" label="Tag" placeholder="latest" />
      </div>
      <TextField
        form={form}
        name="inline_commands"
        label="Commands"
        multiline
        rows={8}
        required
        placeholder="npm ci && npm test"
      />
      <div class="grid2">
        <TextField form={form} name="entrypoint" label="Entrypoint" placeholder="/bin/sh" />
        <TextField form={form} name="run_as_user" label="Run as user" />
      </div>
      <TextField
        form={form}
        name="export_container_path"
        label="Export path"
        hint="Copied back to the pipeline filesystem after the action."
      />
      <TextField
        form={form}
        name="volume_mappings"
        label="Volume mappings"
        multiline
        rows={2}
        hint="One host:container per line."
      />
      <CheckField form={form} name="mount_filesystem_disable" label="Do not mount the pipeline filesystem" />
    </>
  );
}

function DockerfileFields<T extends FormValues>(props: { form: FormState<T> }): JSX.Element {
  const { form } = props;
  return (
    <>
      <div class="grid2">
        <TextField form={form} name="dockerfile_path" label="Dockerfile path" required />
        <TextField form={form} name="context_path" label="Build context" />
      </div>
      <div class="grid2">
        <TextField form={form} name="docker_image_tag" label="Image tag" />
        <TextField form={form} name="target_platform" label="Target platform" placeholder="linux/amd64" />
      </div>
      <TextField
        form={form}
        name="build_args"
        label="Build arguments"
        multiline
        rows={3}
        hint="One NAME=value per line."
      />
      <CheckField form={form} name="do_not_prune_images" label="Keep the image after the execution" />
    </>
  );
}

function PushFields<T extends FormValues>(props: { form: FormState<T>; actions: Action[] }): JSX.Element {
  const { form } = props;
  const builds = props.actions.filter((a) => a.type === 'DOCKERFILE');
  return (
    <>
      <div class="grid2">
        <TextField form={form} name="repository" label="Repository" required placeholder="team/app" />
        <TextField form={form} name="docker_image_tag" label="Tag" />
      </div>
      <SelectField
        form={form}
        name="docker_build_action_id"
        label="Image built by"
        options={[
          ['0', 'The nearest DOCKERFILE action before it'],
          ...builds.map((b): [string, string] => [String(b.id), b.name]),
        ]}
      />
    </>
  );
}
