/** A project: its pipelines (live), the push URL, variables, environments, settings. */
import type { JSX } from 'preact';
import { api, get, path } from '../api.ts';
import {
  Badge,
  CopyLine,
  DeleteButton,
  Disclosure,
  FormFooter,
  Page,
  SelectField,
  Tabs,
  TextField,
  useData,
  useDebounced,
  useForm,
  Pending,
} from '../components.tsx';
import { shortSha } from '../format.ts';
import { useWorkspaceEvents } from '../live.ts';
import { href, navigate } from '../router.ts';
import { pipelineStatus } from '../status.ts';
import type { Pipeline, Project } from '../types.ts';
import { Environments } from './environments.tsx';
import { PipelineForm } from './pipeline.tsx';
import { ProjectTeam } from './team.tsx';
import { Variables } from './variables.tsx';

export function ProjectView(props: { ws: string; project: string; tab: string }): JSX.Element {
  const pPath = path('workspaces', props.ws, 'projects', props.project);
  const { data, error, reload } = useData(
    () =>
      Promise.all([get<Project>(pPath), get<{ pipelines: Pipeline[] }>(`${pPath}/pipelines?per_page=100`)]),
    [pPath],
  );
  const refresh = useDebounced(reload);
  useWorkspaceEvents(props.ws, (e) => {
    if (e.project_name === props.project) refresh();
  });
  const base = href(['workspaces', props.ws, 'projects', props.project]);
  const crumbs: [string, string?][] = [
    ['Workspaces', '#/'],
    [props.ws, href(['workspaces', props.ws])],
    [data?.[0].display_name ?? props.project],
  ];
  if (error || !data) return <Pending crumbs={crumbs} title={props.project} error={error} loaded={!!data} />;
  const [project, { pipelines }] = data;
  return (
    <Page crumbs={crumbs} title={project.display_name}>
      {project.custom_repo_url ? (
        <section class="panel" aria-label="Repository">
          <h2>External repository</h2>
          <CopyLine text={project.custom_repo_url} label="Copy the repository URL" />
          <p class="muted small">
            Gantry fetches it: on a signed push from the forge, by polling, and for each run.
          </p>
        </section>
      ) : (
        project.http_repository && (
          <section class="panel" aria-label="Repository">
            <h2>Push your code here</h2>
            <CopyLine text={project.http_repository} label="Copy the push URL" />
            <CopyLine
              text={`git push ${project.http_repository} HEAD:master`}
              label="Copy the push command"
            />
            <p class="muted small">
              Git asks for a password: use an API token with the REPOSITORY_WRITE scope.
            </p>
          </section>
        )
      )}
      <Tabs
        base={base}
        current={props.tab}
        tabs={[
          ['pipelines', 'Pipelines'],
          ['variables', 'Variables'],
          ['environments', 'Environments'],
          ['team', 'Team'],
          ['settings', 'Settings'],
        ]}
      />
      {props.tab === 'pipelines' && (
        <>
          <section class="panel flush" aria-label="Pipelines">
            {pipelines.length === 0 ? (
              <p class="empty">No pipelines yet.</p>
            ) : (
              <ul class="rows">
                {pipelines.map((pl) => (
                  <li key={pl.id} class="row">
                    <Badge status={pipelineStatus(pl)} />
                    <a
                      class="strong grow"
                      href={href(['workspaces', props.ws, 'projects', props.project, 'pipelines', pl.id])}
                    >
                      {pl.name}
                    </a>
                    <span class="muted small">
                      {(pl.refs ?? []).join(', ')} {shortSha(pl.last_execution_revision)}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <Disclosure label="New pipeline">
            {(close) => <PipelineForm ws={props.ws} project={props.project} onCancel={close} />}
          </Disclosure>
        </>
      )}
      {props.tab === 'variables' && (
        <Variables scope={{ workspace: props.ws, project: props.project }} title="Project variables" />
      )}
      {props.tab === 'environments' && <Environments ws={props.ws} project={props.project} />}
      {props.tab === 'team' && <ProjectTeam ws={props.ws} project={props.project} />}
      {props.tab === 'settings' && (
        <>
          <section class="panel">
            <ProjectForm ws={props.ws} project={project} onSaved={reload} />
          </section>
          <section class="panel">
            <h2>Danger zone</h2>
            <DeleteButton
              what="this project"
              onDelete={async () => {
                await api('DELETE', pPath);
                navigate(href(['workspaces', props.ws]));
              }}
            />
          </section>
        </>
      )}
    </Page>
  );
}

/** Create or edit a project: hosted by Gantry (push to it) or an external repository Gantry fetches. */
export function ProjectForm(props: {
  ws: string;
  project?: Project;
  onCancel?: () => void;
  /** Editing: the page reloads what it shows (the address may not change, so nothing else would). */
  onSaved?: () => void;
}): JSX.Element {
  const p = props.project;
  const form = useForm({
    display_name: p?.display_name ?? '',
    name: p?.name ?? '',
    repository: p?.custom_repo_url ? 'external' : 'hosted',
    custom_repo_url: p?.custom_repo_url ?? '',
    custom_repo_user: p?.custom_repo_user ?? '',
    custom_repo_pass: '',
  });
  const external = form.values.repository === 'external';
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const body: Record<string, unknown> = { display_name: f.display_name };
        if (f.name) body.name = f.name;
        if (f.repository === 'external') {
          body.custom_repo_url = f.custom_repo_url;
          if (f.custom_repo_user) body.custom_repo_user = f.custom_repo_user;
          if (f.custom_repo_pass) body.custom_repo_pass = f.custom_repo_pass;
        }
        const base = path('workspaces', props.ws, 'projects');
        const saved = p
          ? await api<Project>('PATCH', `${base}/${encodeURIComponent(p.name)}`, body)
          : await api<Project>('POST', base, body);
        props.onSaved?.();
        navigate(href(['workspaces', props.ws, 'projects', saved.name]), !!p);
      })}
    >
      <h2>{p ? 'Project settings' : 'New project'}</h2>
      <TextField form={form} name="display_name" label="Display name" required />
      <TextField
        form={form}
        name="name"
        label="Name (URL)"
        hint="Leave empty to derive it from the display name."
      />
      {!p && (
        <SelectField
          form={form}
          name="repository"
          label="Repository"
          options={[
            ['hosted', 'Hosted by Gantry (push to it)'],
            ['external', 'External repository (Gantry fetches it)'],
          ]}
        />
      )}
      {external && (
        <>
          <TextField
            form={form}
            name="custom_repo_url"
            label="Repository URL"
            required
            placeholder="https://git.example.com/team/app.git"
          />
          <TextField form={form} name="custom_repo_user" label="User (optional)" />
          <TextField
            form={form}
            name="custom_repo_pass"
            label={p ? 'New password (leave empty to keep it)' : 'Password or token (optional)'}
            type="password"
          />
        </>
      )}
      <FormFooter form={form} submit={p ? 'Save project' : 'Create project'} onCancel={props.onCancel} />
    </form>
  );
}
