/** Entry point: the top bar, sign-in state and the route table. */
import type { JSX } from 'preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.ts';
import { match, useRoute } from './router.ts';
import { session } from './session.ts';
import type { User } from './types.ts';
import { ActionView } from './views/action.tsx';
import { ExecutionView } from './views/execution.tsx';
import { Login, SetPassword } from './views/login.tsx';
import { PipelineView } from './views/pipeline.tsx';
import { ProjectView } from './views/project.tsx';
import { UserView } from './views/user.tsx';
import { WorkspaceView } from './views/workspace.tsx';
import { Workspaces } from './views/workspaces.tsx';

const P = 'workspaces/:ws/projects/:project/pipelines/:pid';

function View(): JSX.Element {
  const { segs, query } = useRoute();
  const tab = query.get('tab');
  let m: Record<string, string> | null;
  if (segs.length === 0 || match('workspaces', segs)) return <Workspaces />;
  if (match('user', segs)) return <UserView />;
  if ((m = match('workspaces/:ws', segs)))
    return <WorkspaceView key={m.ws} ws={m.ws!} tab={tab ?? 'projects'} />;
  if ((m = match('workspaces/:ws/projects/:project', segs)))
    return <ProjectView ws={m.ws!} project={m.project!} tab={tab ?? 'pipelines'} />;
  if ((m = match(P, segs)))
    return (
      <PipelineView
        ws={m.ws!}
        project={m.project!}
        pid={m.pid!}
        tab={tab ?? 'runs'}
        page={Math.max(1, Number(query.get('page') ?? 1) || 1)}
      />
    );
  if ((m = match(`${P}/actions/:aid`, segs)))
    return (
      <ActionView ws={m.ws!} project={m.project!} pid={m.pid!} aid={m.aid!} type={query.get('type') ?? ''} />
    );
  if (
    (m = match(`${P}/executions/:eid`, segs)) ??
    (m = match(`${P}/executions/:eid/action_executions/:ae`, segs))
  )
    return (
      <ExecutionView
        ws={m.ws!}
        project={m.project!}
        pid={m.pid!}
        eid={m.eid!}
        focusAe={m.ae ?? query.get('ae')}
        line={Number(query.get('line')) || null}
      />
    );
  return (
    <section class="panel">
      <h1>Page not found</h1>
      <p>
        Nothing here. <a href="#/">Go to the workspaces</a>.
      </p>
    </section>
  );
}

function App(): JSX.Element {
  const [token, setToken] = useState(session.token());
  const [message, setMessage] = useState('');
  const [me, setMe] = useState<User | null>(null);
  useEffect(
    () =>
      session.subscribe((msg) => {
        setToken(session.token());
        setMessage(msg);
      }),
    [],
  );
  useEffect(() => {
    setMe(null);
    if (token) get<User>('/user').then(setMe, () => setMe(null));
  }, [token]);
  const { segs, query } = useRoute();
  const setPassword = match('set-password', segs) ? (query.get('token') ?? '') : null;
  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/">
          <span class="logo" aria-hidden="true" />
          Gantry
        </a>
        {token && (
          <nav class="who" aria-label="Account">
            <a href="#/user">{me?.name ?? 'Account'}</a>
            <button type="button" class="link light" onClick={() => session.signOut('')}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main id="main">
        {setPassword !== null ? (
          <SetPassword token={setPassword} />
        ) : token ? (
          <View />
        ) : (
          <Login message={message} />
        )}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
