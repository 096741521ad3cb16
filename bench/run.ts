/**
 * `npm run bench`: every benchmark (`bench/*.bench.ts`, in name order), each in a process of
 * its own as it would run alone, then one table of the headline figures and one file,
 * `bench/results/latest.json`, holding every benchmark's full result.
 *
 *   npm run bench                # all of them
 *   npm run bench -- --quick     # all of them at a tenth of the size (a couple of minutes)
 *   node bench/run.ts voice      # only bench/voice.bench.ts (names without .bench.ts)
 *
 * A benchmark's own table is printed as it finishes. The exit code is non-zero when one of
 * them failed (crashed, or exited non-zero because a budget it enforces was missed).
 * A benchmark contributes headline rows by writing `headline: Headline[]` in its JSON
 * (see support/report.ts); the import benchmark's are derived from its runs.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { machine, machineLine, RESULTS_DIR, writeResult, type Headline } from './support/report.ts';

const HERE = import.meta.dirname;
const quick = process.argv.includes('--quick');
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const all = (await readdir(HERE)).filter((f) => f.endsWith('.bench.ts')).sort();
const names = all.map((f) => f.slice(0, -'.bench.ts'.length)).filter((n) => wanted.length === 0 || wanted.includes(n));
const unknown = wanted.filter((w) => !names.includes(w));
if (unknown.length > 0) {
  console.error(`no such benchmark: ${unknown.join(', ')} (there are: ${all.map((f) => f.slice(0, -'.bench.ts'.length)).join(', ')})`);
  process.exit(2);
}

const m = machine();
const outcomes: { name: string; code: number | null; seconds: number; startedAt: number }[] = [];
for (const name of names) {
  console.log(`\n== bench/${name}.bench.ts`);
  const startedAt = Date.now();
  const started = performance.now();
  const child = spawn(process.execPath, [join(HERE, `${name}.bench.ts`), ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  outcomes.push({ name, code, seconds: Math.round((performance.now() - started) / 1000), startedAt });
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const fmt = (n: number | undefined) => (n === undefined ? '?' : n.toLocaleString('en-US', { maximumFractionDigits: 2 }));

/** The import benchmark's figures (bench/import.bench.ts writes no headline of its own). */
function importHeadline(result: Json): Headline[] {
  const rows: Headline[] = [];
  const budgets = isObject(result.budgets) ? result.budgets : {};
  for (const run of list(result.runs).filter(isObject)) {
    const raw = isObject(run.raw) ? run.raw : {};
    for (const imp of list(run.imports).filter(isObject)) {
      const b = isObject(imp.budgets) ? imp.budgets : {};
      const scenario = imp.scenario === 'first' ? 'first import' : imp.scenario === 'replace' ? 'replace of the same list' : 're-import';
      const ratio = num(imp.applyToRawRatio);
      const rates = `apply ${fmt(num(imp.applyRowsPerSecond))} rows/s${ratio === undefined ? '' : ` = ${fmt(ratio)}× raw BatchWriteItem (${fmt(num(raw.rowsPerSecond))})`}`;
      const budget: Pick<Headline, 'budget' | 'status'> =
        imp.scenario === 'first'
          ? {
              budget: `≥ ${fmt(num(budgets.applyToRawRatio))}× raw, RSS ≤ ${fmt(num(budgets.peakRssMB))} MB`,
              status: b.peakRss === 'FAIL' || b.applyRatio === 'FAIL' ? 'FAIL' : 'pass',
            }
          : imp.scenario === 'replace'
            ? { budget: `RSS ≤ ${fmt(num(budgets.peakRssMB))} MB`, status: b.peakRss === 'FAIL' ? 'FAIL' : 'pass' }
            : {};
      const cores = `cores busy ${fmt(num(imp.coresBusy))}${num(raw.coresBusy) === undefined ? '' : ` (raw ${fmt(num(raw.coresBusy))})`} of ${fmt(num(result.cores))}`;
      rows.push({ benchmark: 'import', metric: `${fmt(num(run.rows))} rows, ${scenario}`, value: `${rates}; peak RSS ${fmt(num(imp.peakRssMB))} MB; ${cores}`, ...budget });
    }
    const same = isObject(run.unchanged) ? run.unchanged : undefined;
    if (same !== undefined) {
      rows.push({
        benchmark: 'import',
        metric: `${fmt(num(run.rows))} rows, the same file uploaded again`,
        value: `${fmt(num(same.totalMs))} ms against ${fmt(num(same.firstTotalMs))} ms for its first import = ${fmt(num(same.fasterThanFirst))}× faster; peak RSS ${fmt(num(same.peakRssMB))} MB`,
        budget: '≥ 2× faster',
        status: same.budget === 'FAIL' ? 'FAIL' : 'pass',
      });
    }
  }
  return rows;
}

const results: Record<string, Json> = {};
const headline: Headline[] = [];
for (const { name, code, startedAt } of outcomes) {
  let result: Json | undefined;
  try {
    const parsed: unknown = JSON.parse(await readFile(join(RESULTS_DIR, `${name}.json`), 'utf8'));
    if (isObject(parsed)) result = parsed;
  } catch {
    // No result: the benchmark failed before writing one.
  }
  // A result left over from an earlier run is not this run's.
  if (result === undefined || !(Date.parse(String(result.at)) >= startedAt)) {
    headline.push({ benchmark: name, metric: '(no result)', value: `the benchmark exited with ${code}`, status: 'FAIL' });
    continue;
  }
  results[name] = result;
  const own = list(result.headline).filter(isObject) as unknown as Headline[];
  const rows = own.length > 0 ? own : name === 'import' ? importHeadline(result) : [];
  if (rows.length === 0) headline.push({ benchmark: name, metric: '(see its table above)', value: `bench/results/${name}.json` });
  headline.push(...rows);
  if (code !== 0) headline.push({ benchmark: name, metric: '(exit code)', value: String(code), status: 'FAIL' });
}

const path = await writeResult('latest', {
  at: new Date().toISOString(),
  ...m,
  benchmarks: outcomes.map(({ name, code, seconds }) => ({ name, exitCode: code, seconds })),
  headline,
  results,
});

console.log(`\nall benchmarks — ${machineLine(m)}`);
console.table(headline.map((h) => ({ bench: h.benchmark, metric: h.metric, value: h.value, budget: h.budget ?? '', '': h.status ?? '' })));
console.log(`ran: ${outcomes.map((o) => `${o.name} ${o.seconds} s${o.code === 0 ? '' : ` (exit ${o.code})`}`).join(', ')}; results: bench/results/${path.split('/').pop()}`);
if (outcomes.some((o) => o.code !== 0)) process.exitCode = 1;
