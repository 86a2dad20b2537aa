import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import { base64Cores } from '../../src/secrets/mask.ts';

/**
 * Issue 8 item 4 on real containers: a secret printed in the ways that slipped past masking (inside
 * base64 of "user:secret", URL-encoded, JSON-escaped, cut by the 64 KiB line split) is masked, and an
 * output made from a secret is itself a secret: sealed in the response and the database, masked in the
 * next action's log, and it turns the settable variable it updates encrypted.
 */

const TOKEN = 'tok/3n+Sec"ret x&y';
let h: Harness;
let repo: string;

before(async () => {
  h = await startGantry();
  repo = makeRepo([{ message: 'init', files: { 'README.md': 'hello\n' } }]).dir;
});
after(async () => {
  await h.close();
});

function databaseFilesHolding(clear: string): string[] {
  return readdirSync(h.dataDir)
    .filter((f) => f.startsWith('gantry.db'))
    .filter((f) => readFileSync(path.join(h.dataDir, f)).includes(clear));
}

test('encoded, escaped and split prints of a secret are masked; outputs made from it are secret', async () => {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo);
  const settable = await h.request('POST', '/api/workspaces/ws/variables', {
    key: 'LAST_AUTH',
    value: 'none yet',
    settable: true,
    pipeline: { id: pipelineId },
  });
  assert.equal(settable.status, 201, JSON.stringify(settable.body));
  await addAction(h, pipelinePath, {
    name: 'prints the token',
    inline_commands: [
      'printf "deploy:%s" "$TOKEN" | base64',
      'printf "x%s" "$TOKEN" | base64',
      'printf "%s" "$TOKEN" | od -An -tx1 | tr -d " \\n" | sed "s/\\(..\\)/%\\1/g"; echo',
      'printf "{\\"token\\":\\"%s\\"}\\n" "$(printf "%s" "$TOKEN" | sed "s/\\"/\\\\\\\\\\"/g")"',
      'head -c 65530 /dev/zero | tr "\\0" "x"; printf "%s\\n" "$TOKEN"',
      'echo "AUTH_HEADER=Basic $(printf "u:%s" "$TOKEN" | base64)" >> "$GANTRY_OUTPUTS"',
      'echo "LAST_AUTH=token $TOKEN" >> "$GANTRY_OUTPUTS"',
      'echo "PLAIN_OUTPUT=nothing secret" >> "$GANTRY_OUTPUTS"',
    ].join('\n'),
    variables: [{ key: 'TOKEN', value: TOKEN, encrypted: true }],
  });
  await addAction(h, pipelinePath, {
    name: 'uses the output',
    inline_commands: 'echo "got $AUTH_HEADER $PLAIN_OUTPUT"',
  });
  const started = await h.request('POST', `${pipelinePath}/executions`, {
    to_revision: { revision: 'HEAD' },
  });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const e = await waitForExecution(h, `${pipelinePath}/executions/${started.body.id}`);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  const executionPath = `${pipelinePath}/executions/${e.id}`;
  const [first, second] = e.action_executions;
  const printed = (await logsOf(h, executionPath, first.action_execution_id)).join('\n');
  const used = (await logsOf(h, executionPath, second.action_execution_id)).join('\n');
  const encodedAuth = Buffer.from(`u:${TOKEN}`).toString('base64');
  for (const clear of [
    TOKEN,
    'Sec',
    Buffer.from(`deploy:${TOKEN}`).toString('base64').slice(8, 24),
    Buffer.from(`x${TOKEN}`).toString('base64').slice(4, 20),
    '%74%6f%6b', // "tok" URL-encoded
    'tok\\/3n',
    '3n+Sec',
    encodedAuth.slice(4, 20),
  ])
    assert.ok(
      !printed.includes(clear) && !used.includes(clear),
      `a log holds ${clear}:\n${printed}\n${used}`,
    );
  assert.equal(printed.split('\n').filter((l) => l.includes('***')).length, 5, printed.slice(-300));
  assert.equal(used, 'got *** nothing secret', 'the output is itself a secret, masked whole');

  const outputs = Object.fromEntries(first.outputted_variables.map((v: any) => [v.key, v]));
  assert.equal(outputs.AUTH_HEADER.encrypted, true, 'an output made from a secret is encrypted');
  assert.equal(outputs.LAST_AUTH.encrypted, true);
  assert.equal(outputs.PLAIN_OUTPUT.encrypted, false);
  assert.equal(outputs.PLAIN_OUTPUT.value, 'nothing secret');
  const everything = JSON.stringify(e) + JSON.stringify((await h.request('GET', executionPath)).body);
  assert.ok(
    !everything.includes(encodedAuth) && !everything.includes('Sec'),
    'responses hold no clear output',
  );
  const variable = await h.request('GET', `/api/workspaces/ws/variables/${settable.body.id}`);
  assert.equal(variable.body.encrypted, true, 'the settable variable it updated became encrypted');
  assert.notEqual(variable.body.value, `token ${TOKEN}`);
  assert.deepEqual(databaseFilesHolding(encodedAuth), []);
  assert.deepEqual(databaseFilesHolding(`token ${TOKEN}`), []);
});

test('a secret in base64 wrapped at 76 columns is masked at every alignment and line-break position', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  // 18 prefix lengths: the encoded secret starts at every alignment and the 76-column break falls at
  // every place inside it (and outside it).
  await addAction(h, pipelinePath, {
    name: 'prints wrapped base64',
    inline_commands:
      'for n in $(seq 40 57); do printf "%s:%s@registry" "$(head -c $n /dev/zero | tr "\\0" "u")" "$TOKEN" | base64; done',
    variables: [{ key: 'TOKEN', value: TOKEN, encrypted: true }],
  });
  const started = await h.request('POST', `${pipelinePath}/executions`, {
    to_revision: { revision: 'HEAD' },
  });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const e = await waitForExecution(h, `${pipelinePath}/executions/${started.body.id}`);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  const lines = await logsOf(
    h,
    `${pipelinePath}/executions/${e.id}`,
    e.action_executions[0].action_execution_id,
  );
  assert.ok(lines.length >= 36, `the encodings were printed wrapped: ${lines.join('\n')}`);
  assert.ok(
    lines.some((l) => l.length === 76),
    'busybox base64 wraps at 76 columns',
  );
  const joined = lines.join('');
  for (const core of base64Cores(Buffer.from(TOKEN)))
    assert.ok(!joined.includes(core), `the log shows ${core}:\n${lines.join('\n')}`);
  assert.equal(lines.filter((l) => l.includes('***')).length, 18, lines.join('\n'));
});
