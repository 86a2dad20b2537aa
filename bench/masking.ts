/**
 * Cost of secret masking on log streaming, against the same stream unmasked in the same run:
 *  1. end to end: one action printing 100 MB through Gantry, in a pipeline without encrypted variables
 *     and in one with five (so every line is scanned for five secrets and their base64 forms), runs
 *     interleaved;
 *  2. in process: the log writer alone over the same 100 MB of lines, with and without the masker,
 *     which isolates the CPU cost from Docker's noise.
 *
 *   node --import tsx bench/masking.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogStore } from '../src/engine/log-store.ts';
import { secretMasker } from '../src/secrets/mask.ts';
import { at, runAndWait } from './support/executions.ts';
import { busyboxAction, createBenchProject, createPipelineWithActions } from './support/fixtures.ts';
import { expectStatus, startGantryServer } from './support/gantry-server.ts';
import { announceBench, median, ms, printJsonLine, printTable, progress, round } from './support/report.ts';

const RUNS = 5;
const BYTES = 100_000_000;
const LINE = '0123456789012345678901234567890123456789012345678901234567890123456789';
const COMMAND = `yes ${LINE} | head -c ${BYTES}`;
const SECRETS = [
  's3cr3t-alpha-value',
  'another-Secret-42',
  'token_abcdefghijklmnop',
  'pa55word!x',
  'multi\nline-secret',
];

async function endToEnd(): Promise<{ plain: number; masked: number }> {
  const server = await startGantryServer();
  let removeRepo = (): void => undefined;
  try {
    const project = await createBenchProject(server);
    removeRepo = project.removeRepo;
    const plain = await createPipelineWithActions(server, project.projectPath, 'plain', [
      busyboxAction('prints-100mb', { inline_commands: COMMAND }),
    ]);
    const masked = await createPipelineWithActions(server, project.projectPath, 'masked', [
      busyboxAction('prints-100mb', {
        inline_commands: COMMAND,
        variables: SECRETS.map((value, i) => ({ key: `SECRET_${i}`, value, encrypted: true })),
      }),
    ]);
    const actionTime = async (pipelinePath: string): Promise<number> => {
      const observed = await runAndWait(server, pipelinePath, { pollMs: 100 });
      const e = observed.execution;
      if (e.status !== 'SUCCESSFUL') throw new Error(`execution ${e.id} ended ${e.status}`);
      const a = e.action_executions[0];
      const logs = expectStatus(
        await server.request(
          'GET',
          `${pipelinePath}/executions/${e.id}/action_executions/${a.action_execution_id}/logs?offset=0&limit=1`,
        ),
        200,
        'read log',
      );
      if (logs.total_element_count !== Math.ceil(BYTES / (LINE.length + 1)))
        throw new Error(`lost lines: ${logs.total_element_count}`);
      return at(a.finish_date) - at(a.start_date);
    };
    const plainTimes: number[] = [];
    const maskedTimes: number[] = [];
    for (let i = 1; i <= RUNS; i += 1) {
      // Alternate which goes first: the second run of a pair pays for the first one's 100 MB of writeback.
      const order = i % 2 === 0 ? (['plain', 'masked'] as const) : (['masked', 'plain'] as const);
      for (const which of order) {
        progress(
          `run ${i}/${RUNS}: ${which === 'plain' ? 'without secrets' : `with ${SECRETS.length} encrypted variables`}`,
        );
        if (which === 'plain') plainTimes.push(await actionTime(plain.pipelinePath));
        else maskedTimes.push(await actionTime(masked.pipelinePath));
        await sleep(1000);
      }
    }
    return { plain: median(plainTimes), masked: median(maskedTimes) };
  } finally {
    await server.stop();
    removeRepo();
  }
}

async function writerOnly(mask: boolean): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-mask-bench-'));
  try {
    const writer = new LogStore(dir).writer('bench');
    if (mask) writer.setTransform(secretMasker(SECRETS));
    // Chunks of 32 KiB, about what the engine's attach stream delivers.
    const chunk = `${LINE}\n`.repeat(Math.floor(32768 / (LINE.length + 1)));
    const started = process.hrtime.bigint();
    for (let written = 0; written < BYTES; written += chunk.length) await writer.write(chunk, 'stdout');
    await writer.close();
    return Number(process.hrtime.bigint() - started) / 1e6;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  announceBench('bench/masking');
  const inProcess = { plain: [] as number[], masked: [] as number[] };
  for (let i = 0; i < RUNS; i += 1) {
    inProcess.plain.push(await writerOnly(false));
    inProcess.masked.push(await writerOnly(true));
  }
  const writerPlain = median(inProcess.plain);
  const writerMasked = median(inProcess.masked);
  const e2e = await endToEnd();
  const pct = (a: number, b: number): string => `${(((a - b) / b) * 100).toFixed(1)}%`;
  printTable(
    `Masking cost, 100 MB of 71-byte lines, ${SECRETS.length} secrets, median of ${RUNS}`,
    ['measure', 'unmasked', 'masked', 'slowdown'],
    [
      ['log writer alone (in process)', ms(writerPlain), ms(writerMasked), pct(writerMasked, writerPlain)],
      [
        'action through Gantry (start_date → finish_date)',
        ms(e2e.plain),
        ms(e2e.masked),
        pct(e2e.masked, e2e.plain),
      ],
    ],
  );
  printJsonLine('masking', {
    runs: RUNS,
    secrets: SECRETS.length,
    writer_ms: { plain: round(writerPlain), masked: round(writerMasked) },
    action_ms: { plain: round(e2e.plain), masked: round(e2e.masked) },
    slowdown_action: round((e2e.masked - e2e.plain) / e2e.plain, 3),
    target: 0.1,
  });
}

await main();
