/**
 * What the throughput benchmarks share: the storage engines in a process of their own, the
 * measured code bundled as the Lambda runs it and run in a fresh process per measurement, and
 * /proc readings of another process's memory and CPU. Keeping the engines and each run apart
 * makes a run's peak RSS its own.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { median, round2 } from './report.ts';

const HERE = import.meta.dirname;

export interface Engines {
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  /** dynalite's process. */
  readonly pid: number;
  /** s3rver's process. */
  readonly s3Pid: number;
  /** Loads `rows` usage records or codes into an empty table inside dynalite's process (not through the API). */
  seed(kind: 'usage' | 'codes', table: string, rows: number): Promise<{ readonly seeded: number; readonly ms: number }>;
  stop(): Promise<void>;
}

/** One engine's process (support/emulators.ts), started and answering. */
async function startEngine(engine: 'dynamodb' | 's3') {
  const child = spawn(process.execPath, [join(HERE, 'emulators.ts'), engine], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const nextLine = async (doing: string): Promise<string> => {
    const [line] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => [undefined])])) as [string | undefined];
    if (line === undefined) throw new Error(`the ${engine} emulator process exited ${doing}`);
    return line;
  };
  const info = JSON.parse(await nextLine('before printing its endpoint')) as { endpoint: string; pid: number };
  return {
    ...info,
    nextLine,
    command(line: unknown) {
      child.stdin.write(`${JSON.stringify(line)}\n`);
    },
    async stop() {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

/** dynalite and s3rver, each in a child process, fresh and empty. */
export async function startEngines(): Promise<Engines> {
  const [dynamo, s3] = await Promise.all([startEngine('dynamodb'), startEngine('s3')]);
  return {
    dynamodbEndpoint: dynamo.endpoint,
    s3Endpoint: s3.endpoint,
    pid: dynamo.pid,
    s3Pid: s3.pid,
    async seed(kind, table, rows) {
      dynamo.command({ seed: kind, table, rows });
      const line = await dynamo.nextLine('while seeding');
      const answer = JSON.parse(line) as { seeded?: number; ms?: number; error?: string };
      if (answer.seeded !== rows || answer.ms === undefined) throw new Error(`seeding ${rows} ${kind}: ${answer.error ?? line}`);
      return { seeded: answer.seeded, ms: answer.ms };
    },
    async stop() {
      await Promise.all([dynamo.stop(), s3.stop()]);
    },
  };
}

/** Peak (VmHWM) or current (VmRSS) resident memory of another process, in MB. */
export async function memoryOf(pid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): Promise<number | undefined> {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** CPU seconds a process has used so far (user + system), from /proc. */
export async function cpuSecondsOf(pid: number): Promise<number | undefined> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
    // After "pid (comm) ": state is field 0, utime 11, stime 12, in clock ticks (100 Hz on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds the engines use while `run` runs, and how many of the machine's cores the run
 * kept busy in all (the worker's own CPU seconds, from its result, plus the engines', over the
 * wall time): near the core count, the run is bound by CPU, not by waiting.
 */
export async function withEngineCpu<R extends { readonly cpuSeconds: number }>(
  engines: Engines,
  wallMs: (r: R) => number,
  run: () => Promise<R>,
): Promise<R & { readonly engineCpuSeconds?: { readonly dynamodb: number; readonly s3: number }; readonly coresBusy?: number }> {
  const before = await Promise.all([cpuSecondsOf(engines.pid), cpuSecondsOf(engines.s3Pid)]);
  const result = await run();
  const after = await Promise.all([cpuSecondsOf(engines.pid), cpuSecondsOf(engines.s3Pid)]);
  if (before.includes(undefined) || after.includes(undefined)) return result;
  const dynamodb = (after[0] as number) - (before[0] as number);
  const s3 = (after[1] as number) - (before[1] as number);
  return { ...result, engineCpuSeconds: { dynamodb, s3 }, coresBusy: (result.cpuSeconds + dynamodb + s3) / (wallMs(result) / 1000) };
}

/** The engines' CPU seconds and the cores busy over several runs (medians), for a result file. */
export function cpuSummary(runs: readonly { readonly engineCpuSeconds?: { readonly dynamodb: number; readonly s3: number }; readonly coresBusy?: number }[]) {
  const measured = runs.filter((m) => m.engineCpuSeconds !== undefined && m.coresBusy !== undefined);
  if (measured.length === 0) return {};
  return {
    engineCpuSeconds: {
      dynamodb: round2(median(measured.map((m) => m.engineCpuSeconds?.dynamodb ?? 0))),
      s3: round2(median(measured.map((m) => m.engineCpuSeconds?.s3 ?? 0))),
    },
    coresBusy: round2(median(measured.map((m) => m.coresBusy ?? 0))),
  };
}

/** A worker as the Lambda runs its code: one ESM bundle (NodejsFunction bundles with esbuild too). */
export async function bundleWorker(entry: string, outdir: string): Promise<string> {
  const outfile = join(outdir, `${entry.replace(/^.*\//, '').replace(/\.ts$/, '')}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'warning',
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}

/**
 * Run a bundled worker once with its arguments as JSON; its last line of output is its JSON
 * result. `BENCH_PROFILE=<dir>` writes a V8 CPU profile of each run there (open it in Chrome
 * DevTools).
 */
export async function runWorker<A extends { readonly mode: string; readonly rows: number }, R>(bundle: string, args: A, label: string, v8: readonly string[]): Promise<R> {
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE, '--cpu-prof-name', `${label}-${args.mode}-${args.rows}-${Date.now()}.cpuprofile`]
    : [];
  // The V8 flags the function has in AWS (infra/function-memory.ts), for the measured process
  // only (the engines hold far more); BENCH_WORKER_FLAGS adds Node flags.
  const flags = [...v8, ...(process.env.BENCH_WORKER_FLAGS?.split(' ').filter(Boolean) ?? [])];
  const child = spawn(process.execPath, [...flags, ...profile, bundle, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the ${label} ${args.mode} worker exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as R;
}
