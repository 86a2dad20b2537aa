import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGantry, type Harness } from '../support/harness.ts';

let h: Harness;
const P = '/api/workspaces/ws/projects';
const PIPELINES = `${P}/app/pipelines`;
const PIPELINE_COUNT = 25;

before(async () => {
  h = await startGantry();
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  // Created in an order that differs from name order, so sorting is visible.
  for (const name of ['app', 'delta', 'bravo', 'echo', 'charlie']) {
    assert.equal((await h.request('POST', P, { display_name: name, name })).status, 201);
  }
  for (let i = 1; i <= PIPELINE_COUNT; i += 1) {
    assert.equal((await h.request('POST', PIPELINES, { name: `Pipeline ${i}` })).status, 201);
  }
});

after(async () => {
  await h.close();
});

interface Page<T> {
  url: string;
  html_url: string;
  page: number;
  page_size: number;
  total_page_count: number;
  element_count: number;
  total_element_count: number;
  items: T[];
}

async function page<T>(url: string, plural: string): Promise<Page<T>> {
  const res = await h.request('GET', url);
  assert.equal(res.status, 200, `${url}: ${JSON.stringify(res.body)}`);
  const { [plural]: items, ...fields } = res.body;
  return { ...fields, items };
}

describe('paging', () => {
  test("the pipelines list honours page and per_page with Buddy's paging fields", async () => {
    const all = await page<{ name: string }>(PIPELINES, 'pipelines');
    // per_page defaults to 20.
    assert.equal(all.page, 1);
    assert.equal(all.page_size, 20);
    assert.equal(all.items.length, 20);
    assert.equal(all.element_count, 20);
    assert.equal(all.total_element_count, PIPELINE_COUNT);
    assert.equal(all.total_page_count, 2);
    assert.equal(all.url, `${h.baseUrl}${PIPELINES}`);

    const seen: string[] = [];
    for (let n = 1; n <= 3; n += 1) {
      const p = await page<{ name: string }>(`${PIPELINES}?page=${n}&per_page=10`, 'pipelines');
      assert.equal(p.page, n);
      assert.equal(p.page_size, 10);
      assert.equal(p.total_page_count, 3);
      assert.equal(p.total_element_count, PIPELINE_COUNT);
      assert.equal(p.element_count, n < 3 ? 10 : 5);
      assert.equal(p.items.length, p.element_count);
      seen.push(...p.items.map((x) => x.name));
    }
    // Every pipeline exactly once, oldest first.
    assert.deepEqual(
      seen,
      Array.from({ length: PIPELINE_COUNT }, (_, i) => `Pipeline ${i + 1}`),
    );

    const beyond = await page(`${PIPELINES}?page=4&per_page=10`, 'pipelines');
    assert.equal(beyond.items.length, 0);
    assert.equal(beyond.element_count, 0);
    assert.equal(beyond.total_element_count, PIPELINE_COUNT);
  });

  test('the projects list honours page, per_page and sorting', async () => {
    const names = async (query: string): Promise<Page<{ name: string }>> => page(`${P}?${query}`, 'projects');
    const first = await names('per_page=2&page=1&sort_by=name');
    assert.deepEqual(
      first.items.map((p) => p.name),
      ['app', 'bravo'],
    );
    assert.equal(first.total_element_count, 5);
    assert.equal(first.total_page_count, 3);
    assert.equal(first.page_size, 2);
    assert.equal((await names('per_page=2&page=3&sort_by=name')).items.map((p) => p.name).join(), 'echo');
    assert.deepEqual(
      (await names('per_page=2&page=1&sort_by=name&sort_direction=DESC')).items.map((p) => p.name),
      ['echo', 'delta'],
    );
    assert.deepEqual(
      (await names('sort_by=create_date')).items.map((p) => p.name),
      ['app', 'delta', 'bravo', 'echo', 'charlie'],
    );

    assert.equal((await h.request('PATCH', `${P}/echo`, { status: 'CLOSED' })).status, 200);
    const active = await names('status=ACTIVE&sort_by=name');
    assert.deepEqual(
      active.items.map((p) => p.name),
      ['app', 'bravo', 'charlie', 'delta'],
    );
    assert.equal(active.total_element_count, 4);
    assert.deepEqual(
      (await names('status=CLOSED')).items.map((p) => p.name),
      ['echo'],
    );
  });
});

describe('partial updates', () => {
  test("a PATCH that changes only an environment's variables, or nothing, answers 200", async () => {
    const created = await h.request('POST', '/api/workspaces/ws/environments', {
      name: 'Staging',
      variables: [{ key: 'A', value: '1' }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const path = `/api/workspaces/ws/environments/${created.body.id}`;
    const replaced = await h.request('PATCH', path, { variables: [{ key: 'B', value: '2' }] });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.deepEqual(
      replaced.body.variables.map((v: { key: string; value: string }) => [v.key, v.value]),
      [['B', '2']],
    );
    assert.equal(replaced.body.name, 'Staging');
    const nothing = await h.request('PATCH', path, {});
    assert.equal(nothing.status, 200, JSON.stringify(nothing.body));
    assert.deepEqual(nothing.body, replaced.body);
  });

  test('an empty PATCH changes nothing on every resource', async () => {
    const targets = ['/api/workspaces/ws', `${P}/app`, `${PIPELINES}/1`];
    const action = await h.request('POST', `${PIPELINES}/1/actions`, {
      name: 'A',
      type: 'RUN_DOCKER_CONTAINER',
      docker_image_name: 'busybox',
      docker_image_tag: 'latest',
      inline_commands: 'true',
    });
    assert.equal(action.status, 201);
    targets.push(`${PIPELINES}/1/actions/${action.body.id}`);
    const variable = await h.request('POST', '/api/workspaces/ws/variables', { key: 'K', value: 'v' });
    assert.equal(variable.status, 201);
    targets.push(`/api/workspaces/ws/variables/${variable.body.id}`);
    for (const url of targets) {
      const before = await h.request('GET', url);
      const res = await h.request('PATCH', url, {});
      assert.equal(res.status, 200, `${url}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body, before.body, url);
    }
  });
});

describe('API documentation', () => {
  test('GET /api/openapi.json lists the routes, without a token', async () => {
    const res = await h.request('GET', '/api/openapi.json', undefined, { token: null });
    assert.equal(res.status, 200);
    const doc = res.body as {
      openapi: string;
      servers: { url: string }[];
      paths: Record<string, Record<string, unknown>>;
    };
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.servers[0]?.url, `${h.baseUrl}/api`);
    const expected: [string, string][] = [
      ['/workspaces', 'get'],
      ['/workspaces', 'post'],
      ['/workspaces/{workspace}', 'patch'],
      ['/workspaces/{workspace}/projects', 'post'],
      ['/workspaces/{workspace}/projects/{project_name}/pipelines', 'get'],
      ['/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}', 'patch'],
      ['/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}/actions', 'post'],
      [
        '/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}/actions/{action_id}',
        'delete',
      ],
      ['/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}/executions', 'post'],
      [
        '/workspaces/{workspace}/projects/{project_name}/pipelines/{pipeline_id}/executions/{execution_id}',
        'patch',
      ],
      ['/user/tokens', 'post'],
      ['/user/token', 'get'],
    ];
    for (const [path, method] of expected)
      assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is not documented`);
    // Documentation routes themselves are not API routes.
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/docs') || p === '/openapi.json'));
  });

  test('/api/docs answers 200 without a token', async () => {
    const res = await h.request('GET', '/api/docs', undefined, { token: null });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
  });
});
