// Gantry web UI: a hash-routed single page over the Buddy.Works-compatible API.
// Vanilla JS, no build step. Every piece of API data reaches the page through
// textContent / attributes (see h()), never through innerHTML.
'use strict';

(function () {
  const TOKEN_KEY = 'gantry.token';
  const BASE = location.pathname.replace(/[^/]*$/, ''); // where the UI is mounted, e.g. "/"
  const API = BASE + 'api';
  const LOG_CAP = 5000; // lines kept in a live log viewer's DOM
  const LOG_CHUNK = 500; // lines per text node, the unit dropped when over the cap
  const EARLIER_PAGE = 1000; // lines per page when reading earlier log lines (API maximum)
  const EXEC_PAGE = 20;
  const ACTIVE = [
    'INITIAL',
    'ENQUEUED',
    'INPROGRESS',
    'TERMINATING',
    'WAITING_FOR_APPLY',
    'WAITING_FOR_VARIABLES',
  ];
  const FINAL_EXEC = ['SUCCESSFUL', 'FAILED', 'TERMINATED', 'NOT_EXECUTED'];

  const viewEl = document.getElementById('view');
  const crumbsEl = document.getElementById('crumbs');
  const whoEl = document.getElementById('who');

  let token = readToken();
  let me = null; // the signed-in user, fetched once
  let loginMessage = '';
  let cleanups = [];
  let renderSeq = 0;

  // ---------------------------------------------------------------- helpers

  function readToken() {
    try {
      return localStorage.getItem(TOKEN_KEY) || '';
    } catch (_e) {
      return '';
    }
  }

  function storeToken(t) {
    token = t;
    me = null;
    try {
      if (t) localStorage.setItem(TOKEN_KEY, t);
      else localStorage.removeItem(TOKEN_KEY);
    } catch (_e) {
      /* storage unavailable: the token lives for this page only */
    }
  }

  /** Creates an element. attrs: class, on<event> handlers, dataset-free plain attributes; children: strings, nodes, arrays, null. */
  /** A list table: `headers` are titles or [title, attrs]; `row` builds each item's <tr>. */
  function listTable(headers, items, row) {
    const th = headers.map((x) => (Array.isArray(x) ? h('th', x[1], x[0]) : h('th', null, x)));
    return h(
      'table',
      { class: 'list' },
      h('thead', null, h('tr', null, ...th)),
      h('tbody', null, items.map(row)),
    );
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'class') el.className = v;
        else if (k === 'value') el.value = v;
        else if (k === 'checked') el.checked = !!v;
        else if (k === 'href') el.setAttribute('href', safeHref(v));
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(el, children);
    return el;
  }

  /** Replaces an element's children; null/false are skipped and arrays flattened, as in h(). */
  function fill(el, ...children) {
    while (el.firstChild) el.removeChild(el.firstChild);
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else if (c instanceof Node) el.appendChild(c);
      else el.appendChild(document.createTextNode(String(c)));
    }
  }

  /** Only in-page hash links are ever put in an href built from data (never javascript:, never another origin). */
  function safeHref(v) {
    const s = String(v);
    return s.startsWith('#') ? s : '#/';
  }

  /** "/a/b c" from segments, each URL-encoded. */
  function path(...segs) {
    return '/' + segs.map((s) => encodeURIComponent(String(s))).join('/');
  }

  /** The in-page link of an API object: the hash part of its html_url, else a fallback path. */
  function linkOf(obj, fallback) {
    const u = obj && typeof obj.html_url === 'string' ? obj.html_url : '';
    const i = u.indexOf('#');
    return i >= 0 ? u.slice(i) : '#' + fallback;
  }

  function badge(status, large) {
    const s = status || 'none';
    const label = status ? String(status).replace(/_/g, ' ') : 'never run';
    return h(
      'span',
      {
        class: 'badge s-' + s.replace(/[^A-Z_a-z]/g, '') + (large ? ' large' : ''),
        title: status || 'no executions yet',
      },
      label,
    );
  }

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  function fmtDate(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function fmtAgo(iso) {
    if (!iso) return '—';
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return String(iso);
    const s = Math.round((Date.now() - t) / 1000);
    if (s < 5) return 'just now';
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    if (s < 86400 * 30) return Math.floor(s / 86400) + ' d ago';
    return fmtDate(iso).slice(0, 10);
  }

  function when(iso) {
    return h('span', { title: iso ? fmtDate(iso) : null }, fmtAgo(iso));
  }

  function fmtDuration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(ms) || ms < 0) return '';
    const s = Math.floor(ms / 1000);
    if (s < 1) return (ms / 1000).toFixed(1) + 's';
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + pad(s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + pad(Math.floor((s % 3600) / 60)) + 'm';
  }

  function durationOf(start, finish) {
    if (!start) return '';
    const a = Date.parse(start);
    const b = finish ? Date.parse(finish) : Date.now();
    return fmtDuration(b - a);
  }

  function shortSha(sha) {
    return sha ? String(sha).slice(0, 8) : '';
  }

  function firstLine(s) {
    return s ? String(s).split('\n')[0] : '';
  }

  function num(n) {
    return Number(n || 0).toLocaleString('en-US');
  }

  function onCleanup(fn) {
    cleanups.push(fn);
  }

  function runCleanups() {
    const list = cleanups;
    cleanups = [];
    for (const fn of list) {
      try {
        fn();
      } catch (_e) {
        /* ignore */
      }
    }
  }

  function setTitle(...parts) {
    document.title = [...parts.filter(Boolean), 'Gantry'].join(' · ');
  }

  /** Breadcrumbs: a list of [label, href?]; the last one is the current page. */
  function setCrumbs(items) {
    const nodes = [];
    items.forEach(([label, href], i) => {
      if (i > 0) nodes.push(h('span', { class: 'sep' }, '/'));
      nodes.push(
        i === items.length - 1 || !href ? h('span', { class: 'current' }, label) : h('a', { href }, label),
      );
    });
    fill(crumbsEl, ...nodes);
  }

  async function copyText(text, btn) {
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch (_e) {
      ok = false;
    }
    if (!ok) {
      const ta = h('textarea', { style: 'position:fixed;left:-9999px;top:0' });
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try {
        ok = document.execCommand('copy');
      } catch (_e) {
        ok = false;
      }
      ta.remove();
    }
    const old = btn.textContent;
    btn.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => {
      btn.textContent = old;
    }, 1400);
  }

  function copyLine(text) {
    const btn = h('button', { type: 'button', onclick: () => copyText(text, btn) }, 'Copy');
    return h('div', { class: 'copyline' }, h('code', null, text), btn);
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function messageOf(data, res) {
    if (data && Array.isArray(data.errors) && data.errors.length > 0) {
      return data.errors.map((e) => (e && e.message) || JSON.stringify(e)).join('; ');
    }
    return `HTTP ${res.status} ${res.statusText || ''}`.trim();
  }

  async function api(method, apiPath, body) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(API + apiPath, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(
        0,
        'cannot reach the server (' + (e && e.message ? e.message : 'network error') + ')',
      );
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_e) {
        data = null;
      }
    }
    if (!res.ok) {
      const err = new ApiError(res.status, messageOf(data, res));
      if (res.status === 401) signOut(err.message);
      throw err;
    }
    return data;
  }

  /** URL of an SSE endpoint; EventSource cannot send headers, so the token rides in the query. */
  function streamUrl(apiPath) {
    return API + apiPath + '?access_token=' + encodeURIComponent(token);
  }

  function errorBox(err) {
    const msg = err && err.message ? err.message : String(err);
    const status = err && err.status ? ` (HTTP ${err.status})` : '';
    return h('div', { class: 'alert error', role: 'alert' }, msg + status);
  }

  // ---------------------------------------------------------------- sign-in

  function signOut(message) {
    storeToken('');
    loginMessage = message || '';
    fill(whoEl);
    runCleanups();
    renderSeq++;
    showLogin();
  }

  function showLogin() {
    setTitle('Sign in');
    setCrumbs([['Sign in']]);
    fill(whoEl);
    const input = h('input', {
      type: 'password',
      id: 'token-input',
      placeholder: 'API token',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-label': 'API token',
    });
    const err = h('div', { class: 'alert error', role: 'alert' }, loginMessage);
    const submit = h('button', { class: 'primary', type: 'submit' }, 'Sign in');
    const form = h(
      'form',
      {
        onsubmit: async (ev) => {
          ev.preventDefault();
          const t = input.value.trim();
          if (!t) {
            err.textContent = 'Paste a token first.';
            return;
          }
          submit.disabled = true;
          storeToken(t);
          try {
            me = await api('GET', '/user');
            loginMessage = '';
            route();
          } catch (e) {
            if (e.status !== 401) {
              storeToken('');
              loginMessage = e.message;
              showLogin();
            }
          }
        },
      },
      input,
      submit,
    );
    fill(
      viewEl,
      h(
        'div',
        { class: 'panel login' },
        h('h1', null, 'Sign in to Gantry'),
        h(
          'p',
          null,
          'Gantry needs an API token. When the server starts with an empty data directory it creates an admin token with every scope and writes it to ',
          h('code', null, '<data-dir>/admin.token'),
          ' (the data directory is ',
          h('code', null, './data'),
          ' unless ',
          h('code', null, '--data-dir'),
          ' or ',
          h('code', null, 'GANTRY_DATA_DIR'),
          ' says otherwise), e.g. ',
          h('code', null, 'cat ./data/admin.token'),
          '. More tokens: ',
          h('code', null, 'gantry token create --name me'),
          '.',
        ),
        err,
        form,
        h(
          'p',
          { class: 'muted small' },
          'The token is kept in this browser (localStorage) and sent as “Authorization: Bearer”. Use “Sign out” to forget it.',
        ),
      ),
    );
    input.focus();
  }

  async function showWho() {
    if (!token) return;
    if (!me) {
      try {
        me = await api('GET', '/user');
      } catch (_e) {
        return;
      }
    }
    fill(
      whoEl,
      h('a', { href: '#/user', title: me.email || '' }, me.name || me.email || 'signed in'),
      h(
        'a',
        {
          href: '#/',
          onclick: (ev) => {
            ev.preventDefault();
            signOut('');
          },
        },
        'Sign out',
      ),
    );
  }

  // ---------------------------------------------------------------- router

  function decodeSeg(s) {
    try {
      return decodeURIComponent(s);
    } catch (_e) {
      return s;
    }
  }

  function parseHash() {
    let raw = location.hash.replace(/^#/, '');
    const qi = raw.indexOf('?');
    const query = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
    if (qi >= 0) raw = raw.slice(0, qi);
    return { segs: raw.split('/').filter(Boolean).map(decodeSeg), query };
  }

  /** `#token=<t>[&next=/path]` stores the token once and strips it from the address. */
  function consumeTokenHash() {
    const raw = location.hash.replace(/^#/, '');
    if (!raw.startsWith('token=')) return false;
    const params = new URLSearchParams(raw);
    const t = (params.get('token') || '').trim();
    const next = params.get('next') || '/';
    if (t) storeToken(t);
    loginMessage = '';
    history.replaceState(
      null,
      '',
      location.pathname + location.search + '#' + (next.startsWith('/') ? next : '/' + next),
    );
    return true;
  }

  function match(segs) {
    if (segs.length === 0 || (segs.length === 1 && segs[0] === 'workspaces')) return () => viewWorkspaces();
    if (segs[0] === 'user') return () => viewUser();
    if (segs[0] !== 'workspaces') return null;
    const ws = segs[1];
    if (segs[2] !== 'projects' || segs.length < 4) return () => viewWorkspace(ws);
    const project = segs[3];
    if (segs[4] !== 'pipelines' || segs.length < 6) return () => viewProject(ws, project);
    const pid = segs[5];
    if (segs[6] === 'actions' && segs[7]) return () => viewAction(ws, project, pid, segs[7]);
    if (segs[6] === 'executions' && segs[7]) {
      const focus = segs[8] === 'action_executions' && segs[9] ? segs[9] : null;
      return () => viewExecution(ws, project, pid, segs[7], focus);
    }
    return () => viewPipeline(ws, project, pid);
  }

  async function route() {
    consumeTokenHash();
    runCleanups();
    const seq = ++renderSeq;
    if (!token) {
      showLogin();
      return;
    }
    showWho();
    const { segs } = parseHash();
    const view = match(segs);
    fill(viewEl, h('p', { class: 'spinner' }, 'Loading…'));
    if (!view) {
      setCrumbs([['Workspaces', '#/'], ['Not found']]);
      fill(
        viewEl,
        h(
          'div',
          { class: 'panel' },
          h('h1', null, 'Page not found'),
          h('p', null, 'Nothing here. ', h('a', { href: '#/' }, 'Go to the workspaces'), '.'),
        ),
      );
      return;
    }
    try {
      await view();
    } catch (e) {
      if (seq !== renderSeq || (e && e.status === 401)) return;
      fill(viewEl, errorBox(e), h('p', null, h('a', { href: '#/' }, '← Workspaces')));
    }
  }

  /** True while the render that called it is still the current page. */
  function currentRender() {
    const seq = renderSeq;
    return () => seq === renderSeq;
  }

  function show(...nodes) {
    fill(viewEl, ...nodes);
  }

  function pager(page, totalPages, total, noun, go) {
    if (!totalPages || totalPages <= 1)
      return h('div', { class: 'pager' }, h('span', null, num(total) + ' ' + noun));
    return h(
      'div',
      { class: 'pager' },
      h('span', null, `Page ${page} of ${totalPages} · ${num(total)} ${noun}`),
      h(
        'div',
        { class: 'btns' },
        h('button', { class: 'small', disabled: page <= 1, onclick: () => go(page - 1) }, '← Newer'),
        h('button', { class: 'small', disabled: page >= totalPages, onclick: () => go(page + 1) }, 'Older →'),
      ),
    );
  }

  // ---------------------------------------------------------------- views: workspaces, projects

  async function viewWorkspaces() {
    setTitle('Workspaces');
    setCrumbs([['Workspaces']]);
    const alive = currentRender();
    const data = await api('GET', '/workspaces');
    if (!alive()) return;
    const list = data.workspaces || [];
    show(
      h(
        'div',
        { class: 'page-head' },
        h(
          'div',
          null,
          h('h1', null, 'Workspaces'),
          h('div', { class: 'sub' }, num(list.length) + ' workspace' + (list.length === 1 ? '' : 's')),
        ),
      ),
      h(
        'div',
        { class: 'panel flush' },
        list.length === 0
          ? h(
              'div',
              { class: 'empty' },
              'No workspaces yet. Create one with the API: ',
              h(
                'code',
                null,
                `curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d '{"name":"My team","domain":"my-team"}' ${location.origin}${API}/workspaces`,
              ),
            )
          : listTable(['Name', 'Domain', 'Created'], list, (w) =>
              h(
                'tr',
                null,
                h('td', null, h('a', { href: linkOf(w, path('workspaces', w.domain)) }, w.name || w.domain)),
                h('td', { class: 'mono' }, w.domain),
                h('td', { class: 'nowrap' }, when(w.create_date)),
              ),
            ),
      ),
    );
  }

  async function viewWorkspace(ws) {
    setTitle(ws);
    setCrumbs([['Workspaces', '#/'], [ws]]);
    const alive = currentRender();
    const page = Math.max(1, Number(parseHash().query.get('page')) || 1);
    const [w, data] = await Promise.all([
      api('GET', path('workspaces', ws)),
      api('GET', path('workspaces', ws, 'projects') + `?page=${page}&per_page=50`),
    ]);
    if (!alive()) return;
    setTitle(w.name || ws);
    setCrumbs([['Workspaces', '#/'], [w.name || ws]]);
    const list = data.projects || [];
    const base = '#' + path('workspaces', ws);
    show(
      h(
        'div',
        { class: 'page-head' },
        h(
          'div',
          null,
          h('h1', null, w.name || ws),
          h(
            'div',
            { class: 'sub' },
            'Workspace ',
            h('span', { class: 'mono' }, w.domain),
            ' · created ',
            when(w.create_date),
          ),
        ),
      ),
      h(
        'div',
        { class: 'panel flush' },
        h('h2', null, 'Projects'),
        list.length === 0
          ? h(
              'div',
              { class: 'empty' },
              'No projects yet. Create one with ',
              h('code', null, `POST ${API}${path('workspaces', ws, 'projects')} {"display_name":"My app"}`),
              ' — without custom_repo_url it gets a hosted git repository you can push to.',
            )
          : listTable(['Project', 'Status', 'Repository', 'Created'], list, (p) =>
              h(
                'tr',
                null,
                h(
                  'td',
                  null,
                  h(
                    'a',
                    { href: linkOf(p, path('workspaces', ws, 'projects', p.name)) },
                    p.display_name || p.name,
                  ),
                  h('div', { class: 'muted small mono' }, p.name),
                ),
                h(
                  'td',
                  null,
                  p.status === 'CLOSED'
                    ? h('span', { class: 'badge s-SKIPPED' }, 'CLOSED')
                    : h('span', { class: 'muted' }, p.status || ''),
                ),
                h(
                  'td',
                  { class: 'small' },
                  p.http_repository
                    ? h('span', null, 'hosted')
                    : h(
                        'span',
                        { class: 'mono ellipsis', title: p.custom_repo_url || '' },
                        p.custom_repo_url || '—',
                      ),
                ),
                h(
                  'td',
                  { class: 'nowrap' },
                  when(p.create_date),
                  p.created_by ? h('div', { class: 'muted small' }, 'by ' + (p.created_by.name || '')) : null,
                ),
              ),
            ),
        pager(data.page || page, data.total_page_count, data.total_element_count, 'projects', (n) => {
          location.hash = base + '?page=' + n;
        }),
      ),
    );
  }

  async function viewProject(ws, projectName) {
    setTitle(projectName);
    setCrumbs([['Workspaces', '#/'], [ws, '#' + path('workspaces', ws)], [projectName]]);
    const alive = currentRender();
    const [p, data] = await Promise.all([
      api('GET', path('workspaces', ws, 'projects', projectName)),
      api('GET', path('workspaces', ws, 'projects', projectName, 'pipelines') + '?per_page=100'),
    ]);
    if (!alive()) return;
    setTitle(p.display_name || p.name, ws);
    setCrumbs([['Workspaces', '#/'], [ws, '#' + path('workspaces', ws)], [p.display_name || p.name]]);
    const pipelines = data.pipelines || [];

    let repo;
    if (p.http_repository) {
      const dir = p.name;
      repo = h(
        'div',
        null,
        h(
          'p',
          { class: 'muted small', style: 'margin-top:0' },
          'Hosted repository. Git asks for a password: use an API token (any user name).',
        ),
        h(
          'div',
          { class: 'field' },
          h('label', null, 'Clone'),
          copyLine(`git clone ${p.http_repository} ${dir}`),
        ),
        h(
          'div',
          { class: 'field', style: 'margin-top:10px' },
          h('label', null, 'Push an existing repository'),
          copyLine(
            `git remote add gantry ${p.http_repository} && git push gantry ${p.default_branch || 'master'}`,
          ),
        ),
      );
    } else if (p.custom_repo_url) {
      repo = h(
        'div',
        null,
        h('p', { class: 'muted small', style: 'margin-top:0' }, 'External repository'),
        copyLine(`git clone ${p.custom_repo_url}`),
      );
    } else {
      repo = h('p', { class: 'muted' }, 'This project has no repository.');
    }

    show(
      h(
        'div',
        { class: 'page-head' },
        h(
          'div',
          null,
          h(
            'div',
            { class: 'title' },
            h('h1', null, p.display_name || p.name),
            p.status === 'CLOSED' ? h('span', { class: 'badge s-SKIPPED' }, 'CLOSED') : null,
          ),
          h(
            'div',
            { class: 'sub' },
            h('span', { class: 'mono' }, p.name),
            ' · default branch ',
            h('span', { class: 'mono' }, p.default_branch || '—'),
            ' · created ',
            when(p.create_date),
            p.created_by ? ' by ' + (p.created_by.name || '') : '',
          ),
        ),
      ),
      h(
        'div',
        { class: 'panel flush' },
        h('h2', null, 'Pipelines'),
        pipelines.length === 0
          ? h(
              'div',
              { class: 'empty' },
              'No pipelines yet. Create one with ',
              h('code', null, `POST ${API}${path('workspaces', ws, 'projects', p.name, 'pipelines')}`),
              '.',
            )
          : listTable(['Pipeline', 'Last execution', 'Trigger', 'Refs', 'Priority'], pipelines, (pl) =>
              h(
                'tr',
                null,
                h(
                  'td',
                  null,
                  h(
                    'a',
                    { href: linkOf(pl, path('workspaces', ws, 'projects', p.name, 'pipelines', pl.id)) },
                    pl.name || 'pipeline ' + pl.id,
                  ),
                  h(
                    'div',
                    { class: 'muted small' },
                    '#' + pl.id,
                    pl.identifier ? ' · ' + pl.identifier : '',
                    pl.disabled ? ' · disabled' : '',
                    pl.paused ? ' · paused' : '',
                  ),
                ),
                h(
                  'td',
                  null,
                  badge(pl.last_execution_status === 'INITIAL' ? null : pl.last_execution_status),
                  pl.last_execution_revision
                    ? h(
                        'div',
                        { class: 'muted small' },
                        h('span', { class: 'mono' }, shortSha(pl.last_execution_revision)),
                      )
                    : null,
                ),
                h('td', { class: 'small' }, triggerText(pl)),
                h('td', { class: 'small mono' }, (pl.refs || []).join(', ') || '—'),
                h('td', { class: 'small' }, pl.priority || ''),
              ),
            ),
      ),
      h('div', { class: 'panel' }, h('h2', null, 'Repository'), repo),
    );
  }

  function triggerText(pl) {
    const events = Array.isArray(pl.events) ? pl.events : [];
    if (events.length > 0) {
      return events
        .map(
          (e) =>
            (e.type || '?') +
            (e.cron ? ' ' + e.cron : '') +
            (e.refs && e.refs.length ? ' ' + e.refs.join(', ') : ''),
        )
        .join('; ');
    }
    if (pl.on) return pl.on === 'CLICK' ? 'manual' : pl.on;
    return 'manual';
  }

  // ---------------------------------------------------------------- view: pipeline

  async function viewPipeline(ws, projectName, pid) {
    const pPath = path('workspaces', ws, 'projects', projectName, 'pipelines', pid);
    setTitle('Pipeline ' + pid);
    setCrumbs([
      ['Workspaces', '#/'],
      [ws, '#' + path('workspaces', ws)],
      [projectName, '#' + path('workspaces', ws, 'projects', projectName)],
      ['Pipeline ' + pid],
    ]);
    const alive = currentRender();
    const page = Math.max(1, Number(parseHash().query.get('page')) || 1);
    const [pl, actionsData, execs] = await Promise.all([
      api('GET', pPath),
      api('GET', pPath + '/actions'),
      api('GET', pPath + `/executions?page=${page}&per_page=${EXEC_PAGE}`),
    ]);
    if (!alive()) return;
    const projectLabel = (pl.project && pl.project.display_name) || projectName;
    setTitle(pl.name, projectLabel);
    setCrumbs([
      ['Workspaces', '#/'],
      [ws, '#' + path('workspaces', ws)],
      [projectLabel, '#' + path('workspaces', ws, 'projects', projectName)],
      [pl.name || 'Pipeline ' + pid],
    ]);

    const headBadge = h(
      'span',
      null,
      badge(pl.last_execution_status === 'INITIAL' ? null : pl.last_execution_status, true),
    );
    const runPanel = runForm(pPath, pl);
    const execPanel = h('div', { class: 'panel flush' });
    const actions = actionsData.actions || [];

    function renderExecs(data) {
      const list = data.executions || [];
      fill(
        execPanel,
        h('h2', null, 'Executions'),
        list.length === 0
          ? h(
              'div',
              { class: 'empty' },
              page > 1
                ? 'No executions on this page.'
                : 'This pipeline has not run yet. Use “Run” to start it.',
            )
          : listTable(
              ['#', 'Status', 'Revision', 'Branch', 'Triggered', 'Started', ['Duration', { class: 'num' }]],
              list,
              (e) => {
                const rev = e.to_revision;
                const href = linkOf(e, pPath + '/executions/' + e.id);
                return h(
                  'tr',
                  null,
                  h('td', { class: 'nowrap' }, h('a', { href }, '#' + e.id)),
                  h('td', null, h('a', { href, style: 'text-decoration:none' }, badge(e.status))),
                  h(
                    'td',
                    null,
                    rev
                      ? h(
                          'div',
                          { class: 'ellipsis', title: rev.message || '' },
                          h('span', { class: 'sha' }, shortSha(rev.revision)),
                          ' ',
                          firstLine(rev.message),
                        )
                      : h('span', { class: 'muted' }, '—'),
                    e.comment
                      ? h(
                          'div',
                          { class: 'muted small ellipsis', title: e.comment },
                          '“' + firstLine(e.comment) + '”',
                        )
                      : null,
                  ),
                  h(
                    'td',
                    { class: 'mono small' },
                    e.branch ? e.branch.name : e.tag ? 'tag ' + e.tag.name : '—',
                  ),
                  h(
                    'td',
                    { class: 'small' },
                    e.creator ? e.creator.name : '',
                    h('div', { class: 'muted' }, (e.triggered_on || '').toLowerCase()),
                  ),
                  h(
                    'td',
                    { class: 'nowrap small' },
                    e.start_date
                      ? when(e.start_date)
                      : h(
                          'span',
                          { class: 'muted' },
                          e.delay_until ? 'delayed until ' + fmtDate(e.delay_until) : 'queued',
                        ),
                  ),
                  h(
                    'td',
                    { class: 'num small', 'data-start': e.finish_date ? null : e.start_date },
                    durationOf(e.start_date, e.finish_date),
                  ),
                );
              },
            ),
        pager(data.page || page, data.total_page_count, data.total_element_count, 'executions', (n) => {
          location.hash = '#' + pPath + '?page=' + n;
        }),
      );
      const top = list[0];
      if (page === 1 && top) fill(headBadge, badge(top.status, true));
    }
    renderExecs(execs);

    // Keep the list fresh while something runs (there is no pipeline-wide event stream).
    let lastData = execs;
    const poll = setInterval(async () => {
      const active = (lastData.executions || []).some((e) => ACTIVE.includes(e.status));
      if (!active) return;
      try {
        const data = await api('GET', pPath + `/executions?page=${page}&per_page=${EXEC_PAGE}`);
        if (!alive()) return;
        lastData = data;
        renderExecs(data);
      } catch (_e) {
        /* transient; the next tick retries */
      }
    }, 3000);
    onCleanup(() => clearInterval(poll));
    const ticker = setInterval(() => tickDurations(execPanel), 1000);
    onCleanup(() => clearInterval(ticker));

    show(
      h(
        'div',
        { class: 'page-head' },
        h(
          'div',
          null,
          h('div', { class: 'title' }, h('h1', null, pl.name || 'Pipeline ' + pid), headBadge),
          h(
            'div',
            { class: 'sub' },
            '#' + pl.id,
            pl.identifier ? ' · ' + pl.identifier : '',
            ' · trigger: ',
            triggerText(pl),
            (pl.refs || []).length ? ' · refs ' + pl.refs.join(', ') : '',
            ' · priority ',
            pl.priority || 'NORMAL',
          ),
        ),
        h('div', { class: 'actions-row' }, runPanel.toggle),
      ),
      runPanel.panel,
      h(
        'div',
        { class: 'panel flush' },
        h('h2', null, 'Actions'),
        actions.length === 0
          ? h(
              'div',
              { class: 'empty' },
              'No actions yet. Add one with ',
              h('code', null, `POST ${API}${pPath}/actions`),
              '.',
            )
          : listTable(['#', 'Action', 'Type', 'Runs', 'Details', 'Last status'], actions, (a, i) =>
              h(
                'tr',
                null,
                h('td', { class: 'muted' }, String(i + 1)),
                h(
                  'td',
                  null,
                  h('a', { href: linkOf(a, pPath + '/actions/' + a.id) }, a.name || 'action ' + a.id),
                  a.disabled ? h('span', { class: 'muted small' }, ' (disabled)') : null,
                ),
                h('td', { class: 'small mono' }, a.type || ''),
                h(
                  'td',
                  { class: 'small' },
                  (a.trigger_time || '').replace(/_/g, ' ').toLowerCase(),
                  a.run_next && a.run_next !== 'WAIT_ON_SUCCESS'
                    ? h('div', { class: 'muted' }, a.run_next.replace(/_/g, ' ').toLowerCase())
                    : null,
                ),
                h('td', { class: 'small' }, actionSummary(a)),
                h('td', null, badge(a.last_execution_status === 'INITIAL' ? null : a.last_execution_status)),
              ),
            ),
      ),
      execPanel,
    );
  }

  function actionSummary(a) {
    const image = a.docker_image_name
      ? a.docker_image_name + (a.docker_image_tag ? ':' + a.docker_image_tag : '')
      : null;
    let cmd =
      a.inline_commands || (Array.isArray(a.execute_commands) ? a.execute_commands.join('; ') : '') || '';
    if (!cmd && a.type === 'SLEEP') cmd = 'sleep ' + a.sleep_in_sec + 's';
    if (!cmd && a.notification_url) cmd = (a.method || 'GET') + ' ' + a.notification_url;
    if (!cmd && a.dockerfile_path) cmd = a.dockerfile_path;
    return h(
      'div',
      { class: 'ellipsis' },
      image ? h('span', { class: 'mono' }, image) : null,
      image && cmd ? h('span', { class: 'muted' }, ' · ') : null,
      cmd ? h('span', { class: 'mono muted', title: cmd }, firstLine(cmd)) : null,
      !image && !cmd ? h('span', { class: 'muted' }, '—') : null,
    );
  }

  function tickDurations(root) {
    for (const el of root.querySelectorAll('[data-start]')) {
      const start = el.getAttribute('data-start');
      if (start) el.textContent = durationOf(start, null);
    }
  }

  function runForm(pPath, pl) {
    const revision = h('input', {
      type: 'text',
      name: 'revision',
      placeholder: 'HEAD or a commit SHA',
      autocomplete: 'off',
    });
    const branch = h('input', {
      type: 'text',
      name: 'branch',
      placeholder: 'default branch',
      autocomplete: 'off',
    });
    const priority = h(
      'select',
      { name: 'priority' },
      h('option', { value: '' }, 'pipeline default (' + (pl.priority || 'NORMAL') + ')'),
      ['LOW', 'NORMAL', 'HIGH'].map((p) => h('option', { value: p }, p)),
    );
    const comment = h('textarea', {
      name: 'comment',
      rows: '2',
      placeholder: pl.description_required ? 'required by this pipeline' : 'optional',
    });
    const refresh = h('input', { type: 'checkbox', name: 'refresh' });
    const clearCache = h('input', { type: 'checkbox', name: 'clear_cache' });
    const err = h('div', { class: 'alert error', role: 'alert' });
    const submit = h('button', { class: 'primary', type: 'submit' }, 'Run pipeline');
    const panel = h(
      'div',
      { class: 'panel', hidden: true },
      h('h2', null, 'Run pipeline'),
      err,
      h(
        'form',
        {
          onsubmit: async (ev) => {
            ev.preventDefault();
            err.textContent = '';
            const body = {};
            if (revision.value.trim()) body.to_revision = { revision: revision.value.trim() };
            if (branch.value.trim()) body.branch = { name: branch.value.trim() };
            if (comment.value.trim()) body.comment = comment.value.trim();
            if (priority.value) body.priority = priority.value;
            if (refresh.checked) body.refresh = true;
            if (clearCache.checked) body.clear_cache = true;
            submit.disabled = true;
            submit.textContent = 'Starting…';
            try {
              const e = await api('POST', pPath + '/executions', body);
              location.hash = linkOf(e, pPath + '/executions/' + e.id);
            } catch (e) {
              err.textContent = e.message;
              submit.disabled = false;
              submit.textContent = 'Run pipeline';
            }
          },
        },
        h(
          'div',
          { class: 'form-grid' },
          h('div', null, h('label', null, 'Revision'), revision),
          h('div', null, h('label', null, 'Branch'), branch),
          h('div', null, h('label', null, 'Priority'), priority),
          h(
            'div',
            { class: 'checks' },
            h('label', null, refresh, 'Refresh (from scratch)'),
            h('label', null, clearCache, 'Clear cache'),
          ),
          h('div', { class: 'wide' }, h('label', null, 'Comment'), comment),
          h(
            'div',
            { class: 'wide actions-row' },
            submit,
            h('button', { type: 'button', onclick: () => setOpen(false) }, 'Cancel'),
          ),
        ),
      ),
    );
    const toggle = h(
      'button',
      { class: 'primary', type: 'button', onclick: () => setOpen(panel.hidden) },
      '▶ Run',
    );
    function setOpen(open) {
      panel.hidden = !open;
      toggle.textContent = open ? 'Close' : '▶ Run';
      toggle.className = open ? '' : 'primary';
      if (open) revision.focus();
    }
    return { panel, toggle };
  }

  // ---------------------------------------------------------------- view: action

  async function viewAction(ws, projectName, pid, aid) {
    const pPath = path('workspaces', ws, 'projects', projectName, 'pipelines', pid);
    setTitle('Action ' + aid);
    setCrumbs([
      ['Workspaces', '#/'],
      [ws, '#' + path('workspaces', ws)],
      [projectName, '#' + path('workspaces', ws, 'projects', projectName)],
      ['Pipeline ' + pid, '#' + pPath],
      ['Action ' + aid],
    ]);
    const alive = currentRender();
    const [a, pl] = await Promise.all([api('GET', pPath + path('actions', aid)), api('GET', pPath)]);
    if (!alive()) return;
    setTitle(a.name, pl.name);
    const projectLabel = (pl.project && pl.project.display_name) || projectName;
    setCrumbs([
      ['Workspaces', '#/'],
      [ws, '#' + path('workspaces', ws)],
      [projectLabel, '#' + path('workspaces', ws, 'projects', projectName)],
      [pl.name || 'Pipeline ' + pid, linkOf(pl, pPath)],
      [a.name || 'Action ' + aid],
    ]);
    // Commands and scripts read best as code; everything else as a key/value list, unset fields folded away.
    const codeKeys = ['inline_commands', 'execute_commands', 'setup_commands', 'content', 'comment'];
    const skip = new Set(['url', 'html_url', 'pipeline', 'name', 'type']);
    const rows = [];
    const unset = [];
    const blocks = [];
    for (const [k, v] of Object.entries(a)) {
      if (skip.has(k)) continue;
      if (v === null || v === undefined || v === '') unset.push(k);
      else if (Array.isArray(v) && v.length === 0) unset.push(k);
      else if (codeKeys.includes(k) && Array.isArray(v)) blocks.push([k, v.join('\n')]);
      else if (codeKeys.includes(k) || (typeof v === 'string' && v.includes('\n')))
        blocks.push([k, String(v)]);
      else if (typeof v === 'object') blocks.push([k, JSON.stringify(v, null, 2)]);
      else rows.push([k, String(v)]);
    }
    show(
      h(
        'div',
        { class: 'page-head' },
        h(
          'div',
          null,
          h(
            'div',
            { class: 'title' },
            h('h1', null, a.name || 'Action ' + aid),
            badge(a.last_execution_status === 'INITIAL' ? null : a.last_execution_status),
          ),
          h(
            'div',
            { class: 'sub' },
            h('span', { class: 'mono' }, a.type),
            ' · action #' + a.id + ' of ',
            h('a', { href: linkOf(pl, pPath) }, pl.name || 'pipeline'),
          ),
        ),
      ),
      blocks.map(([k, v]) =>
        h('div', { class: 'panel' }, h('h2', null, k.replace(/_/g, ' ')), h('pre', { class: 'code' }, v)),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', null, 'Settings'),
        h(
          'dl',
          { class: 'meta' },
          rows.map(([k, v]) => [h('dt', { class: 'mono small' }, k), h('dd', { class: 'mono small' }, v)]),
        ),
        unset.length
          ? h(
              'details',
              { class: 'unset' },
              h(
                'summary',
                { class: 'muted small' },
                `${unset.length} unset field${unset.length === 1 ? '' : 's'}`,
              ),
              h('p', { class: 'mono small muted' }, unset.join(', ')),
            )
          : null,
      ),
      h('p', null, h('a', { href: linkOf(pl, pPath) }, '← Back to the pipeline')),
    );
  }

  // ---------------------------------------------------------------- view: execution

  async function viewExecution(ws, projectName, pid, eid, focusAeid) {
    const pPath = path('workspaces', ws, 'projects', projectName, 'pipelines', pid);
    const ePath = pPath + path('executions', eid);
    setTitle('Execution #' + eid);
    setCrumbs([
      ['Workspaces', '#/'],
      [ws, '#' + path('workspaces', ws)],
      [projectName, '#' + path('workspaces', ws, 'projects', projectName)],
      ['Pipeline ' + pid, '#' + pPath],
      ['Execution #' + eid],
    ]);
    const alive = currentRender();
    let exec = await api('GET', ePath);
    if (!alive()) return;

    const pl = exec.pipeline || {};
    const projectLabel = (pl.project && pl.project.display_name) || projectName;
    setTitle('Execution #' + exec.id, pl.name);
    setCrumbs([
      ['Workspaces', '#/'],
      [ws, '#' + path('workspaces', ws)],
      [projectLabel, '#' + path('workspaces', ws, 'projects', projectName)],
      [pl.name || 'Pipeline ' + pid, linkOf(pl, pPath)],
      ['Execution #' + exec.id],
    ]);

    const head = h('div', { class: 'page-head' });
    const flash = h('div', { class: 'alert error', role: 'alert' });
    const meta = h('div', { class: 'grid2' });
    const actionsBox = h('div');
    const live = h('span', { class: 'live' }, h('span', { class: 'dot' }), h('span', { class: 'txt' }, ''));
    const cards = new Map(); // action_execution_id → card
    let es = null;
    let pollTimer = null;
    let refetchTimer = null;
    let busy = false;

    const cancelBtn = h(
      'button',
      { class: 'danger', type: 'button', onclick: () => operate('CANCEL') },
      'Cancel',
    );
    const retryBtn = h('button', { type: 'button', onclick: () => operate('RETRY') }, '↻ Retry');

    function setLive(state, text) {
      live.className = 'live ' + state;
      live.querySelector('.txt').textContent = text;
    }

    async function operate(op) {
      flash.textContent = '';
      busy = true;
      cancelBtn.disabled = true;
      retryBtn.disabled = true;
      try {
        const e = await api('PATCH', ePath, { operation: op });
        if (!alive()) return;
        update(e);
        if (!FINAL_EXEC.includes(e.status)) watch();
      } catch (e) {
        if (alive()) flash.textContent = (op === 'CANCEL' ? 'Cancel failed: ' : 'Retry failed: ') + e.message;
      } finally {
        busy = false;
        if (alive()) renderHead();
      }
    }

    function renderHead() {
      const st = exec.status;
      cancelBtn.disabled = busy || !ACTIVE.includes(st) || st === 'TERMINATING';
      retryBtn.disabled = busy || !(st === 'FAILED' || st === 'TERMINATED');
      fill(
        head,
        h(
          'div',
          null,
          h('div', { class: 'title' }, h('h1', null, 'Execution #' + exec.id), badge(st, true), live),
          h(
            'div',
            { class: 'sub' },
            h('a', { href: linkOf(pl, pPath) }, pl.name || 'pipeline'),
            ' · ',
            exec.start_date ? ['started ', when(exec.start_date)] : 'not started yet',
            exec.start_date
              ? [
                  ' · ',
                  h(
                    'span',
                    { 'data-start': exec.finish_date ? null : exec.start_date },
                    durationOf(exec.start_date, exec.finish_date),
                  ),
                ]
              : null,
          ),
        ),
        h('div', { class: 'actions-row' }, cancelBtn, retryBtn),
      );
    }

    function person(p) {
      if (!p) return h('span', { class: 'muted' }, '—');
      return h(
        'span',
        null,
        p.name || '',
        p.email ? h('span', { class: 'muted' }, ' <' + p.email + '>') : null,
      );
    }

    function renderMeta() {
      const rev = exec.to_revision;
      const from = exec.from_revision;
      const left = h(
        'div',
        { class: 'panel', style: 'margin:0' },
        h('h2', null, 'Revision'),
        rev
          ? h(
              'dl',
              { class: 'meta' },
              h('dt', null, 'Commit'),
              h(
                'dd',
                null,
                h('span', { class: 'sha', title: rev.revision }, shortSha(rev.revision)),
                h('span', { class: 'muted mono small' }, ' ' + rev.revision),
              ),
              h('dt', null, 'Message'),
              h('dd', { class: 'commit-msg' }, (rev.message || '').trim() || '—'),
              h('dt', null, 'Author'),
              h(
                'dd',
                null,
                person(rev.author),
                rev.author_date ? h('span', { class: 'muted small' }, ' · ', when(rev.author_date)) : null,
              ),
              from
                ? [
                    h('dt', null, 'Changes since'),
                    h(
                      'dd',
                      null,
                      h('span', { class: 'sha', title: from.revision }, shortSha(from.revision)),
                      ' ',
                      firstLine(from.message),
                    ),
                  ]
                : null,
              Array.isArray(exec.changed_files)
                ? [
                    h('dt', null, 'Changed files'),
                    h(
                      'dd',
                      { class: 'small' },
                      exec.changed_files.length
                        ? h(
                            'span',
                            { class: 'mono', title: exec.changed_files.join('\n') },
                            exec.changed_files.slice(0, 5).join(', ') +
                              (exec.changed_files.length > 5 ? ` … (+${exec.changed_files.length - 5})` : ''),
                          )
                        : 'none',
                    ),
                  ]
                : null,
            )
          : h('p', { class: 'muted' }, 'No revision (yet).'),
      );
      const rows = [
        ['Status', badge(exec.status)],
        [
          'Branch',
          exec.branch
            ? h('span', { class: 'mono' }, exec.branch.name)
            : exec.tag
              ? h('span', { class: 'mono' }, 'tag ' + exec.tag.name)
              : '—',
        ],
        ['Creator', person(exec.creator)],
        ['Triggered', (exec.triggered_on || '—').toLowerCase()],
        ['Priority', exec.priority || '—'],
        [
          'Options',
          [exec.refresh ? 'refresh' : null, exec.clear_cache ? 'clear cache' : null]
            .filter(Boolean)
            .join(', ') || '—',
        ],
        exec.comment ? ['Comment', h('span', { class: 'commit-msg' }, exec.comment)] : null,
        exec.delay_until ? ['Delayed until', fmtDate(exec.delay_until)] : null,
        ['Started', exec.start_date ? fmtDate(exec.start_date) : '—'],
        ['Finished', exec.finish_date ? fmtDate(exec.finish_date) : '—'],
        exec.error_message
          ? ['Error', h('span', { style: 'color:var(--danger)' }, exec.error_message)]
          : null,
      ].filter(Boolean);
      const right = h(
        'div',
        { class: 'panel', style: 'margin:0' },
        h('h2', null, 'Execution'),
        h(
          'dl',
          { class: 'meta' },
          rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
        ),
      );
      fill(meta, left, right);
    }

    function renderActions() {
      const list = exec.action_executions || [];
      const order = [];
      for (const ae of list) {
        let card = cards.get(ae.action_execution_id);
        if (!card) {
          card = makeCard(ePath + path('action_executions', ae.action_execution_id), ae, cards);
          cards.set(ae.action_execution_id, card);
        }
        card.update(ae);
        order.push(card.el);
      }
      if (list.length === 0)
        fill(actionsBox, h('div', { class: 'panel empty' }, 'This execution has no actions.'));
      else {
        // Re-append in order (moves nodes; open logs keep their state).
        const current = Array.from(actionsBox.children);
        if (current.length !== order.length || current.some((el, i) => el !== order[i]))
          fill(actionsBox, ...order);
      }
    }

    function update(e) {
      exec = e;
      renderHead();
      renderMeta();
      renderActions();
    }

    function refetchSoon() {
      if (refetchTimer) return;
      refetchTimer = setTimeout(async () => {
        refetchTimer = null;
        try {
          const e = await api('GET', ePath);
          if (alive()) update(e);
        } catch (_e) {
          /* the next event or poll retries */
        }
      }, 150);
    }

    function stopWatching() {
      if (es) {
        es.close();
        es = null;
      }
      if (pollTimer) {
        clearInterval(pollTimer);
        pollTimer = null;
      }
    }

    function startPolling() {
      if (pollTimer) return;
      setLive('off', 'polling');
      pollTimer = setInterval(async () => {
        try {
          const e = await api('GET', ePath);
          if (!alive()) return;
          update(e);
          if (FINAL_EXEC.includes(e.status)) {
            stopWatching();
            setLive('', '');
          }
        } catch (_e) {
          /* keep polling */
        }
      }, 3000);
    }

    /** Live updates over SSE; falls back to polling when the stream cannot be opened. */
    function watch() {
      stopWatching();
      setLive('on', 'connecting…');
      const src = new EventSource(streamUrl(ePath + '/events'));
      es = src;
      src.addEventListener('open', () => setLive('on', 'live'));
      src.addEventListener('execution', refetchSoon);
      src.addEventListener('action_execution', refetchSoon);
      src.addEventListener('end', () => {
        src.close();
        if (es === src) es = null;
        setLive('', '');
        refetchSoon();
      });
      src.addEventListener('error', () => {
        if (es !== src) return;
        if (src.readyState === EventSource.CLOSED) {
          es = null;
          startPolling();
        } else setLive('off', 'reconnecting…');
      });
    }

    onCleanup(() => {
      stopWatching();
      if (refetchTimer) clearTimeout(refetchTimer);
      for (const c of cards.values()) c.destroy();
    });
    const ticker = setInterval(() => tickDurations(viewEl), 1000);
    onCleanup(() => clearInterval(ticker));

    setLive('', '');
    update(exec);
    show(head, flash, meta, h('h2', { style: 'margin-top:24px' }, 'Actions'), actionsBox);

    // Open the logs worth reading right away: the one asked for, running ones, and failures.
    for (const ae of exec.action_executions || []) {
      const card = cards.get(ae.action_execution_id);
      if (
        focusAeid
          ? ae.action_execution_id === focusAeid
          : ae.status === 'INPROGRESS' || ae.status === 'FAILED'
      )
        card.open(true);
    }
    if (focusAeid && cards.get(focusAeid)) cards.get(focusAeid).el.scrollIntoView({ block: 'start' });
    if (!FINAL_EXEC.includes(exec.status)) watch();
  }

  /** One action execution: a header row and a collapsible live log. */
  function makeCard(aePath, first, siblings) {
    let ae = first;
    let userToggled = false;
    let autoOpened = false;
    const chev = h('span', { class: 'chev' }, '▸');
    const headEl = h('div', { class: 'ae-head', role: 'button', tabindex: '0', 'aria-expanded': 'false' });
    const errEl = h('div', { class: 'ae-error', hidden: true });
    const logEl = h('div', { class: 'log' });
    const el = h('div', { class: 'ae', id: 'ae-' + first.action_execution_id }, headEl, errEl, logEl);
    let viewer = null;

    function toggle() {
      userToggled = true;
      if (el.classList.contains('open')) close();
      else open(false);
    }
    headEl.addEventListener('click', (ev) => {
      if (ev.target instanceof HTMLAnchorElement) return;
      toggle();
    });
    headEl.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        toggle();
      }
    });

    function open(auto) {
      if (auto && userToggled) return;
      if (auto) {
        autoOpened = true;
        // Fold logs this page opened by itself once their action succeeded, so the new one stays in view.
        for (const other of siblings.values()) if (other.el !== el) other.foldIfDone();
      }
      el.classList.add('open');
      headEl.setAttribute('aria-expanded', 'true');
      if (!viewer) {
        viewer = makeLogViewer(aePath, () => ae);
        fill(logEl, viewer.el);
      }
      viewer.start();
      viewer.scrollToEnd();
    }

    function close() {
      el.classList.remove('open');
      headEl.setAttribute('aria-expanded', 'false');
      if (viewer) viewer.stop();
    }

    function update(next) {
      const prev = ae;
      ae = next;
      const a = ae.action || {};
      const lines = ae.log_lines;
      fill(
        headEl,
        chev,
        badge(ae.status),
        h(
          'div',
          { class: 'grow' },
          h('span', { class: 'name' }, a.name || 'action ' + a.id),
          ' ',
          h('span', { class: 'type' }, a.type || ''),
        ),
        typeof lines === 'number' && lines > 0
          ? h('span', { class: 'muted small' }, num(lines) + ' log line' + (lines === 1 ? '' : 's'))
          : null,
        h(
          'span',
          {
            class: 'dur',
            'data-start':
              ae.start_date && !ae.finish_date && ae.status === 'INPROGRESS' ? ae.start_date : null,
          },
          durationOf(ae.start_date, ae.finish_date),
        ),
      );
      errEl.hidden = !ae.error_message;
      errEl.textContent = ae.error_message || '';
      // A retry resets a finished action execution (same id, log emptied): start its log over.
      const wasFinal = prev && !ACTIVE.includes(prev.status);
      if (prev !== next && wasFinal && ACTIVE.includes(ae.status) && viewer)
        viewer.restart(el.classList.contains('open'));
      const becameInteresting =
        (ae.status === 'INPROGRESS' || ae.status === 'FAILED') && prev.status !== ae.status;
      if (becameInteresting && prev !== next) open(true);
      else if (viewer && el.classList.contains('open')) viewer.statusChanged();
    }

    return {
      el,
      update,
      open,
      foldIfDone() {
        if (autoOpened && !userToggled && ae.status === 'SUCCESSFUL' && el.classList.contains('open'))
          close();
      },
      destroy() {
        if (viewer) viewer.stop();
      },
    };
  }

  /** A log panel fed by the SSE log stream; keeps the last LOG_CAP lines in the DOM. */
  function makeLogViewer(aePath, getAe) {
    const pre = h('pre', { class: 'logtext', tabindex: '0' });
    const stateEl = h('span', null, '');
    const note = h('div', { class: 'log-note', hidden: true });
    const earlierBox = h('div', { class: 'earlier-box', hidden: true });
    const followBox = h('input', { type: 'checkbox', checked: true });
    const bar = h(
      'div',
      { class: 'log-bar' },
      stateEl,
      h('span', { class: 'grow' }),
      h('label', { class: 'small', title: 'Keep the newest line in view' }, followBox, ' follow'),
      h(
        'button',
        { class: 'link small', type: 'button', onclick: () => openEarlier(0) },
        'Read from the start',
      ),
    );
    const el = h('div', null, bar, note, earlierBox, pre);

    let es = null;
    let received = 0; // lines received (= next line number)
    let shown = 0; // lines in the DOM
    let dropped = 0; // lines removed from the DOM to respect LOG_CAP
    let chunks = []; // [{ node, lines }]
    let buffer = [];
    let flushTimer = null;
    let complete = false;
    let placeholder = null;

    followBox.addEventListener('change', () => {
      if (followBox.checked) pre.scrollTop = pre.scrollHeight;
    });
    pre.addEventListener('scroll', () => {
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 24;
      if (!atBottom && followBox.checked && !flushTimer) followBox.checked = false;
      else if (atBottom && !followBox.checked) followBox.checked = true;
    });

    function clean(line) {
      // Strip ANSI escapes; for carriage-return progress output keep what the terminal would show last.
      let s = line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b\][^\x07]*\x07/g, '');
      if (s.includes('\r')) {
        const parts = s.split('\r').filter((p) => p !== '');
        s = parts.length ? parts[parts.length - 1] : '';
      }
      return s;
    }

    function setPlaceholder(text) {
      if (placeholder) {
        placeholder.remove();
        placeholder = null;
      }
      if (text && shown === 0) {
        placeholder = h('span', { class: 'placeholder' }, text);
        pre.appendChild(placeholder);
      }
    }

    function flush() {
      flushTimer = null;
      if (buffer.length === 0) return;
      let lines = buffer;
      buffer = [];
      if (lines.length > LOG_CAP) {
        dropped += lines.length - LOG_CAP;
        lines = lines.slice(lines.length - LOG_CAP);
      }
      setPlaceholder(null);
      const frag = document.createDocumentFragment();
      for (let i = 0; i < lines.length; i += LOG_CHUNK) {
        const part = lines.slice(i, i + LOG_CHUNK);
        const node = document.createTextNode(part.join('\n') + '\n');
        chunks.push({ node, lines: part.length });
        frag.appendChild(node);
        shown += part.length;
      }
      pre.appendChild(frag);
      while (shown > LOG_CAP && chunks.length > 1) {
        const c = chunks.shift();
        c.node.remove();
        shown -= c.lines;
        dropped += c.lines;
      }
      renderNote();
      if (followBox.checked) pre.scrollTop = pre.scrollHeight;
      renderState();
    }

    function renderNote() {
      if (dropped === 0) {
        note.hidden = true;
        return;
      }
      note.hidden = false;
      fill(
        note,
        `Showing the last ${num(shown)} lines; ${num(dropped)} earlier line${dropped === 1 ? ' is' : 's are'} not shown here. `,
        h(
          'button',
          {
            class: 'link small',
            type: 'button',
            onclick: () => openEarlier(Math.max(0, dropped - EARLIER_PAGE)),
          },
          'Read earlier lines',
        ),
      );
    }

    function renderState() {
      const ae = getAe();
      if (complete)
        stateEl.textContent =
          received === 0 ? 'No output.' : `Complete · ${num(received)} line${received === 1 ? '' : 's'}`;
      else if (es)
        stateEl.textContent =
          (ae.status === 'ENQUEUED' || ae.status === 'INITIAL' ? 'Waiting to start' : 'Streaming') +
          ` · ${num(received)} line${received === 1 ? '' : 's'}`;
      else stateEl.textContent = `${num(received)} line${received === 1 ? '' : 's'}`;
    }

    function start() {
      if (es || complete) return;
      const src = new EventSource(streamUrl(aePath + '/logs/stream'));
      es = src;
      if (received === 0)
        setPlaceholder(
          ['ENQUEUED', 'INITIAL'].includes(getAe().status)
            ? 'Waiting for the action to start…'
            : 'Loading log…',
        );
      src.addEventListener('log', (ev) => {
        const n = Number(ev.lastEventId);
        // Line ids are line numbers; skip anything already received (after a reconnect).
        if (!Number.isNaN(n) && ev.lastEventId !== '' && n < received) return;
        buffer.push(clean(ev.data));
        received += 1;
        if (!flushTimer) flushTimer = setTimeout(flush, 60);
      });
      src.addEventListener('end', () => {
        src.close();
        if (es === src) es = null;
        complete = true;
        flush();
        if (received === 0) setPlaceholder('No output.');
        renderState();
      });
      src.addEventListener('error', () => {
        if (es !== src) return;
        if (src.readyState === EventSource.CLOSED) {
          es = null;
          flush();
          fill(
            stateEl,
            'Log stream failed. ',
            h('button', { class: 'link small', type: 'button', onclick: () => start() }, 'Try again'),
          );
        } else stateEl.textContent = 'Reconnecting…';
      });
      renderState();
    }

    function stop() {
      if (es) {
        es.close();
        es = null;
      }
      if (flushTimer) {
        clearTimeout(flushTimer);
        flush();
      }
    }

    function restart(resume) {
      stop();
      received = 0;
      shown = 0;
      dropped = 0;
      chunks = [];
      buffer = [];
      complete = false;
      fill(pre);
      placeholder = null;
      note.hidden = true;
      earlierBox.hidden = true;
      renderState();
      if (resume) start();
    }

    /** A paged reader over GET .../logs?offset=&limit= for lines outside the live view. */
    async function openEarlier(offset) {
      earlierBox.hidden = false;
      const body = h('pre', { class: 'logtext earlier' }, h('span', { class: 'placeholder' }, 'Loading…'));
      const info = h('span', null, '');
      const prev = h('button', { class: 'small', type: 'button', disabled: true }, '← Earlier');
      const next = h('button', { class: 'small', type: 'button', disabled: true }, 'Later →');
      const closeBtn = h(
        'button',
        {
          class: 'small',
          type: 'button',
          onclick: () => {
            earlierBox.hidden = true;
            fill(earlierBox);
          },
        },
        'Close',
      );
      fill(
        earlierBox,
        h('div', { class: 'log-bar' }, info, h('span', { class: 'grow' }), prev, next, closeBtn),
        body,
      );
      try {
        const data = await api('GET', aePath + `/logs?offset=${offset}&limit=${EARLIER_PAGE}`);
        const logs = data.logs || [];
        const total = data.total_element_count || 0;
        fill(
          body,
          logs.length
            ? logs.map(clean).join('\n') + '\n'
            : h('span', { class: 'placeholder' }, 'No lines here.'),
        );
        info.textContent = logs.length
          ? `Lines ${num(offset + 1)}–${num(offset + logs.length)} of ${num(total)}`
          : `No lines from ${num(offset + 1)} (of ${num(total)})`;
        prev.disabled = offset <= 0;
        next.disabled = offset + logs.length >= total;
        prev.addEventListener('click', () => openEarlier(Math.max(0, offset - EARLIER_PAGE)));
        next.addEventListener('click', () => openEarlier(offset + EARLIER_PAGE));
      } catch (e) {
        fill(body, h('span', { class: 'placeholder' }, 'Could not read the log: ' + e.message));
      }
    }

    const scrollToEnd = () => {
      if (followBox.checked) pre.scrollTop = pre.scrollHeight;
    };
    return { el, start, stop, restart, scrollToEnd, statusChanged: renderState };
  }

  // ---------------------------------------------------------------- view: user

  async function viewUser() {
    setTitle('Account');
    setCrumbs([['Workspaces', '#/'], ['Account']]);
    const alive = currentRender();
    const [u, t] = await Promise.all([api('GET', '/user'), api('GET', '/user/token').catch(() => null)]);
    if (!alive()) return;
    show(
      h(
        'div',
        { class: 'page-head' },
        h('div', null, h('h1', null, u.name || 'Account'), h('div', { class: 'sub' }, u.email || '')),
      ),
      t
        ? h(
            'div',
            { class: 'panel' },
            h('h2', null, 'This token'),
            h(
              'dl',
              { class: 'meta' },
              h('dt', null, 'Name'),
              h('dd', null, t.name || '—'),
              h('dt', null, 'Expires'),
              h('dd', null, t.expires_at ? fmtDate(t.expires_at) : 'never'),
              h('dt', null, 'Scopes'),
              h('dd', { class: 'mono small' }, (t.scopes || []).join(', ') || '—'),
              h('dt', null, 'Workspaces'),
              h('dd', null, (t.workspace_restrictions || []).join(', ') || 'all'),
              h('dt', null, 'IP restrictions'),
              h('dd', null, (t.ip_restrictions || []).join(', ') || 'none'),
            ),
          )
        : null,
      h('p', null, h('button', { type: 'button', onclick: () => signOut('') }, 'Sign out')),
    );
  }

  // ---------------------------------------------------------------- start

  window.addEventListener('hashchange', route);
  route();
})();
