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

const HERE = import.meta.dirname;

export interface Engines {
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** dynalite + s3rver in a child process, fresh and empty. */
export async function startEngines(): Promise<Engines> {
  const child = spawn(process.execPath, [join(HERE, 'emulators.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => [undefined])])) as [string | undefined];
  if (first === undefined) throw new Error('the emulator process exited before printing its endpoints');
  const info = JSON.parse(first) as { dynamodbEndpoint: string; s3Endpoint: string; pid: number };
  return {
    ...info,
    async stop() {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
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
export async function runWorker<A extends { readonly mode: string; readonly rows: number }, R>(bundle: string, args: A, label: string): Promise<R> {
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE, '--cpu-prof-name', `${label}-${args.mode}-${args.rows}-${Date.now()}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...profile, bundle, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the ${label} ${args.mode} worker exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as R;
}
