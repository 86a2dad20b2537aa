/**
 * Action logs on real containers: stdout and stderr both kept, 5 MB of output stored whole, and the two
 * Server-Sent Event streams (execution events, log lines) resuming with Last-Event-ID without loss or
 * duplicates, read with Node's fetch from a listening server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
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
import {
  actionNamed,
  containersWith,
  instanceLabel,
  removeDirs,
  runPipeline,
  runToEnd,
  waitFor,
} from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);

before(async () => {
  h = await startGantry({ listen: true, config: { maxConcurrentExecutions: 4 } });
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
});

interface SseEvent {
  id: string;
  event: string;
  data: string;
}

/**
 * Reads an SSE stream as text. Stops at the "end" event, or (closing the connection) once `stopAfter`
 * events arrived. `lastEventId` is sent as the Last-Event-ID header, as a browser does on reconnect.
 */
async function readSse(
  apiPath: string,
  options: { lastEventId?: string; stopAfter?: number; onEvent?: (ev: SseEvent) => void } = {},
  server: Harness = h,
): Promise<{ events: SseEvent[]; ended: boolean; lastEventId: string | undefined }> {
  const abort = new AbortController();
  const headers: Record<string, string> = {
    authorization: `Bearer ${server.token}`,
    accept: 'text/event-stream',
  };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const res = await fetch(`${server.baseUrl}${apiPath}`, { headers, signal: abort.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: SseEvent[] = [];
  // What a browser's EventSource would send as Last-Event-ID on its next reconnect.
  let lastEventId = options.lastEventId;
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { events, ended: false, lastEventId };
      buffer += decoder.decode(value, { stream: true });
      let split: number;
      while ((split = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const ev: SseEvent = { id: '', event: 'message', data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          const [field, ...rest] = line.split(': ');
          const text = rest.join(': ');
          if (field === 'id') ev.id = lastEventId = text;
          else if (field === 'event') ev.event = text;
          else if (field === 'data') data.push(text);
        }
        ev.data = data.join('\n');
        if (ev.event === 'end') return { events, ended: true, lastEventId };
        events.push(ev);
        options.onEvent?.(ev);
        if (options.stopAfter !== undefined && events.length >= options.stopAfter)
          return { events, ended: false, lastEventId };
      }
    }
  } finally {
    abort.abort();
    await reader.cancel().catch(() => undefined);
  }
}

test('stdout and stderr are both captured, each line once', async () => {
  const { execution: e, path } = await (async () => {
    const { pipelinePath } = await setupPipeline(h, repo.dir);
    await addAction(h, pipelinePath, {
      name: 'both-streams',
      inline_commands:
        'echo to-stdout\necho to-stderr >&2\nsleep 0.2\necho partial-no-newline >&2; printf "last-without-newline"',
    });
    return runToEnd(h, pipelinePath);
  })();
  assert.equal(e.status, 'SUCCESSFUL');
  const logs = await logsOf(h, path, actionNamed(e, 'both-streams').action_execution_id);
  assert.deepEqual([...logs].sort(), [
    'last-without-newline',
    'partial-no-newline',
    'to-stderr',
    'to-stdout',
  ]);
});

test('stdout and stderr lines keep the order the commands wrote them in, every time', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, {
    name: 'interleaved',
    inline_commands: 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "out $i"; echo "err $i" >&2; done',
  });
  const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((i) => [`out ${i}`, `err ${i}`]);
  for (let attempt = 0; attempt < 3; attempt++) {
    const { execution: e, path } = await runToEnd(h, pipelinePath);
    assert.equal(e.status, 'SUCCESSFUL');
    assert.deepEqual(await logsOf(h, path, actionNamed(e, 'interleaved').action_execution_id), expected);
  }
});

test('a carriage return inside a line does not split it: total_element_count agrees with the entries', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, {
    name: 'progress',
    inline_commands: "printf 'one\\n10%%\\r50%%\\r100%%\\ntwo\\r\\nthree\\n'",
  });
  const { execution: e, path } = await runToEnd(h, pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL');
  const aeid = actionNamed(e, 'progress').action_execution_id;
  const res = await h.request('GET', `${path}/action_executions/${aeid}/logs?limit=1000`);
  assert.deepEqual(res.body.logs, ['one', '10%\r50%\r100%', 'two', 'three']);
  assert.equal(res.body.total_element_count, res.body.logs.length);
  assert.equal(res.body.element_count, res.body.logs.length);
});

test('5 MB of output is stored whole and pages by offset', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  const pad = 'x'.repeat(90);
  // 55,000 numbered lines of 97 bytes: about 5.3 MB.
  await addAction(h, pipelinePath, {
    name: 'prints-5mb',
    inline_commands: `awk 'BEGIN { for (i = 1; i <= 55000; i++) printf "%06d ${pad}\\n", i }'`,
  });
  const { execution: e, path } = await runToEnd(h, pipelinePath, {}, 120_000);
  assert.equal(e.status, 'SUCCESSFUL');
  const aeid = actionNamed(e, 'prints-5mb').action_execution_id;
  const tail = await h.request('GET', `${path}/action_executions/${aeid}/logs?offset=54990&limit=1000`);
  assert.equal(tail.body.total_element_count, 55000);
  assert.equal(tail.body.element_count, 10);
  assert.equal(tail.body.logs[9], `055000 ${pad}`);
  const all = await logsOf(h, path, aeid);
  assert.equal(all.length, 55000);
  all.forEach((line, i) => {
    if (line !== `${String(i + 1).padStart(6, '0')} ${pad}`)
      assert.fail(`line ${i} is ${JSON.stringify(line.slice(0, 120))}`);
  });
});

test('the execution event stream delivers status changes and resumes after Last-Event-ID without loss or duplicates', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'first', inline_commands: 'sleep 0.5' });
  await addAction(h, pipelinePath, { name: 'second', inline_commands: 'sleep 0.5' });
  const run = await runPipeline(h, pipelinePath);
  const eventsPath = `${run.path}/events`;
  // A client that drops the connection after three events, then reconnects as a browser would.
  const firstPart = await readSse(eventsPath, { stopAfter: 3 });
  assert.equal(firstPart.events.length, 3);
  const rest = await readSse(eventsPath, { lastEventId: firstPart.events.at(-1)!.id });
  assert.equal(rest.ended, true);
  const e = await waitForExecution(h, run.path);
  assert.equal(e.status, 'SUCCESSFUL');

  const whole = await readSse(eventsPath);
  assert.equal(whole.ended, true);
  // EventSource reconnects after the server closes; it must then get nothing again.
  const afterEnd = await readSse(eventsPath, { lastEventId: whole.lastEventId! });
  assert.deepEqual(afterEnd, { events: [], ended: true, lastEventId: whole.lastEventId });
  const resumed = [...firstPart.events, ...rest.events];
  assert.deepEqual(resumed, whole.events);
  const ids = whole.events.map((ev) => Number(ev.id));
  assert.deepEqual(
    ids,
    [...new Set(ids)].sort((a, b) => a - b),
    'ids increase, none repeated',
  );
  const statuses = whole.events
    .filter((ev) => ev.event === 'execution')
    .map((ev) => JSON.parse(ev.data).status);
  assert.deepEqual(statuses, ['ENQUEUED', 'INPROGRESS', 'SUCCESSFUL']);
  const [first, second] = ['first', 'second'].map((n) => actionNamed(e, n).action_execution_id);
  const actionChanges = whole.events
    .filter((ev) => ev.event === 'action_execution')
    .map((ev) => JSON.parse(ev.data));
  assert.deepEqual(
    actionChanges.map(
      (c) =>
        `${c.action_execution_id === first ? 'first' : c.action_execution_id === second ? 'second' : '?'}:${c.status}`,
    ),
    ['first:INPROGRESS', 'first:SUCCESSFUL', 'second:INPROGRESS', 'second:SUCCESSFUL'],
  );
});

test('the log stream delivers every line while the action runs and resumes after Last-Event-ID without loss or duplicates', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, {
    name: 'prints-slowly',
    inline_commands: 'for i in $(seq 1 40); do echo "line $i"; sleep 0.05; done\necho "on stderr" >&2',
  });
  const run = await runPipeline(h, pipelinePath);
  const aeid = run.body.action_executions[0].action_execution_id;
  const streamPath = `${run.path}/action_executions/${aeid}/logs/stream`;
  const firstPart = await readSse(streamPath, { stopAfter: 5 });
  assert.equal(firstPart.events.length, 5);
  const rest = await readSse(streamPath, { lastEventId: firstPart.events.at(-1)!.id });
  assert.equal(rest.ended, true);
  const e = await waitForExecution(h, run.path);
  assert.equal(e.status, 'SUCCESSFUL');

  const expected = [...Array.from({ length: 40 }, (_, i) => `line ${i + 1}`), 'on stderr'];
  const resumed = [...firstPart.events, ...rest.events];
  assert.deepEqual(
    resumed.map((ev) => ev.data),
    expected,
  );
  assert.deepEqual(
    resumed.map((ev) => Number(ev.id)),
    expected.map((_, i) => i),
  );
  assert.ok(resumed.every((ev) => ev.event === 'log'));
  assert.deepEqual(await logsOf(h, run.path, aeid), expected);
  // After the end, a fresh client gets the whole log and the end marker.
  const whole = await readSse(streamPath);
  assert.equal(whole.ended, true);
  assert.deepEqual(
    whole.events.map((ev) => ev.data),
    expected,
  );
  const afterEnd = await readSse(streamPath, { lastEventId: whole.lastEventId! });
  assert.deepEqual(afterEnd, { events: [], ended: true, lastEventId: whole.lastEventId });
});

test(
  'closing the server ends open streams of a running execution, which ends TERMINATED saying why',
  { timeout: 60_000 },
  async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gantry-test-'));
    const own = await startGantry({ listen: true, dataDir });
    try {
      const { pipelinePath } = await setupPipeline(own, repo.dir);
      await addAction(own, pipelinePath, {
        name: 'sleeps-forever',
        inline_commands: 'echo started\nsleep 600',
      });
      const run = await runPipeline(own, pipelinePath);
      await waitForExecution(own, run.path, 30_000, (e) => e.action_executions[0].status === 'INPROGRESS');
      const aeid = run.body.action_executions[0].action_execution_id;
      // Both clients are connected once each has had an event (the log stream's is "started").
      const seen = [0, 0];
      const streams = [`${run.path}/events`, `${run.path}/action_executions/${aeid}/logs/stream`].map(
        (p, i) => readSse(p, { onEvent: () => void (seen[i]! += 1) }, own),
      );
      await waitFor('both streams to deliver', () => seen[0]! > 0 && seen[1]! > 0);
      // Would wait on the open streams (and so on the 600 s sleep) if they were not ended on close.
      await own.close();
      for (const s of await Promise.all(streams)) assert.equal(s.ended, false);
      assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(dataDir)}`), []);

      const reopened = await startGantry({ dataDir });
      try {
        const e = (await reopened.request('GET', run.path)).body;
        assert.equal(e.status, 'TERMINATED');
        assert.match(e.error_message, /shut down/);
        assert.equal(e.action_executions[0].status, 'TERMINATED');
        assert.match(e.action_executions[0].error_message, /shut down/);
      } finally {
        await reopened.close();
      }
    } finally {
      removeDirs(dataDir);
    }
  },
);
