import assert from 'node:assert/strict';
import { test } from 'node:test';
import { environmentAllowsPipeline } from './environment-use.ts';

const pipeline = { name: 'Deploy site', identifier: 'deploy-site' };

test('pipelines_access_level decides when no allowed_pipelines entry names the pipeline', () => {
  assert.equal(
    environmentAllowsPipeline({ pipelines_access_level: 'USE_ONLY', allowed_pipelines: [] }, 'web', pipeline),
    true,
  );
  assert.equal(
    environmentAllowsPipeline({ pipelines_access_level: 'DENIED', allowed_pipelines: [] }, 'web', pipeline),
    false,
  );
  const other = [{ project: 'api', pipeline: 'Deploy site', access_level: 'USE_ONLY' }];
  assert.equal(
    environmentAllowsPipeline(
      { pipelines_access_level: 'DENIED', allowed_pipelines: other },
      'web',
      pipeline,
    ),
    false,
  );
});

test('an allowed_pipelines entry (by name or identifier, in the right project) overrides the default both ways', () => {
  const allow = (by: string) => [{ project: 'web', pipeline: by, access_level: 'USE_ONLY' }];
  const deny = [{ project: 'web', pipeline: 'Deploy site', access_level: 'DENIED' }];
  assert.equal(
    environmentAllowsPipeline(
      { pipelines_access_level: 'DENIED', allowed_pipelines: allow('Deploy site') },
      'web',
      pipeline,
    ),
    true,
  );
  assert.equal(
    environmentAllowsPipeline(
      { pipelines_access_level: 'DENIED', allowed_pipelines: allow('deploy-site') },
      'web',
      pipeline,
    ),
    true,
  );
  assert.equal(
    environmentAllowsPipeline(
      { pipelines_access_level: 'USE_ONLY', allowed_pipelines: deny },
      'web',
      pipeline,
    ),
    false,
  );
});
