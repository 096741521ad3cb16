/**
 * Import throughput and memory (docs/data-model.md "1,000,000 rows in one file, streamed; memory stays
 * flat"): a generated codes CSV of 100,000 and of 1,000,000 rows is put into
 * s3rver and imported by the real importer (both passes: validate the whole file, then apply)
 * into dynalite; next to it, raw BatchWriteItem of the same rows, as the store would write
 * them, on the same engine with the same number of requests in flight.
 *
 * Every measured run is a process of its own, and the engines are another (a fresh one per
 * run, tables empty), so the peak RSS reported is the importer's alone. The measured code is
 * bundled with esbuild first, as the Lambda function is: run from TypeScript sources, Node's
 * type stripping alone adds ~65 MB of RSS that no deployed function has.
 *
 * The scenarios: a first import (the account holds no codes: every row is created), which the
 * rate budget applies to; a re-import of the same rows with one in ten changed (every row is
 * read before writing, one in ten written), to show the general path too; the same file
 * uploaded again unchanged; and a replace of the whole list over an account that holds it.
 *
 *   npm run bench:import                  # 100k: raw and first import (3 rounds), re-import, unchanged; 1M: replace
 *   npm run bench:import -- --quick       # the same at 10k and 100k, one round
 *   node bench/import.bench.ts 100000 --reimport --rounds=5   # chosen sizes: raw and first import, and the re-imports
 *   node bench/import.bench.ts 1000000 --replace --rounds=1   # and a replace of the same list (its sweep's memory)
 *   node bench/import.bench.ts 1000000 --replace-only         # the replace alone
 *
 * Budgets: importer peak RSS ≤ 300 MB (first import and replace); apply rate ≥ 0.95 × the raw
 * rate; an unchanged file uploaded again ≥ 2× faster than its first import.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { accountCodeKey, authorizationCodeKey } from '../functions/adapters/code-key.ts';
import { makeDynamoClient } from '../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../functions/adapters/dynamodb/stores.ts';
import { createTables } from '../functions/adapters/dynamodb/tables.ts';
import { makeS3Client } from '../functions/adapters/s3/client.ts';
import { parseSettings } from '../functions/core/settings.ts';
import { BULK_FUNCTION_MEMORY_MB, v8Flags } from '../infra/function-memory.ts';
import { ensureBucket } from '../local/emulators.ts';
import { ACCOUNT, BUCKET, CONCURRENCY, CSV_HEADER, PEPPER, TABLES, benchRow, benchSettings, csvLine } from './support/rows.ts';
import type { WorkerArgs, WorkerResult } from './support/import-worker.ts';

import { bundleWorker, cpuSummary, memoryOf, runWorker as runWorkerProcess, startEngines, withEngineCpu } from './support/processes.ts';
import { median, round2, sizedRuns } from './support/report.ts';

const HERE = import.meta.dirname;
const BUDGET_RSS_MB = 300;
const BUDGET_RATIO = 0.95;
/** An unchanged file uploaded again: at least this many times faster than its first import. */
const BUDGET_UNCHANGED_SPEEDUP = 2;
/** The sizes and rounds (`--quick`: a tenth of the sizes, one round each). */
const sized = sizedRuns();
const SIZES = sized.sizes;

/**
 * What runs at each size. By default the smaller size measures the rates — raw and first
 * import side by side, round after round, then one re-import with changes and one upload of
 * the unchanged file — and the larger one (a million rows; `--quick`: 100,000) a replace of the
 * whole list over an account that holds it, for the sweep's memory. Sizes named on the command
 * line run raw and first import; `--reimport` and `--replace` add those scenarios, and
 * `--replace-only` runs the replace alone.
 */
interface Plan {
  readonly rows: number;
  readonly rounds: number;
  /** Raw and first import, every round. */
  readonly rates: boolean;
  /** A re-import with changes and an unchanged upload, once. */
  readonly reimport: boolean;
  /** A replace of the same list, once. */
  readonly replace: boolean;
}
const named = process.argv.slice(2).some((a) => Number(a) > 0);
const plans: Plan[] = named
  ? SIZES.map((rows) => {
      const only = process.argv.includes('--replace-only');
      return {
        rows,
        rounds: only ? 1 : sized.roundsFor(rows),
        rates: !only,
        reimport: !only && process.argv.includes('--reimport'),
        replace: only || process.argv.includes('--replace'),
      };
    })
  : [
      { rows: SIZES[0] as number, rounds: sized.roundsFor(SIZES[0] as number), rates: true, reimport: true, replace: false },
      { rows: SIZES[1] as number, rounds: 1, rates: false, reimport: false, replace: true },
    ];
/** In the re-import file, one row in ten has a new description. */
const CHANGED_EVERY = 10;

let workerBundle = '';

function runWorker(args: WorkerArgs): Promise<WorkerResult> {
  return runWorkerProcess<WorkerArgs, WorkerResult>(workerBundle, args, 'import', v8Flags(BULK_FUNCTION_MEMORY_MB));
}

/** The rows as a CSV file (Excel's CRLF); `changedEvery`: every n-th row gets a new description. */
async function writeCsv(path: string, rows: number, changedEvery?: number): Promise<number> {
  const out = createWriteStream(path);
  out.write(`${CSV_HEADER}\r\n`);
  for (let i = 0; i < rows; ) {
    let chunk = '';
    for (const end = Math.min(rows, i + 10_000); i < end; i++) {
      const row = benchRow(i);
      chunk += `${csvLine(changedEvery !== undefined && i % changedEvery === 3 ? { ...row, description: `${row.description} (renamed)` } : row)}\r\n`;
    }
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return (await stat(path)).size;
}

/** A sample of the rows must be stored, under the keys the importer uses. */
async function checkStored(dynamodbEndpoint: string, rows: number): Promise<void> {
  const client = makeDynamoClient({ endpoint: dynamodbEndpoint, requestTimeoutMs: 30_000 });
  try {
    const stores = makeDynamoStores({ client, tables: TABLES });
    const sample = Array.from({ length: 100 }, (_, k) => Math.floor((k * rows) / 100) + (k % 7)).filter((i) => i < rows);
    const keys = sample.map((i) => {
      const r = benchRow(i);
      return r.kind === 'authorization' ? authorizationCodeKey(PEPPER, ACCOUNT, r.code) : accountCodeKey(r.code);
    });
    const found = await stores.codes.getCodes(ACCOUNT, keys);
    if (found.size !== new Set(keys).size) throw new Error(`only ${found.size} of ${keys.length} sampled codes are stored`);
  } finally {
    client.destroy();
  }
}

type Measured = Awaited<ReturnType<typeof withEngineCpu<WorkerResult>>> & { enginePeakRssMB?: number; engineBusy?: number };
type Scenario = 'raw' | 'first' | 'reimport' | 'unchanged' | 'replace';

/**
 * One measured run on fresh engines. `first`: import into an account with no codes. `reimport`:
 * the account is loaded with every row first (inside the engine, unmeasured), then the file,
 * with one row in ten changed, is imported. `replace`: the same, with the file unchanged and
 * imported as the whole list.
 */
async function measure(scenario: Scenario, rows: number, csv: string, csvBytes: number): Promise<Measured> {
  const engines = await startEngines();
  try {
    const client = makeDynamoClient({ endpoint: engines.dynamodbEndpoint, requestTimeoutMs: 30_000 });
    await createTables(client, TABLES);
    let key: string | undefined;
    if (scenario !== 'raw') {
      const parsed = parseSettings(benchSettings());
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      await makeDynamoStores({ client, tables: TABLES }).accounts.putSettings(parsed.value);
      const s3 = makeS3Client({ endpoint: engines.s3Endpoint });
      await ensureBucket(s3, BUCKET);
      key = `imports/${ACCOUNT}/${scenario === 'replace' ? 'codes-replace' : 'codes'}/bench-${rows}.csv`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: createReadStream(csv), ContentLength: csvBytes, ContentType: 'text/csv' }));
      s3.destroy();
    }
    client.destroy();
    if (scenario === 'reimport' || scenario === 'replace') await engines.seed('codes', TABLES.codes, rows);
    // The same file imported once already (unmeasured), then uploaded again: the import left a
    // redacted copy (the file holds authorization codes), and the second upload is the file itself.
    if (scenario === 'unchanged' && key !== undefined) {
      await runWorker({ mode: 'import', rows, dynamodbEndpoint: engines.dynamodbEndpoint, s3Endpoint: engines.s3Endpoint, key, sequencer: '01' });
      const s3 = makeS3Client({ endpoint: engines.s3Endpoint });
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: createReadStream(csv), ContentLength: csvBytes, ContentType: 'text/csv' }));
      s3.destroy();
    }
    const result = await withEngineCpu(
      engines,
      (m) => m.totalMs,
      () =>
        runWorker({
          mode: scenario === 'raw' ? 'raw' : 'import',
          rows,
          dynamodbEndpoint: engines.dynamodbEndpoint,
          ...(key === undefined ? {} : { s3Endpoint: engines.s3Endpoint, key, ...(scenario === 'unchanged' ? { sequencer: '02' } : {}) }),
        }),
    );
    if (scenario !== 'raw') {
      const report = result.report as Record<string, unknown> | undefined;
      const changed = Math.ceil((rows - 3) / CHANGED_EVERY);
      const expected =
        scenario === 'first'
          ? { created: rows, updated: 0, unchanged: 0 }
          : scenario === 'unchanged' || scenario === 'replace'
            ? { created: 0, updated: 0, unchanged: rows, deleted: 0 }
            : { created: 0, updated: changed, unchanged: rows - changed };
      if (report?.status !== 'applied' || Object.entries(expected).some(([k, v]) => report[k] !== v)) {
        throw new Error(`the ${scenario} import did not do what was expected (${JSON.stringify(expected)}): ${JSON.stringify(report)}`);
      }
    }
    await checkStored(engines.dynamodbEndpoint, rows);
    const enginePeakRssMB = await memoryOf(engines.pid);
    // How busy the (single-threaded) engine was while the run lasted: near 100% means the
    // engine, not the client, sets the pace.
    const engineBusy = result.engineCpuSeconds === undefined ? undefined : result.engineCpuSeconds.dynamodb / (result.totalMs / 1000);
    return { ...result, ...(enginePeakRssMB === undefined ? {} : { enginePeakRssMB }), ...(engineBusy === undefined ? {} : { engineBusy }) };
  } finally {
    await engines.stop();
  }
}

const rate = (rows: number, ms: number) => Math.round(rows / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/** One round: the baseline, then each import scenario right after it (close in time, so machine noise hits both alike). */
async function round(plan: Plan, r: number, csv: string, csvBytes: number, changed: { path: string; bytes: number } | undefined) {
  const { rows } = plan;
  const raw = plan.rates ? await measure('raw', rows, csv, csvBytes) : undefined;
  const first = plan.rates ? await measure('first', rows, csv, csvBytes) : undefined;
  const reimport = r === 1 && changed !== undefined ? await measure('reimport', rows, changed.path, changed.bytes) : undefined;
  const unchanged = r === 1 && plan.reimport ? await measure('unchanged', rows, csv, csvBytes) : undefined;
  // The file as the whole list, over an account that holds exactly its codes: every row read, the sweep lists every code.
  const replace = r === 1 && plan.replace ? await measure('replace', rows, csv, csvBytes) : undefined;
  return { raw, first, reimport, unchanged, replace };
}

/** The runs of one scenario; each compared with the raw run of its round, when there was one. */
function summary(rows: number, runs: readonly Measured[], rawRuns: readonly Measured[]) {
  const ratios = runs.flatMap((m, i) => (rawRuns[i] === undefined ? [] : [rate(rows, m.applyMs) / rate(rows, rawRuns[i].applyMs)]));
  const applyRate = median(runs.map((m) => rate(rows, m.applyMs)));
  const peakRssMB = Math.max(...runs.map((m) => m.maxRssMB));
  const ratio = ratios.length === 0 ? undefined : median(ratios);
  const last = runs[runs.length - 1] as Measured;
  return {
    applyRowsPerSecond: Math.round(applyRate),
    rowsPerSecond: Math.round(median(runs.map((m) => rate(rows, m.totalMs)))),
    /** Median over the rounds of (this round's apply rate / this round's raw rate). */
    applyToRawRatio: ratio === undefined ? undefined : round2(ratio),
    validateMs: Math.round(median(runs.map((m) => m.validateMs ?? 0))),
    applyMs: Math.round(median(runs.map((m) => m.applyMs))),
    peakRssMB: Math.round(peakRssMB),
    startRssMB: Math.round(last.startRssMB),
    peakHeapUsedMB: Math.round(Math.max(...runs.map((m) => m.peakHeapUsedMB))),
    peakHeapTotalMB: Math.round(Math.max(...runs.map((m) => m.peakHeapTotalMB))),
    peakExternalMB: Math.round(Math.max(...runs.map((m) => m.peakExternalMB))),
    cpuSeconds: round2(median(runs.map((m) => m.cpuSeconds))),
    engineBusy: round2(median(runs.map((m) => m.engineBusy ?? 0))),
    ...cpuSummary(runs),
    enginePeakRssMB: Math.round(Math.max(...runs.map((m) => m.enginePeakRssMB ?? 0))),
    requests: last.requests,
    report: last.report,
    rounds: runs.map((m, i) => ({
      applyRowsPerSecond: rate(rows, m.applyMs),
      ...(ratios[i] === undefined ? {} : { ratio: round2(ratios[i]) }),
      peakRssMB: Math.round(m.maxRssMB),
    })),
    budgets: { peakRss: peakRssMB <= BUDGET_RSS_MB ? 'pass' : 'FAIL', applyRatio: ratio === undefined ? 'n/a' : ratio >= BUDGET_RATIO ? 'pass' : 'FAIL' },
  };
}

const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-'));
const runs = [];
try {
  workerBundle = await bundleWorker(join(HERE, 'support/import-worker.ts'), dir);
  for (const plan of plans) {
    const { rows } = plan;
    const csv = join(dir, `codes-${rows}.csv`);
    const csvBytes = await writeCsv(csv, rows);
    let changed: { path: string; bytes: number } | undefined;
    if (plan.reimport) {
      const path = join(dir, `codes-${rows}-changed.csv`);
      changed = { path, bytes: await writeCsv(path, rows, CHANGED_EVERY) };
    }
    const results: Awaited<ReturnType<typeof round>>[] = [];
    for (let r = 1; r <= plan.rounds; r++) {
      const doing = [plan.rates ? 'raw, first import' : '', r === 1 && plan.reimport ? 're-import, unchanged upload' : '', r === 1 && plan.replace ? 'replace' : '']
        .filter(Boolean)
        .join(', ');
      console.error(`bench:import ${fmt(rows)} rows (${(csvBytes / 1024 / 1024).toFixed(1)} MB CSV), round ${r} of ${plan.rounds}: ${doing}…`);
      results.push(await round(plan, r, csv, csvBytes, changed));
    }
    await rm(csv, { force: true });
    if (changed !== undefined) await rm(changed.path, { force: true });
    const raws = results.map((x) => x.raw).filter((m): m is Measured => m !== undefined);
    const firsts = results.map((x) => x.first).filter((m): m is Measured => m !== undefined);
    const imports: ({ scenario: 'first' | 'reimport' | 'replace' } & ReturnType<typeof summary>)[] = [];
    if (firsts.length > 0) imports.push({ scenario: 'first', ...summary(rows, firsts, raws) });
    const re = results.map((x) => x.reimport).filter((m): m is Measured => m !== undefined);
    if (re.length > 0) imports.push({ scenario: 'reimport', ...summary(rows, re, raws) });
    const replaced = results.map((x) => x.replace).filter((m): m is Measured => m !== undefined);
    if (replaced.length > 0) imports.push({ scenario: 'replace', ...summary(rows, replaced, raws) });
    const same = results.map((x) => x.unchanged).filter((m): m is Measured => m !== undefined);
    // An unchanged file against the first import of it (the median over the rounds), both passes timed.
    const firstTotalMs = firsts.length === 0 ? undefined : median(firsts.map((m) => m.totalMs));
    const speedups = firstTotalMs === undefined ? [] : same.map((m) => firstTotalMs / m.totalMs);
    const unchangedRun =
      speedups.length === 0 || firstTotalMs === undefined
        ? undefined
        : {
            totalMs: Math.round(median(same.map((m) => m.totalMs))),
            firstTotalMs: Math.round(firstTotalMs),
            fasterThanFirst: round2(median(speedups)),
            peakRssMB: Math.round(Math.max(...same.map((m) => m.maxRssMB))),
            requests: same[same.length - 1]?.requests,
            budget: median(speedups) >= BUDGET_UNCHANGED_SPEEDUP ? 'pass' : 'FAIL',
          };
    runs.push({
      rows,
      csvBytes,
      raw:
        raws.length === 0
          ? undefined
          : {
              rowsPerSecond: Math.round(median(raws.map((m) => rate(rows, m.applyMs)))),
              ms: Math.round(median(raws.map((m) => m.applyMs))),
              cpuSeconds: round2(median(raws.map((m) => m.cpuSeconds))),
              peakRssMB: Math.round(Math.max(...raws.map((m) => m.maxRssMB))),
              engineBusy: round2(median(raws.map((m) => m.engineBusy ?? 0))),
              ...cpuSummary(raws),
              requests: raws[0]?.requests,
              rounds: raws.map((m) => rate(rows, m.applyMs)),
            },
      imports,
      ...(unchangedRun === undefined ? {} : { unchanged: unchangedRun }),
    });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const result = {
  benchmark: 'import',
  at: new Date().toISOString(),
  node: process.version,
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  engines: 'dynalite 4 (in memory) and s3rver 3, each in a child process, fresh per run; importer and baseline each in a process of their own, bundled with esbuild',
  concurrency: CONCURRENCY,
  budgets: { peakRssMB: BUDGET_RSS_MB, applyToRawRatio: BUDGET_RATIO, appliesTo: 'first import (rate and memory), replace (memory)' },
  runs,
};
await mkdir(join(HERE, 'results'), { recursive: true });
await writeFile(join(HERE, 'results/import.json'), `${JSON.stringify(result, null, 2)}\n`);

console.log(`\nimport benchmark — Node ${process.version}, ${result.cores} cores (${result.cpu}), ${CONCURRENCY} BatchWriteItem requests in flight`);
console.table(
  runs.flatMap((r) =>
    r.imports.map((i) => ({
      rows: fmt(r.rows),
      scenario: i.scenario === 'first' ? 'first import' : i.scenario === 'replace' ? 'replace, the same list' : `re-import, 1 in ${CHANGED_EVERY} changed`,
      rounds: i.rounds.length,
      'raw rows/s': r.raw === undefined ? '' : fmt(r.raw.rowsPerSecond),
      'apply rows/s': fmt(i.applyRowsPerSecond),
      'apply/raw': i.applyToRawRatio === undefined ? '' : `${i.applyToRawRatio.toFixed(2)} ${i.budgets.applyRatio}`,
      'rows/s both passes': fmt(i.rowsPerSecond),
      'validate s': (i.validateMs / 1000).toFixed(1),
      'apply s': (i.applyMs / 1000).toFixed(1),
      'peak RSS MB': `${i.peakRssMB} ${i.budgets.peakRss}`,
      'raw peak RSS MB': r.raw?.peakRssMB ?? '',
      'engines RSS MB': i.enginePeakRssMB,
      'cores busy': `${i.coresBusy ?? '?'}${r.raw === undefined ? '' : ` (raw ${r.raw.coresBusy ?? '?'})`}`,
    })),
  ),
);
for (const r of runs) {
  if (r.unchanged === undefined) continue;
  console.log(
    `${fmt(r.rows)} rows, the same file uploaded again: ${(r.unchanged.totalMs / 1000).toFixed(1)} s against ${(r.unchanged.firstTotalMs / 1000).toFixed(1)} s for its first import = ${r.unchanged.fasterThanFirst}× faster (budget ≥ ${BUDGET_UNCHANGED_SPEEDUP}×: ${r.unchanged.budget}); peak RSS ${r.unchanged.peakRssMB} MB`,
  );
}
console.log(
  `budgets: first import: importer peak RSS ≤ ${BUDGET_RSS_MB} MB, apply rate ≥ ${BUDGET_RATIO} × raw (rates are medians over the rounds); replace: peak RSS ≤ ${BUDGET_RSS_MB} MB`,
);
console.log('results: bench/results/import.json');
const budgeted = runs.flatMap((r) => r.imports.filter((i) => i.scenario === 'first' || i.scenario === 'replace'));
if (budgeted.some((i) => i.budgets.peakRss === 'FAIL' || (i.scenario === 'first' && i.budgets.applyRatio === 'FAIL'))) process.exitCode = 1;
if (runs.some((r) => r.unchanged?.budget === 'FAIL')) process.exitCode = 1;
