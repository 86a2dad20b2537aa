// The web UI's API types (src/web/api-types.ts) are generated from the OpenAPI document the server
// serves; this fails when a route's schema changed and the file was not regenerated.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { generateWebTypes, WEB_TYPES_FILE } from '../../scripts/gen-web-types.ts';

test('src/web/api-types.ts is what scripts/gen-web-types.ts generates from the served OpenAPI document', async () => {
  const fresh = await generateWebTypes();
  assert.match(fresh, /export interface paths/);
  assert.match(fresh, /'\/workspaces\/\{workspace\}\/groups'/, 'the document lists the routes');
  assert.ok(
    readFileSync(WEB_TYPES_FILE, 'utf8') === fresh,
    'src/web/api-types.ts is stale: run `node --import tsx scripts/gen-web-types.ts` and commit the result',
  );
});
