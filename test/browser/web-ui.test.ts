// The web UI in Debian's Chromium (playwright-core, executablePath /usr/bin/chromium): a new user signs
// in, creates a workspace, project, pipeline and action through the forms, pushes code over HTTP, runs
// with a variable, watches the live log, cancels, retries; hostile names stay text; every page fits a
// 390 px screen and passes axe-core without serious or critical violations.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.ts';
import { generateSshKey } from '../../src/secrets/ssh-keys.ts';
import { axeViolations, horizontalOverflow, startBrowser, type Browser } from '../support/browser.ts';
import { git, makeRepo, startGantry, waitForExecution, type Harness } from '../support/harness.ts';

const XSS = `<img src=x onerror="alert('xss')">`;
const XSS_SCRIPT = `<script>alert('xss')</script>`;
/** Printed by the action (no single quotes: it goes through sh -c '...'). */
const XSS_LOG = '<img src=x onerror=alert(1)><b>bold</b>';
/** Set GANTRY_SCREENSHOTS=docs to refresh the README's screenshots. */
const SHOTS = process.env.GANTRY_SCREENSHOTS;
const WAIT = 90_000;

let h: Harness;
let b: Browser;
let page: Page;

before(async () => {
  await buildWeb();
  h = await startGantry({ listen: true });
  b = await startBrowser();
  page = b.page;
  page.setDefaultTimeout(WAIT);
});
after(async () => {
  await b?.close();
  await h?.close();
});

async function shot(name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

/** No image with the payload's src got into the DOM, and nothing opened a dialog. */
async function assertInert(): Promise<void> {
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'a payload became an element');
  assert.equal(await page.locator('main script').count(), 0, 'a payload became a script');
  assert.deepEqual(
    b.problems.filter((p) => p.startsWith('dialog')),
    [],
  );
}

/** The steps build on each other: after a failure the rest are skipped instead of each timing out. */
let broken = false;
function step(name: string, fn: () => Promise<void>): void {
  test(name, async (t) => {
    if (broken) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await fn();
    } catch (e) {
      broken = true;
      // What the page showed: a timeout alone does not say whether it was signed out, an error, or empty.
      const shown = await page
        .locator('main')
        .innerText({ timeout: 2000 })
        .catch(() => '(no main)');
      t.diagnostic(`page ${page.url()}: ${shown.replace(/\s+/g, ' ').slice(0, 600)}`);
      t.diagnostic(`page problems: ${JSON.stringify(b.problems)}`);
      throw e;
    }
  });
}

const state: {
  pipelineUrl?: string;
  actionUrl?: string;
  executionUrl?: string;
  projectUrl?: string;
  gateFormUrl?: string;
  gateExecutionUrl?: string;
} = {};

step('sign in with a pasted token (a wrong one is refused)', async () => {
  await page.goto(`${h.baseUrl}/`);
  await page.getByLabel('API token').fill('gty_wrong');
  await page.getByRole('button', { name: 'Sign in with the token' }).click();
  await page.getByText('That token is not valid.').waitFor();
  await page.getByLabel('API token').fill(h.token);
  await page.getByRole('button', { name: 'Sign in with the token' }).click();
  await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  assert.equal(await page.locator('[aria-current="page"]').first().textContent(), 'Workspaces');
});

step(
  'create a workspace and a hosted project through the forms; API errors appear next to their field',
  async () => {
    await page.getByRole('button', { name: 'New workspace' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Acme');
    await page.getByLabel('Domain').fill('bad domain!');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    // The API's message lands under the Domain field, tied to it for screen readers.
    const domain = page.getByLabel('Domain');
    await page.locator('.field.invalid #' + (await domain.getAttribute('id'))).waitFor();
    assert.equal(await domain.getAttribute('aria-invalid'), 'true');
    await domain.fill('acme');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.getByRole('heading', { name: 'Acme' }).waitFor();

    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Display name').fill(`Web ${XSS}`);
    await page.getByLabel('Name (URL)').fill('web');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByText('Push your code here').waitFor();
    await page.getByRole('heading', { name: `Web ${XSS}` }).waitFor();
    await assertInert();
    state.projectUrl = page.url();
  },
);

step('push code to the push URL shown on the project page (git over HTTP)', async () => {
  const pushUrl = (await page.locator('.copyline code').first().textContent()) ?? '';
  assert.match(pushUrl, /\/git\/acme\/web\.git$/);
  const repo = makeRepo([{ message: 'first', files: { 'README.md': 'hello\n' } }]);
  const u = new URL(pushUrl);
  u.username = 'x';
  u.password = h.token;
  // Asynchronously: the server answering the push runs in this process.
  await promisify(execFile)('git', ['-c', 'credential.helper=', 'push', u.toString(), 'HEAD:master'], {
    cwd: repo.dir,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });
  const head = git(repo.dir, 'rev-parse', 'HEAD');
  const refs = await promisify(execFile)('git', ['ls-remote', u.toString(), 'refs/heads/master']);
  assert.equal(refs.stdout.split(/\s/)[0], head, 'the pushed commit is on the server');
});

step('create a pipeline and an action through the forms, reorder actions', async () => {
  await page.getByRole('button', { name: 'New pipeline' }).click();
  await page.getByLabel('Name', { exact: true }).fill(`Build ${XSS_SCRIPT}`);
  await page.getByRole('button', { name: 'Create pipeline' }).click();
  await page.getByRole('heading', { name: `Build ${XSS_SCRIPT}` }).waitFor();
  state.pipelineUrl = page.url();

  await page.getByRole('link', { name: 'Add action: run commands' }).click();
  await page.getByLabel('Action name').fill('Test');
  await page.getByLabel('Image').fill('gantry-test/busybox');
  await page
    .getByLabel('Commands')
    .fill(
      [
        'echo "hello $GREETING"',
        "printf '\\033[31mred text\\033[0m\\n'",
        `echo '${XSS_LOG}'`,
        'echo out; echo err >&2',
        'sleep 600',
      ].join('\n'),
    );
  await shot('ui-action-form.png');
  await page.getByRole('button', { name: 'Add action' }).click();
  await page.getByRole('link', { name: 'Test', exact: true }).waitFor();

  // A second action, then move it first and back.
  await page.getByRole('link', { name: 'Add action: run commands' }).click();
  await page.getByLabel('Action name').fill('Second');
  await page.getByLabel('Image').fill('gantry-test/busybox');
  await page.getByLabel('Commands').fill('true');
  await page.getByRole('button', { name: 'Add action' }).click();
  await page.getByRole('link', { name: 'Second', exact: true }).waitFor();
  const names = async (): Promise<string[]> => page.locator('ol.actions a.strong').allTextContents();
  assert.deepEqual(await names(), ['Test', 'Second']);
  await page.getByRole('button', { name: 'Move Second up' }).click();
  await page.waitForFunction(() => {
    const first = (globalThis as any).document.querySelector('ol.actions a.strong');
    return first?.textContent === 'Second';
  });
  await page.getByRole('button', { name: 'Move Second down' }).click();
  await page.waitForFunction(() => {
    const first = (globalThis as any).document.querySelector('ol.actions a.strong');
    return first?.textContent === 'Test';
  });
  assert.deepEqual(await names(), ['Test', 'Second']);
  await assertInert();
});

step('run with a variable and watch the live log: colours, line links, payloads as text', async () => {
  await page.getByRole('button', { name: 'Run…' }).click();
  await page.getByLabel('Variables').fill('GREETING=world');
  await page.getByLabel('Comment').fill(`run ${XSS}`);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('heading', { name: /Execution #\d+/ }).waitFor();
  state.executionUrl = page.url();
  await page.locator('.log-lines').getByText('hello world').waitFor();
  await page.locator('.badge', { hasText: 'In progress' }).first().waitFor();
  const red = page.locator('.log-lines .ansi-red-fg');
  await red.waitFor();
  assert.equal(await red.textContent(), 'red text');
  await page.locator('.log-lines').getByText(XSS_LOG).waitFor();
  await page.locator('.log-lines').getByText('err', { exact: true }).waitFor();
  // stdout first: the order the commands wrote in.
  const texts = await page.locator('.log-lines .txt').allTextContents();
  assert.ok(texts.indexOf('out') >= 0 && texts.indexOf('out') < texts.indexOf('err'), texts.join('|'));
  const link = page.getByRole('link', { name: 'Line 1', exact: true });
  assert.match((await link.getAttribute('href')) ?? '', /[?&]line=1\b/);
  await page.getByText(`run ${XSS}`).waitFor();
  await assertInert();
  // Search within the log.
  await page.getByLabel('Search the log').fill('hello');
  await page.getByText(/^1 of \d+ lines match/).waitFor();
  await page.getByLabel('Search the log').fill('');
  await shot('ui-execution.png');
  // The live stream authenticates with a ticket: the token never appears in a URL the page opened.
  const urls = await page.evaluate(() =>
    (globalThis as any).performance.getEntriesByType('resource').map((e: any) => e.name as string),
  );
  assert.ok(
    urls.some((u: string) => u.includes('/events?ticket=')),
    'the page follows the execution with a stream ticket',
  );
  assert.ok(!urls.some((u: string) => u.includes(h.token)), 'the token was put in a URL');
});

step('cancel, then retry, from the execution page', async () => {
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('.page-head .badge', { hasText: 'Terminated' }).waitFor();
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.locator('.page-head .badge', { hasText: 'In progress' }).waitFor();
  await page.locator('.log-lines').getByText('hello world').waitFor();
  // One pane, each line once.
  assert.equal(await page.locator('.log-lines').count(), 1);
  assert.equal(await page.locator('.log-lines').getByText('hello world').count(), 1);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('.page-head .badge', { hasText: 'Terminated' }).waitFor();
});

step('the pipeline page updates live when a run starts elsewhere', async () => {
  await page.goto(state.pipelineUrl!);
  await page.getByRole('heading', { name: 'Executions' }).waitFor();
  const before = await page.locator('li.exec').count();
  const pl = await h.request('GET', '/api/workspaces/acme/projects/web/pipelines');
  const id = pl.body.pipelines[0].id;
  const plPath = `/api/workspaces/acme/projects/web/pipelines/${id}`;
  const run = await h.request('POST', `${plPath}/executions`, {
    delay_until: new Date(Date.now() + 3600_000).toISOString(),
  });
  assert.equal(run.status, 200, JSON.stringify(run.body));
  await page.waitForFunction(
    (n) => (globalThis as any).document.querySelectorAll('li.exec').length > n,
    before,
  );
  // "Run now" starts the delayed run.
  await page.getByRole('link', { name: `#${run.body.id}` }).click();
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.locator('.page-head .badge', { hasText: 'In progress' }).waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await waitForExecution(h, `${plPath}/executions/${run.body.id}`, WAIT);
});

step(
  'an approval gate: the run waits with its question, Approve continues it (execution page and run list)',
  async () => {
    await page.goto(state.projectUrl!);
    await page.getByRole('button', { name: 'New pipeline' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Deploy');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.getByRole('heading', { name: 'Deploy' }).waitFor();
    const deployUrl = page.url();
    const addCommands = async (name: string, commands: string): Promise<void> => {
      await page.getByRole('link', { name: 'Add action: run commands' }).click();
      await page.getByLabel('Action name').fill(name);
      await page.getByLabel('Image').fill('gantry-test/busybox');
      await page.getByLabel('Commands').fill(commands);
      await page.getByRole('button', { name: 'Add action' }).click();
      await page.getByRole('link', { name, exact: true }).waitFor();
    };
    await addCommands('Build', 'echo built');
    await page.getByRole('link', { name: 'Wait for approval' }).click();
    await page.getByLabel('Action name').fill('Go ahead?');
    await page.getByLabel('Question for the approver').fill('Ship $BUDDY_EXECUTION_BRANCH to production?');
    state.gateFormUrl = page.url();
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByRole('link', { name: 'Go ahead?', exact: true }).waitFor();
    await addCommands('Ship', 'echo shipped');

    // Run: it stops at the gate, which shows its question; Approve on the execution page goes on.
    await page.getByRole('button', { name: 'Run…' }).click();
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByRole('heading', { name: /Execution #\d+/ }).waitFor();
    await page.locator('.page-head .badge', { hasText: 'Waiting for approval' }).waitFor();
    await page.locator('.log-lines').getByText('Ship master to production?', { exact: false }).waitFor();
    state.gateExecutionUrl = page.url();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('.page-head .badge', { hasText: 'Successful' }).waitFor();
    // Ship's card opened itself if the page saw it running; open it otherwise.
    const ship = page.getByRole('button', { name: /Ship/ });
    if ((await ship.getAttribute('aria-expanded')) !== 'true') await ship.click();
    await page.locator('.log-lines').getByText('shipped', { exact: true }).waitFor();
    const plPath = new URL(deployUrl).hash.replace(/^#/, '/api').replace(/\?.*$/, '');
    const first = (await h.request('GET', `${plPath}/executions`)).body.executions[0];
    assert.equal(first.status, 'SUCCESSFUL');
    const gate = (await h.request('GET', `${plPath}/executions/${first.id}`)).body.action_executions.find(
      (a: any) => a.action.name === 'Go ahead?',
    );
    assert.ok(gate.approver_id, 'the approver is recorded');

    // A second run waits on the pipeline page, where its row offers Approve.
    const run = await h.request('POST', `${plPath}/executions`, {});
    assert.equal(run.status, 200, JSON.stringify(run.body));
    await page.goto(deployUrl);
    const approve = page.getByRole('button', { name: `Approve #${run.body.id}` });
    await approve.click();
    await waitForExecution(h, `${plPath}/executions/${run.body.id}`, WAIT);
    assert.equal((await h.request('GET', `${plPath}/executions/${run.body.id}`)).body.status, 'SUCCESSFUL');
  },
);

step('variables and secrets, environments, integrations and tokens through the forms', async () => {
  await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=variables`);
  await page.getByRole('button', { name: 'Add a variable' }).click();
  await page.getByLabel('Key', { exact: true }).fill('1bad');
  await page.getByLabel('Value').fill('x');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('.field.invalid').getByLabel('Key', { exact: true }).waitFor();
  await page.getByLabel('Key', { exact: true }).fill('PLAIN');
  await page.getByLabel('Value').fill('visible-value');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('code.value', { hasText: 'visible-value' }).waitFor();

  await page.getByRole('button', { name: 'Add a variable' }).click();
  await page.getByLabel('Key', { exact: true }).fill('SECRET_ONE');
  await page.getByLabel('Secret (encrypted, never shown again)').check();
  await page.getByLabel('Value').fill('s3cr3t-value');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('li.row', { hasText: 'SECRET_ONE' }).getByText('secret', { exact: true }).waitFor();
  // Editing a secret never shows it either.
  await page.getByRole('button', { name: 'Edit SECRET_ONE' }).click();
  assert.equal(await page.getByLabel('New value (leave empty to keep the secret)').inputValue(), '');
  assert.ok(!(await page.content()).includes('s3cr3t-value'), 'a secret value reached the page');
  await page.getByRole('button', { name: 'Cancel' }).click();

  // The workspace's own SSH key: its public half and fingerprint are shown, the private key never.
  const wsVars = (await h.request('GET', '/api/workspaces/acme/variables')).body.variables;
  const idWorkspace = wsVars.find((v: any) => v.key === 'id_workspace');
  const idRow = page.locator('li.row', { hasText: 'id_workspace' });
  await idRow.getByText('SSH key', { exact: true }).waitFor();
  await idRow.locator('.copyline code', { hasText: idWorkspace.public_value }).waitFor();
  await idRow.getByText(idWorkspace.key_fingerprint).waitFor();
  assert.ok(!(await page.content()).includes('PRIVATE KEY'), 'a private key reached the page');

  // Edit a plain variable, then delete it.
  await page.getByRole('button', { name: 'Edit PLAIN' }).click();
  await page.getByLabel('Value').fill('changed-value');
  await page.getByRole('button', { name: 'Save variable' }).click();
  await page.locator('code.value', { hasText: 'changed-value' }).waitFor();
  b.confirmNext('variable PLAIN');
  await page.getByRole('button', { name: 'Delete variable PLAIN' }).click();
  await page.locator('li.row', { hasText: 'PLAIN' }).waitFor({ state: 'detached' });
  const keys = async (query = ''): Promise<string[]> =>
    (await h.request('GET', `/api/workspaces/acme/variables${query}`)).body.variables.map((v: any) => v.key);
  assert.ok(!(await keys()).includes('PLAIN'), 'the variable was deleted');

  // Project scope: an SSH key; a value that is no key is refused under the field.
  const key = generateSshKey('deploy@example.com');
  // The server derives the public half from the private key, which holds no comment.
  const publicKey = key.publicKey.split(' ').slice(0, 2).join(' ');
  await page.goto(`${state.projectUrl!}?tab=variables`);
  await page.getByRole('button', { name: 'Add a variable' }).click();
  await page.getByLabel('Key', { exact: true }).fill('DEPLOY_KEY');
  await page.getByLabel('Type').selectOption('SSH_KEY');
  await page.getByLabel('Private key').fill('not a key');
  await page.getByLabel('File path').fill('~/.ssh/id_deploy');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('.field.invalid').getByLabel('Private key').waitFor();
  await page.getByLabel('Private key').fill(key.privateKey);
  await page.getByRole('button', { name: 'Add variable' }).click();
  const deployRow = page.locator('li.row', { hasText: 'DEPLOY_KEY' });
  await deployRow.locator('.copyline code', { hasText: publicKey }).waitFor();
  await deployRow.getByText('~/.ssh/id_deploy').waitFor();
  assert.ok(!(await page.content()).includes('PRIVATE KEY'), 'the private key was shown again');
  const projectVars = (await h.request('GET', '/api/workspaces/acme/variables?project_name=web')).body
    .variables;
  const deploy = projectVars.find((v: any) => v.key === 'DEPLOY_KEY');
  assert.equal(deploy.public_value, publicKey);
  assert.equal(deploy.encrypted, true);

  // Pipeline and action scope.
  const pipelineId = (await h.request('GET', '/api/workspaces/acme/projects/web/pipelines')).body.pipelines[0]
    .id;
  await page.goto(`${state.pipelineUrl!}?tab=variables`);
  await page.getByRole('button', { name: 'Add a variable' }).click();
  await page.getByLabel('Key', { exact: true }).fill('PIPELINE_VAR');
  await page.getByLabel('Value').fill('p');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('li.row', { hasText: 'PIPELINE_VAR' }).waitFor();
  assert.deepEqual(await keys(`?pipeline_id=${pipelineId}`), ['PIPELINE_VAR']);
  await page.goto(state.pipelineUrl!);
  await page.getByRole('link', { name: 'Test', exact: true }).click();
  await page.getByRole('heading', { name: 'Action variables' }).waitFor();
  state.actionUrl = page.url();
  await page.getByRole('button', { name: 'Add a variable' }).click();
  await page.getByLabel('Key', { exact: true }).fill('ACTION_VAR');
  await page.getByLabel('Value').fill('a');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('li.row', { hasText: 'ACTION_VAR' }).waitFor();
  const actionId = Number(/\/actions\/(\d+)/.exec(state.actionUrl)![1]);
  assert.deepEqual(await keys(`?action_id=${actionId}`), ['ACTION_VAR']);

  await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=environments`);
  await page.getByRole('button', { name: 'Add an environment' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Staging');
  await page.getByRole('button', { name: 'Add environment' }).click();
  await page.locator('li.row', { hasText: 'Staging' }).waitFor();

  // Environment scope: a secret of the environment.
  await page.getByRole('button', { name: 'Variables of Staging' }).click();
  await page.getByRole('heading', { name: 'Variables of Staging' }).waitFor();
  await page.getByRole('button', { name: 'Add a variable' }).click();
  await page.getByLabel('Key', { exact: true }).fill('STAGING_TOKEN');
  await page.getByLabel('Secret (encrypted, never shown again)').check();
  await page.getByLabel('Value').fill('env-s3cret');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('li.row', { hasText: 'STAGING_TOKEN' }).getByText('secret', { exact: true }).waitFor();
  assert.ok(!(await page.content()).includes('env-s3cret'), 'a secret value reached the page');
  const stagingId = (await h.request('GET', '/api/workspaces/acme/environments')).body.environments.find(
    (e: any) => e.name === 'Staging',
  ).id;
  const envVars = (await h.request('GET', `/api/workspaces/acme/variables?environment_id=${stagingId}`)).body
    .variables;
  assert.deepEqual(
    envVars.map((v: any) => [v.key, v.encrypted, v.environment?.id]),
    [['STAGING_TOKEN', true, stagingId]],
  );

  await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=integrations`);
  await page.getByRole('button', { name: 'Add an integration' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Hub');
  await page.getByLabel('User name').fill('someone');
  await page.getByLabel('Password or token').fill('hub-password');
  await page.getByRole('button', { name: 'Add integration' }).click();
  await page.locator('li.row', { hasText: 'Hub' }).waitFor();
  assert.ok(!(await page.content()).includes('hub-password'));

  await page.goto(`${h.baseUrl}/#/user`);
  await page.getByRole('button', { name: 'New token' }).click();
  await page.getByLabel('Token name').fill('ci');
  await page.getByLabel('EXECUTION_INFO').check();
  await page.getByRole('button', { name: 'Create token' }).click();
  const value = (await page.locator('.notice code').textContent()) ?? '';
  assert.match(value, /^gty_/);
  await page.getByRole('button', { name: 'Done' }).click();
  await page.locator('li.row', { hasText: 'ci' }).waitFor();
  await page.reload();
  await page.locator('li.row', { hasText: 'ci' }).waitFor();
  assert.ok(!(await page.content()).includes(value), 'a token was shown twice');
  // The token works: it was really created with that value.
  const me = await h.request('GET', '/api/user', undefined, { token: value });
  assert.equal(me.status, 200);
});

step(
  'invite a member, who sets a password from the one-time link and signs in with e-mail and password',
  async () => {
    await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=members`);
    await page.getByLabel('Invite by e-mail').fill('dev@example.com');
    await page.getByRole('button', { name: 'Invite' }).click();
    const link = (await page.locator('.notice-inline code').textContent()) ?? '';
    assert.match(link, /#\/set-password\?token=/);
    await page.locator('li.row', { hasText: 'dev@example.com' }).waitFor();

    await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=permissions`);
    await page.getByRole('button', { name: 'New permission set' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Runners');
    await page.getByLabel('Pipeline').selectOption('RUN_ONLY');
    await page.getByRole('button', { name: 'Create permission set' }).click();
    await page.locator('li.row', { hasText: 'Runners' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(link);
    await page.getByLabel('New password').waitFor();
    // The set-password page is seen only here: the page check further down cannot visit it.
    assert.deepEqual(await axeViolations(page), []);
    assert.equal(await horizontalOverflow(page), 0);
    await page.getByLabel('New password').fill('correct horse battery');
    await page.getByLabel('The same password again').fill('correct horse battery');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await page.getByRole('link', { name: 'Acme' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();

    await page.getByLabel('E-mail').fill('dev@example.com');
    await page.getByLabel('Password', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('wrong e-mail address or password').waitFor();
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('link', { name: 'Acme' }).waitFor();
    // Back to the admin for the remaining checks.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(h.token);
    await page.getByRole('button', { name: 'Sign in with the token' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  },
);

step('workspace groups and their members, the project team, through the forms', async () => {
  // A member's auto-assignment to new projects, with a permission set.
  await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=members`);
  await page.getByRole('button', { name: 'Edit dev@example.com' }).click();
  await page.getByLabel('Add to every new project').check();
  await page.getByLabel('With the permission set').selectOption({ label: 'Runners' });
  await page.getByRole('button', { name: 'Save member' }).click();
  await page.locator('li.row', { hasText: 'dev@example.com' }).getByText('added to new projects').waitFor();
  const sets = (await h.request('GET', '/api/workspaces/acme/permissions')).body.permission_sets;
  const runners = sets.find((x: any) => x.name === 'Runners');
  const wsMembers = (await h.request('GET', '/api/workspaces/acme/members')).body.members;
  const invitee = wsMembers.find((m: any) => m.email === 'dev@example.com');
  assert.equal(invitee.auto_assign_to_new_projects, true);
  assert.equal(invitee.auto_assign_permission_set_id, runners.id);

  await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=groups`);
  await page.getByRole('button', { name: 'New group' }).click();
  await page.getByLabel('Group name').fill(`Devs ${XSS}`);
  await page.getByLabel('Description').fill('the developers');
  await page.getByRole('button', { name: 'Create group' }).click();
  const row = page.locator('li.row', { hasText: `Devs ${XSS}` });
  await row.waitFor();
  await assertInert();
  await page.getByRole('button', { name: `Members of Devs ${XSS}` }).click();
  await page.getByLabel('Member', { exact: true }).selectOption({ label: 'dev (dev@example.com)' });
  await page.getByLabel('Role', { exact: true }).selectOption('MANAGER');
  await page.getByRole('button', { name: 'Add to group' }).click();
  await page.getByLabel(`Role of dev (dev@example.com) in Devs ${XSS}`).waitFor();
  const groups = (await h.request('GET', '/api/workspaces/acme/groups')).body.groups;
  const devs = groups.find((g: any) => g.name === `Devs ${XSS}`);
  const inGroup = (await h.request('GET', `/api/workspaces/acme/groups/${devs.id}/members`)).body.members;
  assert.deepEqual(
    inGroup.map((m: any) => [m.email, m.status]),
    [['dev@example.com', 'MANAGER']],
  );
  await page.getByLabel(`Role of dev (dev@example.com) in Devs ${XSS}`).selectOption('MEMBER');
  const memberPath = `/api/workspaces/acme/groups/${devs.id}/members/${inGroup[0].id}`;
  for (let i = 0; (await h.request('GET', memberPath)).body.status !== 'MEMBER'; i++) {
    assert.ok(i < 300, 'the role change reached the server');
    await new Promise((r) => setTimeout(r, 100));
  }

  // The group is added to every new project with the Runners set; with the member's own
  // auto-assignment above, a project created now starts with both.
  await page.getByRole('button', { name: `Edit Devs ${XSS}` }).click();
  await page.getByLabel('Add to every new project').check();
  await page.getByLabel('With the permission set').selectOption({ label: 'Runners' });
  await page.getByRole('button', { name: 'Save group' }).click();
  await page.getByRole('button', { name: `Edit Devs ${XSS}` }).waitFor();
  const devsSaved = (await h.request('GET', `/api/workspaces/acme/groups/${devs.id}`)).body;
  assert.equal(devsSaved.auto_assign_to_new_projects, true);
  assert.equal(devsSaved.auto_assign_permission_set_id, runners.id);
  await page.goto(`${h.baseUrl}/#/workspaces/acme`);
  await page.getByRole('button', { name: 'New project' }).click();
  await page.getByLabel('Display name').fill('Docs');
  await page.getByLabel('Name (URL)').fill('docs');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('heading', { name: 'Docs' }).waitFor();
  await page.goto(`${page.url().replace(/\?.*$/, '')}?tab=team`);
  assert.equal(
    await page.getByLabel(`Permission set of Devs ${XSS}`).inputValue(),
    String(runners.id),
    'the group was added to the new project with its set',
  );
  assert.equal(
    await page.getByLabel('Permission set of dev (dev@example.com)').inputValue(),
    String(runners.id),
    'the member was added to the new project with its set',
  );

  // The project's team: the member with the custom set, the group with a built-in one.
  await page.goto(`${state.projectUrl!}?tab=team`);
  await page.getByRole('button', { name: 'Add a member' }).click();
  await page.getByLabel('Member', { exact: true }).selectOption({ label: 'dev (dev@example.com)' });
  await page.getByLabel('Permission set', { exact: true }).selectOption({ label: 'Runners' });
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByLabel('Permission set of dev (dev@example.com)').waitFor();
  await page.getByRole('button', { name: 'Add a group' }).click();
  await page.getByLabel('Group', { exact: true }).selectOption({ label: `Devs ${XSS}` });
  await page.getByRole('button', { name: 'Add group' }).click();
  await page.getByLabel(`Permission set of Devs ${XSS}`).waitFor();
  await assertInert();
  const members = (await h.request('GET', '/api/workspaces/acme/projects/web/members')).body.members;
  const dev = members.find((m: any) => m.email === 'dev@example.com');
  assert.equal(dev.permission_set.name, 'Runners');
  const pgroups = (await h.request('GET', '/api/workspaces/acme/projects/web/groups')).body.groups;
  assert.deepEqual(
    pgroups.map((g: any) => g.name),
    [`Devs ${XSS}`],
  );
});

step(
  'pipeline triggers (schedule, webhook with its secret shown once), queue options, permissions',
  async () => {
    await page.goto(`${state.pipelineUrl!}?tab=settings`);
    await page.getByLabel('On a schedule').check();
    await page.getByLabel('Schedule', { exact: true }).selectOption('cron');
    await page.getByLabel('Cron expression').fill('61 3 * * *');
    await page.getByLabel('Time zone').fill('Europe/Warsaw');
    await page.getByLabel('By a trigger webhook (a secret URL)').check();
    await page.getByLabel('A new run of a branch stops older runs of that branch').check();
    await page.getByLabel('Run every waiting run (do not skip to the most recent)').check();
    await page.getByRole('button', { name: 'Save pipeline' }).click();
    // The API's complaint lands under the cron field.
    const cron = page.getByLabel('Cron expression');
    await page.locator(`.field.invalid #${await cron.getAttribute('id')}`).waitFor();
    await cron.fill('0 3 * * 1-5');
    await page.getByRole('button', { name: 'Save pipeline' }).click();
    await page.getByRole('heading', { name: 'Trigger webhook' }).waitFor();
    const lines = await page.locator('.notice-inline .copyline code').allTextContents();
    const url = lines[0]!;
    const secret = lines[1]!;
    assert.match(url, /\/api\/trigger\/pipelines\/\d+$/);
    assert.ok(secret.length >= 24, secret);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('heading', { name: 'Trigger webhook' }).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret was shown twice');

    const plPath = new URL(url).pathname.replace(/.*\/pipelines\//, '');
    const pl = (await h.request('GET', '/api/workspaces/acme/projects/web/pipelines')).body.pipelines[0];
    assert.equal(String(pl.id), plPath);
    const saved = (await h.request('GET', `/api/workspaces/acme/projects/web/pipelines/${pl.id}`)).body;
    const schedule = saved.events.find((e: any) => e.type === 'SCHEDULE');
    assert.equal(schedule.cron, '0 3 * * 1-5');
    assert.equal(schedule.timezone, 'Europe/Warsaw');
    assert.ok(saved.events.some((e: any) => e.type === 'WEBHOOK'));
    assert.equal(saved.terminate_stale_runs, true);
    assert.equal(saved.no_skip_to_most_recent, true);
    // The secret shown is the one that works; a wrong one is refused.
    const wrong = await fetch(`${url}?token=nope`, { method: 'POST' });
    assert.equal(wrong.status, 403);
    const right = await fetch(`${url}?token=${encodeURIComponent(secret)}`, { method: 'POST' });
    assert.equal(right.status, 200);
    const run = (await right.json()) as any;
    const execPath = `/api/workspaces/acme/projects/web/pipelines/${pl.id}/executions/${run.id ?? run.execution?.id}`;
    await h.request('PATCH', execPath, { operation: 'CANCEL' });
    await waitForExecution(h, execPath, WAIT);

    // A trigger condition: a missing variable name is named beside the conditions, then it saves.
    await page.getByRole('button', { name: 'Add a condition' }).click();
    await page.getByLabel('Condition 1', { exact: true }).selectOption('VAR_IS');
    await page.getByRole('button', { name: 'Save pipeline' }).click();
    await page
      .locator('fieldset', { hasText: 'Conditions' })
      .getByRole('alert')
      .filter({ hasText: 'trigger_variable_key' })
      .waitFor();
    await page.getByLabel('Variable of condition 1').fill('DEPLOY');
    await page.getByLabel('Value of condition 1').fill('yes');
    await page.getByRole('button', { name: 'Save pipeline' }).click();
    await page.getByText('Pipeline saved.').waitFor();
    const conds = (await h.request('GET', `/api/workspaces/acme/projects/web/pipelines/${pl.id}`)).body
      .trigger_conditions;
    assert.deepEqual(
      conds.map((c: any) => [c.trigger_condition, c.trigger_variable_key, c.trigger_variable_value]),
      [['VAR_IS', 'DEPLOY', 'yes']],
    );

    // Per-pipeline permissions: everyone else read-only, the invited member may run it.
    await page.getByLabel('Everyone else').selectOption('READ_ONLY');
    await page.getByLabel('Give a member its own level').selectOption({ label: 'dev (dev@example.com)' });
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByLabel('Level of dev (dev@example.com)').selectOption('RUN_ONLY');
    await page.getByRole('button', { name: 'Save permissions' }).click();
    await page.getByText('Permissions saved.').waitFor();
    const perms = (await h.request('GET', `/api/workspaces/acme/projects/web/pipelines/${pl.id}`)).body
      .permissions;
    assert.equal(perms.others, 'READ_ONLY');
    assert.deepEqual(
      perms.users.map((u: any) => u.access_level),
      ['RUN_ONLY'],
    );

    // Environment permissions, from its edit form.
    await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=environments`);
    await page.getByRole('button', { name: 'Edit Staging' }).click();
    await page.getByLabel('Everyone else').selectOption('USE_ONLY');
    await page.getByLabel('Give a group its own level').selectOption({ label: `Devs ${XSS}` });
    await page.getByRole('button', { name: 'Add group' }).click();
    await page.getByLabel(`Level of Devs ${XSS}`).selectOption('MANAGE');
    await page.getByRole('button', { name: 'Save permissions' }).click();
    await page.getByText('Permissions saved.').waitFor();
    const envs = (await h.request('GET', '/api/workspaces/acme/environments')).body.environments;
    const staging = envs.find((e: any) => e.name === 'Staging');
    assert.equal(staging.permissions.others, 'USE_ONLY');
    assert.deepEqual(
      staging.permissions.groups.map((g: any) => g.access_level),
      ['MANAGE'],
    );

    // Integration permissions, saved and read back after a reload.
    await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=integrations`);
    await page.getByRole('button', { name: 'Edit Hub' }).click();
    await page.getByLabel('Everyone else').selectOption('DENIED');
    await page.getByLabel('Workspace administrators').selectOption('USE_ONLY');
    await page.getByLabel('Give a member its own level').selectOption({ label: 'dev (dev@example.com)' });
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByLabel('Level of dev (dev@example.com)').selectOption('MANAGE');
    await page.getByRole('button', { name: 'Save permissions' }).click();
    await page.getByText('Permissions saved.').waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Edit Hub' }).click();
    assert.equal(await page.getByLabel('Everyone else').inputValue(), 'DENIED');
    assert.equal(await page.getByLabel('Workspace administrators').inputValue(), 'USE_ONLY');
    assert.equal(await page.getByLabel('Level of dev (dev@example.com)').inputValue(), 'MANAGE');
    const hub = (await h.request('GET', '/api/workspaces/acme/integrations')).body.integrations.find(
      (i: any) => i.name === 'Hub',
    );
    assert.equal(hub.permissions.others, 'DENIED');
    assert.equal(hub.permissions.admins, 'USE_ONLY');
    assert.deepEqual(
      hub.permissions.users.map((u: any) => u.access_level),
      ['MANAGE'],
    );
    await assertInert();
  },
);

step(
  'a project on an external repository: a refused URL shows at its field, the URL Gantry fetches is shown',
  async () => {
    const upstream = makeRepo([{ message: 'first', files: { 'README.md': 'upstream\n' } }]);
    await page.goto(`${h.baseUrl}/#/workspaces/acme`);
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Display name').fill('Upstream');
    await page.getByLabel('Name (URL)').fill('upstream');
    await page.getByLabel('Repository', { exact: true }).selectOption('external');
    // A local path outside the allowed roots is refused by the API; nothing is created.
    await page.getByLabel('Repository URL').fill('/etc');
    await page.getByRole('button', { name: 'Create project' }).click();
    const refusal = page.locator('[role="alert"]').filter({ hasText: /\S/ }).first();
    await refusal.waitFor();
    assert.match((await refusal.textContent()) ?? '', /allowed|not|outside/i);
    assert.equal((await h.request('GET', '/api/workspaces/acme/projects/upstream')).status, 404);
    await page.getByLabel('Repository URL').fill(`file://${upstream.dir}`);
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { name: 'External repository' }).waitFor();
    assert.equal(
      await page.getByRole('heading', { name: 'Upstream' }).count(),
      1,
      'the page of the new project is shown',
    );
    assert.equal(await page.locator('.copyline code').first().textContent(), `file://${upstream.dir}`);
    const saved = (await h.request('GET', '/api/workspaces/acme/projects/upstream')).body;
    assert.equal(saved.custom_repo_url, `file://${upstream.dir}`);
    assert.equal(
      await page.getByText('Push your code here').count(),
      0,
      'an external project has no push URL',
    );
  },
);

step(
  'settings and deletes: workspace and project settings, image build and push actions, a pipeline',
  async () => {
    // Workspace settings: a new name (the domain, in every URL, stays).
    await page.goto(`${h.baseUrl}/#/workspaces/acme?tab=settings`);
    await page.getByLabel('Name', { exact: true }).fill('Acme Corp');
    await page.getByRole('button', { name: 'Save workspace' }).click();
    await page.getByRole('heading', { name: 'Acme Corp' }).waitFor();
    assert.equal((await h.request('GET', '/api/workspaces/acme')).body.name, 'Acme Corp');

    // Project settings: the docs project renamed, then deleted.
    await page.goto(`${h.baseUrl}/#/workspaces/acme/projects/docs?tab=settings`);
    await page.getByLabel('Display name').fill('Docs site');
    await page.getByRole('button', { name: 'Save project' }).click();
    await page.getByRole('heading', { name: 'Docs site' }).waitFor();
    assert.equal(
      (await h.request('GET', '/api/workspaces/acme/projects/docs')).body.display_name,
      'Docs site',
    );
    await page.goto(`${h.baseUrl}/#/workspaces/acme/projects/docs?tab=settings`);
    b.confirmNext('this project');
    await page.getByRole('button', { name: 'Delete this project' }).click();
    await page.getByRole('heading', { name: 'Acme Corp' }).waitFor();
    assert.equal((await h.request('GET', '/api/workspaces/acme/projects/docs')).status, 404);

    // A pipeline that builds and pushes an image, through the DOCKERFILE and DOCKER_PUSH forms.
    await page.goto(state.projectUrl!);
    await page.getByRole('button', { name: 'New pipeline' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Images');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.getByRole('heading', { name: 'Images' }).waitFor();
    const imagesUrl = page.url();
    await page.getByRole('link', { name: 'Build a Docker image' }).click();
    await page.getByLabel('Action name').fill('Image');
    await page.getByLabel('Image tag').fill('1.0');
    await page.getByLabel('Build arguments').fill('VERSION=1.0');
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByRole('link', { name: 'Image', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Push a Docker image' }).click();
    await page.getByLabel('Action name').fill('Push');
    await page.getByLabel('Repository').fill('team/app');
    await page.getByLabel('Image built by').selectOption({ label: 'Image' });
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByRole('link', { name: 'Push', exact: true }).waitFor();
    const plPath = new URL(imagesUrl).hash.replace(/^#/, '/api').replace(/\?.*$/, '');
    const actions = (await h.request('GET', `${plPath}/actions`)).body.actions;
    assert.deepEqual(
      actions.map((a: any) => a.type),
      ['DOCKERFILE', 'DOCKER_PUSH'],
    );
    assert.equal(actions[0].docker_image_tag, '1.0');
    assert.deepEqual(actions[0].build_args, ['VERSION=1.0']);
    assert.equal(actions[1].repository, 'team/app');
    assert.equal(actions[1].docker_build_action_id, actions[0].id);

    // The push action deleted from its page, then the pipeline from its settings.
    await page.getByRole('link', { name: 'Push', exact: true }).click();
    b.confirmNext('this action');
    await page.getByRole('button', { name: 'Delete this action' }).click();
    await page.getByRole('heading', { name: 'Images' }).waitFor();
    assert.deepEqual(
      (await h.request('GET', `${plPath}/actions`)).body.actions.map((a: any) => a.name),
      ['Image'],
    );
    await page.goto(`${imagesUrl.replace(/\?.*$/, '')}?tab=settings`);
    b.confirmNext('this pipeline');
    await page.getByRole('button', { name: 'Delete this pipeline' }).click();
    await page.getByRole('heading', { name: `Web ${XSS}` }).waitFor();
    assert.equal((await h.request('GET', plPath)).status, 404);
    await assertInert();
  },
);

/** The folded-away forms and panels the page check opens, so they are checked too. */
const OPEN = [
  'New project',
  'New pipeline',
  'Run…',
  'Add a variable',
  'New token',
  'New group',
  'Add a member',
  'Add a group',
  'Edit Staging',
  'Edit Hub',
  'Edit DEPLOY_KEY',
  `Members of Devs ${XSS}`,
];

step('every page fits 390 px without horizontal overflow and passes axe-core', async () => {
  // A page, or a page and the folded-away parts to open on it instead of the usual ones.
  const pages: (string | [string, string[]])[] = [
    `${h.baseUrl}/#/`,
    `${h.baseUrl}/#/workspaces/acme`,
    `${h.baseUrl}/#/workspaces/acme?tab=variables`,
    // Before the plain tab: the same view stays mounted, with what the plain visit opened.
    [
      `${h.baseUrl}/#/workspaces/acme?tab=environments&open=variables`,
      ['Variables of Staging', 'Add a variable'],
    ],
    `${h.baseUrl}/#/workspaces/acme?tab=environments`,
    `${h.baseUrl}/#/workspaces/acme?tab=integrations`,
    `${h.baseUrl}/#/workspaces/acme?tab=members`,
    `${h.baseUrl}/#/workspaces/acme?tab=permissions`,
    `${h.baseUrl}/#/workspaces/acme?tab=groups`,
    `${h.baseUrl}/#/workspaces/acme?tab=settings`,
    state.projectUrl!,
    `${state.projectUrl!}?tab=settings`,
    `${state.projectUrl!}?tab=team`,
    `${state.projectUrl!}?tab=variables`,
    `${state.projectUrl!}?tab=environments`,
    state.pipelineUrl!,
    `${state.pipelineUrl!}?tab=variables`,
    `${state.pipelineUrl!}?tab=settings`,
    `${state.pipelineUrl!.replace(/\?.*$/, '')}/actions/new?type=RUN_DOCKER_CONTAINER`,
    `${state.pipelineUrl!.replace(/\?.*$/, '')}/actions/new?type=DOCKERFILE`,
    `${state.pipelineUrl!.replace(/\?.*$/, '')}/actions/new?type=DOCKER_PUSH`,
    state.actionUrl!,
    state.gateFormUrl!,
    state.executionUrl!,
    state.gateExecutionUrl!,
    `${h.baseUrl}/#/user`,
  ];
  const failures: string[] = [];
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 844 });
    for (const entry of pages) {
      const [url, opens] = typeof entry === 'string' ? [entry, OPEN] : entry;
      await page.goto(url);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle').catch(() => {});
      // Open the forms that are folded away, so they are checked too.
      for (const name of opens) {
        const btn = page.getByRole('button', { name, exact: true });
        if ((await btn.count()) > 0) await btn.first().click();
      }
      const over = await horizontalOverflow(page);
      if (over > 0) failures.push(`${width}px ${url}: ${over}px wider than the screen`);
      for (const v of await axeViolations(page)) failures.push(`${width}px ${url}: ${v}`);
      if (width === 390 && url === state.pipelineUrl) await shot('ui-pipeline-mobile.png');
    }
  }
  // And the sign-in page, signed out.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Gantry' }).waitFor();
  if ((await horizontalOverflow(page)) > 0) failures.push('sign-in page overflows at 390 px');
  for (const v of await axeViolations(page)) failures.push(`sign-in page: ${v}`);
  assert.deepEqual(failures, []);
  assert.deepEqual(
    // The API's 4xx answers (the invalid domain above) are logged by the browser; anything else is a fault.
    b.problems.filter((p) => !p.includes('Failed to load resource: the server responded with a status of 4')),
    [],
  );
});
