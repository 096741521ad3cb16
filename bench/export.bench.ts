/**
 * Usage export throughput and memory (docs/data-model.md, docs/design.md "export rows per second and peak memory";
 * issue 5): one account's day of 100,000 and of 1,000,000 usage records, stored in dynalite as
 * the voice function stores them, exported by the real exporter — Query pages of the day index
 * → CSV rows → a multipart upload into s3rver, then the ledger and the month summary — next to
 * the raw Query pagination of the same records over the same index on the same engine.
 *
 * Every measured run is a process of its own, and the engines another (one per size, seeded
 * once; exports only read the records), so the peak RSS reported is the exporter's alone. The
 * measured code is bundled with esbuild first, as the Lambda function is. Each export is
 * checked: the object's bytes hash to the SHA-256 the ledger recorded and hold one CRLF line
 * per record plus the header.
 *
 *   npm run bench:export                        # 100k: raw and export (3 rounds), the twin; 1M: export
 *   npm run bench:export -- --quick             # the same at 10k and 100k, one round
 *   node bench/export.bench.ts 200000 --rounds=2   # chosen sizes: raw, export and the twin
 *
 * Budgets: exporter peak RSS ≤ 300 MB (flat: the same at 100k and 1M); export rate ≥ 0.95 × the
 * raw Query rate (formatting, hashing and uploading every row on top of reading it); the .xlsx
 * twin (a second run of the day that writes it too) adds at most 1.5 × the CSV's time.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { makeDynamoClient } from '../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../functions/adapters/dynamodb/stores.ts';
import { createTables } from '../functions/adapters/dynamodb/tables.ts';
import { makeS3Client } from '../functions/adapters/s3/client.ts';
import { parseSettings } from '../functions/core/settings.ts';
import { usageDayKey } from '../functions/core/usage.ts';
import { BULK_FUNCTION_MEMORY_MB, EXPORT_SEMI_SPACE_MB, v8Flags } from '../infra/function-memory.ts';
import { ensureBucket } from '../local/emulators.ts';
import { machine, machineLine, median, round2, sizedRuns, writeResult, type Headline } from './support/report.ts';
import type { ExportWorkerArgs, ExportWorkerResult } from './support/export-worker.ts';
import { ACCOUNT, BUCKET, DAY, TABLES, benchSettings } from './support/usage-records.ts';

import { bundleWorker, cpuSummary, memoryOf, runWorker as runWorkerProcess, startEngines, withEngineCpu } from './support/processes.ts';

const HERE = import.meta.dirname;
const BUDGET_RSS_MB = 300;
/** The .xlsx twin's own time, against the CSV's. */
const BUDGET_TWIN = 1.5;
const BUDGET_RATIO = 0.95;
/** The sizes and rounds (`--quick`: a tenth of the sizes, one round each). */
const sized = sizedRuns();
/**
 * By default the smaller size measures the rates — raw Query and export side by side, round
 * after round, and the .xlsx twin once — and the larger one (a million records; `--quick`:
 * 100,000) the export alone, for its memory. Sizes named on the command line run all three.
 */
const named = process.argv.slice(2).some((a) => Number(a) > 0);
const plans = sized.sizes.map((rows, i) => {
  const rates = named || i === 0;
  return { rows, rounds: rates ? sized.roundsFor(rows) : 1, raw: rates, twin: rates };
});

let workerBundle = '';

function runWorker(args: ExportWorkerArgs): Promise<ExportWorkerResult> {
  return runWorkerProcess<ExportWorkerArgs, ExportWorkerResult>(workerBundle, args, 'export', v8Flags(BULK_FUNCTION_MEMORY_MB, EXPORT_SEMI_SPACE_MB));
}

/** The stored file: its SHA-256 and CRLF count, streamed (a million rows are ~300 MB). */
async function checkFile(s3Endpoint: string, rows: number, expectedSha: string | undefined): Promise<{ bytes: number }> {
  const s3 = makeS3Client({ endpoint: s3Endpoint });
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: usageDayKey(ACCOUNT, DAY) }));
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) lines++;
    }
    const sha = hash.digest('hex');
    if (sha !== expectedSha) throw new Error(`the stored file hashes to ${sha}, the ledger says ${expectedSha}`);
    if (lines !== rows + 1) throw new Error(`the stored file has ${lines} lines, expected ${rows + 1}`);
    return { bytes };
  } finally {
    s3.destroy();
  }
}

type Measured = Awaited<ReturnType<typeof withEngineCpu<ExportWorkerResult>>>;

const rate = (rows: number, ms: number) => Math.round(rows / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-export-'));
const runs = [];
try {
  workerBundle = await bundleWorker(join(HERE, 'support/export-worker.ts'), dir);
  for (const { rows, rounds, ...plan } of plans) {
    const engines = await startEngines();
    try {
      const client = makeDynamoClient({ endpoint: engines.dynamodbEndpoint, requestTimeoutMs: 30_000 });
      await createTables(client, TABLES);
      const parsed = parseSettings(benchSettings());
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      await makeDynamoStores({ client, tables: TABLES }).accounts.putSettings(parsed.value);
      client.destroy();
      const s3 = makeS3Client({ endpoint: engines.s3Endpoint });
      await ensureBucket(s3, BUCKET);
      s3.destroy();
      console.error(`bench:export seeding ${fmt(rows)} usage records…`);
      const seeded = await engines.seed('usage', TABLES.calls, rows);
      console.error(`bench:export seeded ${fmt(rows)} records in ${(seeded.ms / 1000).toFixed(1)} s`);

      const raws: Measured[] = [];
      const exports: Measured[] = [];
      const twins: ExportWorkerResult[] = [];
      let fileBytes = 0;
      for (let r = 1; r <= rounds; r++) {
        console.error(
          `bench:export ${fmt(rows)} records, round ${r} of ${rounds}: ${plan.raw ? 'raw Query, ' : ''}export${plan.twin && r === 1 ? ', export with the .xlsx twin' : ''}…`,
        );
        if (plan.raw) {
          const raw = await withEngineCpu(
            engines,
            (m) => m.ms,
            () => runWorker({ mode: 'raw', rows, dynamodbEndpoint: engines.dynamodbEndpoint }),
          );
          if (raw.items !== rows) throw new Error(`the raw Query read ${raw.items} items, expected ${rows}`);
          raws.push(raw);
        }
        const exp = await withEngineCpu(
          engines,
          (m) => m.ms,
          () => runWorker({ mode: 'export', rows, dynamodbEndpoint: engines.dynamodbEndpoint, s3Endpoint: engines.s3Endpoint }),
        );
        if (exp.items !== rows) throw new Error(`the export wrote ${exp.items} rows, expected ${rows}`);
        fileBytes = (await checkFile(engines.s3Endpoint, rows, exp.files?.find((f) => f.kind === 'usage')?.sha256)).bytes;
        exports.push(exp);
        // The same day again with its .xlsx twin, as the hourly export writes it: what the twin adds.
        if (plan.twin && r === 1) twins.push(await runWorker({ mode: 'export', rows, dynamodbEndpoint: engines.dynamodbEndpoint, s3Endpoint: engines.s3Endpoint, xlsx: true }));
      }
      const ratios = raws.map((raw, i) => rate(rows, (exports[i] as ExportWorkerResult).ms) / rate(rows, raw.ms));
      const peakRssMB = Math.max(...exports.map((e) => e.maxRssMB));
      const ratio = ratios.length === 0 ? undefined : median(ratios);
      runs.push({
        rows,
        fileBytes,
        seedSeconds: round2(seeded.ms / 1000),
        enginePeakRssMB: Math.round((await memoryOf(engines.pid, 'VmHWM')) ?? 0),
        raw:
          raws.length === 0
            ? undefined
            : {
                rowsPerSecond: Math.round(median(raws.map((m) => rate(rows, m.ms)))),
                ms: Math.round(median(raws.map((m) => m.ms))),
                peakRssMB: Math.round(Math.max(...raws.map((m) => m.maxRssMB))),
                cpuSeconds: round2(median(raws.map((m) => m.cpuSeconds))),
                ...cpuSummary(raws),
                requests: raws[0]?.requests,
              },
        export: {
          rowsPerSecond: Math.round(median(exports.map((m) => rate(rows, m.ms)))),
          ms: Math.round(median(exports.map((m) => m.ms))),
          exportToRawRatio: ratio === undefined ? undefined : round2(ratio),
          peakRssMB: Math.round(peakRssMB),
          startRssMB: Math.round(exports[0]?.startRssMB ?? 0),
          peakHeapUsedMB: Math.round(Math.max(...exports.map((m) => m.peakHeapUsedMB))),
          peakHeapTotalMB: Math.round(Math.max(...exports.map((m) => m.peakHeapTotalMB))),
          peakExternalMB: Math.round(Math.max(...exports.map((m) => m.peakExternalMB))),
          cpuSeconds: round2(median(exports.map((m) => m.cpuSeconds))),
          ...cpuSummary(exports),
          requests: exports[0]?.requests,
          files: exports[0]?.files,
          rounds: exports.map((m, i) => ({ rowsPerSecond: rate(rows, m.ms), ...(ratios[i] === undefined ? {} : { ratio: round2(ratios[i]) }), peakRssMB: Math.round(m.maxRssMB) })),
        },
        xlsx:
          twins.length === 0
            ? undefined
            : {
                ms: Math.round(median(twins.map((m) => m.ms))),
                peakRssMB: Math.round(Math.max(...twins.map((m) => m.maxRssMB))),
                /** The twin's own time (CSV and twin, less the CSV alone) over the CSV's, round by round. */
                twinToCsv: round2(median(twins.map((t, i) => (t.ms - (exports[i] as ExportWorkerResult).ms) / (exports[i] as ExportWorkerResult).ms))),
              },
        budgets: { peakRss: peakRssMB <= BUDGET_RSS_MB ? 'pass' : 'FAIL', ratio: ratio === undefined ? 'n/a' : ratio >= BUDGET_RATIO ? 'pass' : 'FAIL' },
      });
    } finally {
      await engines.stop();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const m = machine();
/** How many cores the export (and the raw Query) kept busy, exporter and engines together. */
const coresText = (r: { readonly export: { readonly coresBusy?: number }; readonly raw?: { readonly coresBusy?: number } }) =>
  `${r.export.coresBusy ?? '?'}${r.raw === undefined ? '' : ` (raw Query ${r.raw.coresBusy ?? '?'})`} of ${m.cores}`;

const headline: Headline[] = runs.flatMap((r): Headline[] => [
  {
    benchmark: 'export',
    metric: `${fmt(r.rows)} usage records, one day`,
    value: `${fmt(r.export.rowsPerSecond)} rows/s${r.export.exportToRawRatio === undefined || r.raw === undefined ? '' : ` = ${r.export.exportToRawRatio.toFixed(2)}× raw Query (${fmt(r.raw.rowsPerSecond)})`}; peak RSS ${r.export.peakRssMB} MB; ${(r.fileBytes / 1024 / 1024).toFixed(0)} MB file; cores busy ${coresText(r)}`,
    budget: r.raw === undefined ? `RSS ≤ ${BUDGET_RSS_MB} MB` : `≥ ${BUDGET_RATIO}× raw, RSS ≤ ${BUDGET_RSS_MB} MB`,
    status: r.budgets.peakRss === 'pass' && r.budgets.ratio !== 'FAIL' ? 'pass' : 'FAIL',
  },
  ...(r.xlsx === undefined
    ? []
    : [
        {
          benchmark: 'export',
          metric: `${fmt(r.rows)} usage records, the .xlsx twin`,
          value: `CSV and twin ${(r.xlsx.ms / 1000).toFixed(1)} s against the CSV alone ${(r.export.ms / 1000).toFixed(1)} s: the twin takes ${r.xlsx.twinToCsv}× the CSV's time; peak RSS ${r.xlsx.peakRssMB} MB`,
          budget: `≤ ${BUDGET_TWIN}× the CSV`,
          status: r.xlsx.twinToCsv <= BUDGET_TWIN ? ('pass' as const) : ('FAIL' as const),
        },
      ]),
]);

await writeResult('export', {
  benchmark: 'export',
  at: new Date().toISOString(),
  ...m,
  engines:
    'dynalite 4 (in memory) and s3rver 3, each in a child process, seeded once per size inside the dynalite process; exporter and baseline each in a process of their own, bundled with esbuild',
  budgets: { peakRssMB: BUDGET_RSS_MB, exportToRawRatio: BUDGET_RATIO },
  runs,
  headline,
});

console.log(`\nexport benchmark — ${machineLine(m)}`);
console.table(
  runs.map((r) => ({
    records: fmt(r.rows),
    rounds: r.export.rounds.length,
    'raw Query rows/s': r.raw === undefined ? '' : fmt(r.raw.rowsPerSecond),
    'export rows/s': fmt(r.export.rowsPerSecond),
    'export/raw': r.export.exportToRawRatio === undefined ? '' : `${r.export.exportToRawRatio.toFixed(2)} ${r.budgets.ratio}`,
    'export s': (r.export.ms / 1000).toFixed(1),
    'peak RSS MB': `${r.export.peakRssMB} ${r.budgets.peakRss}`,
    'raw peak RSS MB': r.raw?.peakRssMB ?? '',
    'file MB': (r.fileBytes / 1024 / 1024).toFixed(1),
    'engines RSS MB': r.enginePeakRssMB,
    'cores busy': coresText(r),
  })),
);
console.log(`budgets: exporter peak RSS ≤ ${BUDGET_RSS_MB} MB, export rate ≥ ${BUDGET_RATIO} × raw Query; rates are medians over the rounds`);
console.log('results: bench/results/export.json');
if (runs.some((r) => r.budgets.peakRss === 'FAIL' || r.budgets.ratio === 'FAIL' || (r.xlsx !== undefined && r.xlsx.twinToCsv > BUDGET_TWIN))) process.exitCode = 1;
