import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGantry, type Harness } from '../support/harness.ts';
import { assertBuddyError } from '../support/api.ts';
import { checkActionBody } from '../../src/api/schemas/action.ts';
import { SUPPORTED_ACTION_TYPES } from '../../src/domain/action.ts';

/**
 * Route validators and serialisers are compiled at a route's first use, not at start
 * (src/api/lazy-compilers.ts). A server whose every schema was compiled up front must answer every
 * request exactly as one compiling them as requests come: same statuses, same 400 messages, same bytes.
 */
describe('route schemas compiled on first use', () => {
  let lazy: Harness;
  let eager: Harness;

  before(async () => {
    lazy = await startGantry();
    eager = await startGantry();
    // Fastify sets routes up (and calls the compilers) when it gets ready, as listen() does.
    await lazy.gantry.app.ready();
    await eager.gantry.app.ready();
    eager.gantry.app.schemaCompilation.compileAll();
  });
  after(async () => {
    await lazy?.close();
    await eager?.close();
  });

  test('nothing is compiled at start; a request compiles only what its route needs', async () => {
    const app = lazy.gantry.app;
    const atStart = app.schemaCompilation.pending();
    // Every route of the API has at least one schema: far more than a handful wait.
    assert.ok(atStart > 100, `only ${atStart} validators/serialisers pending after start`);
    assert.equal((await lazy.request('GET', '/api/workspaces')).status, 200);
    const afterOne = app.schemaCompilation.pending();
    assert.ok(afterOne < atStart, 'the first request compiled nothing');
    assert.ok(atStart - afterOne <= 6, `one request compiled ${atStart - afterOne} schemas`);
    assert.equal(eager.gantry.app.schemaCompilation.pending(), 0);
  });

  test('answers (good and bad input, coerced query strings) are the same as with every schema compiled', async () => {
    const workspace = { name: 'Lazy', domain: 'lazy' };
    const cases: { method: string; url: string; body?: unknown; raw?: string }[] = [
      { method: 'POST', url: '/api/workspaces', body: { name: 5, domain: 'x' } },
      { method: 'POST', url: '/api/workspaces', body: { domain: 'lazy' } },
      { method: 'POST', url: '/api/workspaces', raw: '[1,2]' },
      { method: 'POST', url: '/api/workspaces', body: workspace },
      { method: 'GET', url: '/api/workspaces/lazy' },
      { method: 'POST', url: '/api/workspaces/lazy/projects', body: { display_name: 7 } },
      { method: 'POST', url: '/api/workspaces/lazy/projects', body: { display_name: 'Site' } },
      { method: 'GET', url: '/api/workspaces/lazy/projects?page=abc' },
      { method: 'GET', url: '/api/workspaces/lazy/projects?per_page=0' },
      { method: 'GET', url: '/api/workspaces/lazy/projects?page=1&per_page=5' },
      { method: 'GET', url: '/api/workspaces/lazy/projects/site' },
      {
        method: 'POST',
        url: '/api/workspaces/lazy/projects/site/pipelines',
        body: { name: 'P', on: 'NOPE' },
      },
      {
        method: 'POST',
        url: '/api/workspaces/lazy/projects/site/pipelines',
        body: { name: 'P', on: 'CLICK' },
      },
      { method: 'GET', url: '/api/workspaces/lazy/projects/site/pipelines?per_page=2' },
      { method: 'GET', url: '/api/workspaces/lazy/projects/site/pipelines/1' },
      { method: 'GET', url: '/api/workspaces/lazy/projects/site/pipelines/abc' },
      { method: 'DELETE', url: '/api/workspaces/lazy/projects/site' },
      { method: 'GET', url: '/api/user' },
    ];
    let refused = 0;
    for (const c of cases) {
      const options = c.raw !== undefined ? { raw: c.raw } : {};
      const a = await lazy.request(c.method, c.url, c.body, options);
      const b = await eager.request(c.method, c.url, c.body, options);
      const what = `${c.method} ${c.url} ${c.raw ?? JSON.stringify(c.body) ?? ''}`;
      assert.equal(a.status, b.status, what);
      assert.deepEqual(normalise(a.body, lazy), normalise(b.body, eager), what);
      if (a.status === 400) {
        assertBuddyError(a.body, what);
        refused += 1;
      }
    }
    assert.ok(refused >= 6, `only ${refused} of the bad inputs were refused with 400`);
  });

  test("every action type's schema compiles (checked at first use too)", () => {
    for (const type of SUPPORTED_ACTION_TYPES) {
      const problem = checkActionBody(type, { unknown_field_for_the_test: 1 });
      assert.match(problem ?? '', /unknown field "unknown_field_for_the_test"|is required/, type);
    }
  });

  test('every route schema compiles', () => {
    const app = lazy.gantry.app;
    assert.ok(app.schemaCompilation.compileAll() > 0);
    assert.equal(app.schemaCompilation.pending(), 0);
  });
});

/** A body with the server's dates and its own admin's name left out (two servers, two admins). */
function normalise(body: unknown, h: Harness): unknown {
  return JSON.parse(
    JSON.stringify(body)
      .replaceAll(h.baseUrl, 'BASE')
      .replace(/"\d{4}-\d{2}-\d{2}T[^"]+"/g, '"DATE"'),
  );
}
