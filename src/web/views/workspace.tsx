/** A workspace: its projects (live statuses), variables, environments, integrations, settings. */
import type { JSX } from 'preact';
import { api, get, path } from '../api.ts';
import { DeleteButton, Disclosure, Page, Tabs, useData, useDebounced, Pending } from '../components.tsx';
import { useWorkspaceEvents } from '../live.ts';
import { href, navigate } from '../router.ts';
import type { Project, Workspace } from '../types.ts';
import { Environments } from './environments.tsx';
import { Groups } from './groups.tsx';
import { Integrations } from './integrations.tsx';
import { Members, PermissionSets } from './members.tsx';
import { ProjectForm } from './project.tsx';
import { Variables } from './variables.tsx';
import { WorkspaceForm } from './workspaces.tsx';

export function WorkspaceView(props: { ws: string; tab: string }): JSX.Element {
  const wsPath = path('workspaces', props.ws);
  const { data, error, reload } = useData(
    () =>
      Promise.all([
        get<Workspace>(wsPath),
        get<{ projects: (Project & { last_execution_status?: string })[] }>(
          `${wsPath}/projects?per_page=100`,
        ),
      ]),
    [wsPath],
  );
  const refresh = useDebounced(reload);
  useWorkspaceEvents(props.ws, refresh);
  const base = href(['workspaces', props.ws]);
  const crumbs: [string, string?][] = [['Workspaces', '#/'], [data?.[0].name ?? props.ws]];
  if (error || !data) return <Pending crumbs={crumbs} title={props.ws} error={error} loaded={!!data} />;
  const [ws, { projects }] = data;
  return (
    <Page crumbs={crumbs} title={ws.name}>
      <Tabs
        base={base}
        current={props.tab}
        tabs={[
          ['projects', 'Projects'],
          ['variables', 'Variables'],
          ['environments', 'Environments'],
          ['integrations', 'Integrations'],
          ['members', 'Members'],
          ['groups', 'Groups'],
          ['permissions', 'Permissions'],
          ['settings', 'Settings'],
        ]}
      />
      {props.tab === 'projects' && (
        <>
          <section class="panel flush" aria-label="Projects">
            {projects.length === 0 ? (
              <p class="empty">No projects yet: create one below, then push code to it.</p>
            ) : (
              <ul class="rows">
                {projects.map((p) => (
                  <li key={p.name} class="row">
                    <a class="strong grow" href={href(['workspaces', props.ws, 'projects', p.name])}>
                      {p.display_name}
                    </a>
                    <code class="muted">{p.name}</code>
                    {p.status !== 'ACTIVE' && <span class="tag">{p.status}</span>}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <Disclosure label="New project">
            {(close) => <ProjectForm ws={props.ws} onCancel={close} />}
          </Disclosure>
        </>
      )}
      {props.tab === 'variables' && <Variables scope={{ workspace: props.ws }} title="Workspace variables" />}
      {props.tab === 'environments' && <Environments ws={props.ws} />}
      {props.tab === 'integrations' && <Integrations ws={props.ws} />}
      {props.tab === 'members' && <Members ws={props.ws} />}
      {props.tab === 'groups' && <Groups ws={props.ws} />}
      {props.tab === 'permissions' && <PermissionSets ws={props.ws} />}
      {props.tab === 'settings' && (
        <>
          <section class="panel">
            <WorkspaceForm workspace={ws} onSaved={reload} />
          </section>
          <section class="panel">
            <h2>Danger zone</h2>
            <DeleteButton
              what="this workspace"
              onDelete={async () => {
                await api('DELETE', wsPath);
                navigate('#/');
              }}
            />
          </section>
        </>
      )}
    </Page>
  );
}
