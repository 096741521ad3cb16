/**
 * The voice function's benchmark (issue 4; docs/call-flow.md "Fast", §11): what a caller waits for and
 * what a call costs.
 *
 * 1. Warm webhook latency on the local stack. The stack (dynalite, s3rver, the voice routes
 *    mounted with the Lambda's own handler) runs in a child process, seeded with the demo
 *    account from `examples/`; this process plays Twilio. After a warm-up, N complete coded
 *    calls run one after another — incoming → code → dial-complete → status, each signed —
 *    and every post is timed from the first byte sent to the last byte read, and split into
 *    the time spent waiting on DynamoDB requests (SDK + dynalite) and the rest (HTTP, the
 *    event adapter, the voice code). Then bursts of concurrent calls: throughput, calls that
 *    left the coded path, and every call's usage record checked in storage (a call that left
 *    the path still gets its status callback, as from Twilio, and must still leave a record).
 * 2. DynamoDB requests per completed coded call, counted by the SDK middleware `countRequests`
 *    on the client the voice routes use (`LocalStack.dynamodb`), read after every webhook: the
 *    first call of a fresh app (cold: nothing cached) and the N warm calls (settings cached,
 *    the call's state kept between its webhooks).
 * 3. The voice function bundled as the Lambda ships it (esbuild, ESM, minified) beside a bare
 *    handler that only builds a DynamoDB client, with identical options — once with the AWS
 *    SDK bundled, once with `@aws-sdk/*` left to the runtime — sizes (raw, gzip), and cold
 *    import time: fresh `node` processes, voice and bare interleaved so machine noise hits
 *    both alike, medians. The ratio is the headline.
 *
 *   npm run bench:voice
 *   node bench/voice.bench.ts --calls 300 --warmup 30 --burst 200,1000 --rounds 20 --only latency,bundle
 *   BENCH_PROFILE=/tmp/prof npm run bench:voice    # and a CPU profile of the stack process
 *
 * Budgets: warm webhook p99 ≤ 10 ms per route, the handler's own time (storage requests left
 * out) p99 ≤ 1 ms; ≤ 5 DynamoDB requests per completed coded call warm, ≤ 6 cold; cold import
 * of the voice bundle ≤ 1.2 × the bare handler's. Budgets are reported, not
 * enforced by the exit code: this machine is shared and its timings are noisy.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { makeDynamoClient } from '../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../functions/adapters/dynamodb/stores.ts';
import { BENCH_AUTH_TOKEN, type RequestCounts, type VoiceStackInfo } from './support/voice-stack.ts';
import { codedCall, keepAliveAgent, ROUTES, type CallerOptions, type CallResult, type Route } from './support/voice-caller.ts';
import { machine, machineLine, median, RESULTS_DIR, round2, summarize, writeResult, type Headline, type LatencySummary } from './support/report.ts';
import { LAMBDA_CREDENTIALS_ALIAS } from '../infra/lambda-bundle.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '..');

const BUDGET_P99_MS = 10;
const BUDGET_HANDLER_P99_MS = 1;
const BUDGET_REQUESTS_PER_CALL = 5;
const BUDGET_REQUESTS_COLD = 6;
const BUDGET_IMPORT_RATIO = 1.2;

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    burst: { type: 'string', default: '200,1000' },
    rounds: { type: 'string', default: '20' },
    only: { type: 'string' },
    // A tenth of the work (npm run bench -- --quick): fewer calls, smaller bursts, fewer rounds.
    quick: { type: 'boolean' },
  },
});
if (flags.quick) Object.assign(flags, { calls: '30', warmup: '10', burst: '20,100', rounds: '5' });
const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1, not "${text}"`);
  return n;
};
const CALLS = positive('calls', flags.calls);
const WARMUP = positive('warmup', flags.warmup);
const BURSTS = flags.burst.split(',').map((b) => positive('burst', b.trim()));
const ROUNDS = positive('rounds', flags.rounds);
const parts = new Set((flags.only ?? 'latency,bundle').split(',').map((s) => s.trim()));
for (const p of parts) if (p !== 'latency' && p !== 'bundle') throw new Error(`--only takes latency, bundle or both, not "${p}"`);

/** The demo account (examples/): alice is a lawyer, whose outbound calls require a code; 0042 is an account code anyone may use. */
const DEMO = { accountSid: 'AC00000000000000000000000000000000', from: 'client:alice', to: '+13125550188', code: '0042' };

// ---- the stack in a child process ------------------------------------------------------

interface StackProcess extends VoiceStackInfo {
  /** DynamoDB requests the voice routes sent since the last `take`. */
  take(): Promise<RequestCounts>;
  /** CPU seconds the stack process (voice routes and dynalite) has used so far. */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

async function startStack(): Promise<StackProcess> {
  // BENCH_PROFILE=<dir> writes a V8 CPU profile of the stack process there (open it in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE, '--cpu-prof-name', 'voice-stack.cpuprofile'] : [];
  const child = spawn(process.execPath, [...profile, join(HERE, 'support/voice-stack.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue: ((line: string) => void)[] = [];
  const ready = new Promise<string>((resolve, reject) => {
    queue.push(resolve);
    child.once('exit', (code) => reject(new Error(`the stack process exited (${code}) before it was ready`)));
  });
  lines.on('line', (line) => queue.shift()?.(line));
  const info = JSON.parse(await ready) as VoiceStackInfo;
  return {
    ...info,
    take() {
      return new Promise((resolve) => {
        queue.push((line) => resolve(JSON.parse(line) as RequestCounts));
        child.stdin.write('take\n');
      });
    },
    async cpuSeconds() {
      const fields = (await readFile(`/proc/${info.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

const addCounts = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [op, n] of Object.entries(from)) into[op] = (into[op] ?? 0) + n;
};
const opsText = (ops: Record<string, number>) =>
  Object.entries(ops)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, n]) => `${op} ${round2(n)}`)
    .join(', ');

interface CountedCall {
  readonly result: CallResult;
  /** DynamoDB requests of the whole call. */
  readonly total: number;
  readonly byRoute: Record<Route, RequestCounts>;
}

/** One coded call with the stack's DynamoDB requests read after each webhook (outside the timed posts). */
async function countedCall(stack: StackProcess, caller: CallerOptions): Promise<CountedCall> {
  const byRoute = {} as Record<Route, RequestCounts>;
  const result = await codedCall(caller, undefined, async (route) => {
    byRoute[route] = await stack.take();
  });
  return { result, total: Object.values(byRoute).reduce((n, c) => n + c.total, 0), byRoute };
}

/** Per-route averages over counted calls: requests, and by operation. */
function perRoute(calls: readonly CountedCall[]) {
  return Object.fromEntries(
    ROUTES.map((route) => {
      const ops: Record<string, number> = {};
      for (const c of calls) addCounts(ops, c.byRoute[route]?.byOperation ?? {});
      for (const op of Object.keys(ops)) ops[op] = round2((ops[op] ?? 0) / calls.length);
      return [route, { requests: round2(calls.reduce((n, c) => n + (c.byRoute[route]?.total ?? 0), 0) / calls.length), byOperation: ops }];
    }),
  ) as Record<Route, { requests: number; byOperation: Record<string, number> }>;
}

function latencyByRoute(results: readonly CallResult[]): Record<Route | 'all', LatencySummary> {
  const by: Record<string, number[]> = { all: [] };
  for (const r of results) {
    for (const p of r.posts) {
      (by[p.route] ??= []).push(p.ms);
      by.all?.push(p.ms);
    }
  }
  return Object.fromEntries(['all', ...ROUTES].map((k) => [k, summarize(by[k] ?? [])])) as Record<Route | 'all', LatencySummary>;
}

/**
 * Each webhook's time split: waiting on DynamoDB (the SDK and dynalite), and the rest (HTTP
 * both ways, the API Gateway adapter, the voice function's own work); and the handler's own
 * time — from the event in to the result out, less its storage requests — on its own.
 */
function splitByRoute(calls: readonly CountedCall[]) {
  const dynamo: Record<string, number[]> = { all: [] };
  const rest: Record<string, number[]> = { all: [] };
  const own: Record<string, number[]> = { all: [] };
  for (const c of calls) {
    for (const p of c.result.posts) {
      const counts = c.byRoute[p.route];
      const d = counts?.ms ?? 0;
      for (const k of [p.route, 'all']) {
        (dynamo[k] ??= []).push(d);
        (rest[k] ??= []).push(p.ms - d);
        (own[k] ??= []).push(Math.max(0, (counts?.handlerMs ?? 0) - d));
      }
    }
  }
  return Object.fromEntries(
    ['all', ...ROUTES].map((k) => [k, { dynamodb: summarize(dynamo[k] ?? []), rest: summarize(rest[k] ?? []), handlerOwn: summarize(own[k] ?? []) }]),
  ) as Record<Route | 'all', { dynamodb: LatencySummary; rest: LatencySummary; handlerOwn: LatencySummary }>;
}

async function latencyAndRequests() {
  const stack = await startStack();
  const agent = keepAliveAgent();
  const caller: CallerOptions = { httpUrl: stack.httpUrl, publicUrl: stack.publicUrl, token: BENCH_AUTH_TOKEN, agent, ...DEMO };
  try {
    // Cold: the first call of a fresh voice app (a new container): settings are not cached yet.
    console.error('bench:voice the first call of a fresh app (cold), counted…');
    await stack.take();
    const cold = await countedCall(stack, caller);
    if (cold.result.error !== undefined) throw new Error(`the first call went wrong: ${cold.result.error}`);

    console.error(`bench:voice warm-up: ${WARMUP} calls…`);
    for (let i = 0; i < WARMUP; i++) {
      const r = await codedCall(caller);
      if (r.error !== undefined) throw new Error(`a warm-up call went wrong: ${r.error}`);
    }

    console.error(`bench:voice ${CALLS} warm calls, one after another, DynamoDB requests counted webhook by webhook…`);
    await stack.take();
    const cpuBefore = await stack.cpuSeconds();
    const counted: CountedCall[] = [];
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) counted.push(await countedCall(stack, caller));
    const elapsedMs = performance.now() - started;
    const cpuAfter = await stack.cpuSeconds();
    const sequential = counted.map((c) => c.result);
    const seqErrors = sequential.filter((r) => r.error !== undefined);
    const complete = counted.filter((c) => c.result.error === undefined);

    const bursts = [];
    const client = makeDynamoClient({ endpoint: stack.dynamodbEndpoint, requestTimeoutMs: 30_000 });
    const stores = makeDynamoStores({ client, tables: stack.tables });
    try {
      for (const size of BURSTS) {
        console.error(`bench:voice ${size} calls at once…`);
        await stack.take();
        const burstStarted = performance.now();
        const results = await Promise.all(Array.from({ length: size }, () => codedCall(caller)));
        const burstMs = performance.now() - burstStarted;
        const counts = await stack.take();
        const errors = results.filter((r) => r.error !== undefined);
        // Every call must end as one usage record: completed with the code when the call went
        // through, ended all the same when it did not (its status callback was still posted).
        let lost = 0;
        const wrong: unknown[] = [];
        for (const r of results) {
          const s = (await stores.calls.get(r.callSid))?.state;
          if (s === undefined || s.phase !== 'ended' || !s.statusReceived) lost++;
          else if (r.error === undefined && (s.outcome !== 'completed' || s.code !== DEMO.code || !s.dialCompleted)) {
            wrong.push({
              callSid: s.callSid,
              phase: s.phase,
              outcome: s.outcome,
              codeStatus: s.codeStatus,
              code: s.code,
              attempts: s.attempts,
              dialCompleted: s.dialCompleted,
              statusReceived: s.statusReceived,
            });
          }
        }
        bursts.push({
          calls: size,
          ms: Math.round(burstMs),
          callsPerSecond: round2(size / (burstMs / 1000)),
          webhooksPerSecond: round2((size * ROUTES.length) / (burstMs / 1000)),
          errors: errors.length,
          ...(errors.length === 0 ? {} : { firstErrors: errors.slice(0, 3).map((e) => e.error) }),
          usageRecordsLost: lost,
          /** Calls that went through whose record does not say so (completed, with the code). */
          usageRecordsWrong: wrong.length,
          ...(wrong.length === 0 ? {} : { wrongRecords: wrong.slice(0, 3) }),
          dynamodbRequestsPerCall: round2(counts.total / size),
          dynamodbByOperation: Object.fromEntries(Object.entries(counts.byOperation).map(([op, n]) => [op, round2(n / size)])),
          latency: latencyByRoute(results),
        });
      }
    } finally {
      client.destroy();
    }

    const perCall = complete.map((c) => c.total);
    const latency = latencyByRoute(sequential);
    return {
      stack:
        'the local stack (startLocalStack, as `tollgate dev`) in a child process: dynalite on LevelDB in a temp home, s3rver, the voice routes behind the API Gateway event adapter; Twilio played from this process over keep-alive HTTP on loopback',
      sequential: {
        calls: CALLS,
        warmupCalls: WARMUP,
        errors: seqErrors.length,
        ...(seqErrors.length === 0 ? {} : { firstErrors: seqErrors.slice(0, 3).map((e) => e.error) }),
        ms: Math.round(elapsedMs),
        callsPerSecond: round2(CALLS / (elapsedMs / 1000)),
        /** CPU the stack process used per call: the voice routes and dynalite together. */
        stackCpuMsPerCall: round2(((cpuAfter - cpuBefore) * 1000) / CALLS),
        latency,
        /** Each webhook's time: waiting on DynamoDB requests (SDK + dynalite) and the rest. */
        split: splitByRoute(complete),
        budgets: Object.fromEntries(ROUTES.map((r) => [r, latency[r].p99 <= BUDGET_P99_MS ? 'pass' : 'FAIL'])) as Record<Route, 'pass' | 'FAIL'>,
      },
      dynamodb: {
        cold: { requests: cold.total, byRoute: perRoute([cold]) },
        warm: {
          calls: complete.length,
          /** A call that meets the 30 s settings reload makes two GetItem more: it shows in max. */
          requestsPerCall: { min: Math.min(...perCall), median: median(perCall), max: Math.max(...perCall), mean: round2(perCall.reduce((a, b) => a + b, 0) / perCall.length) },
          byRoute: perRoute(complete),
          budget: median(perCall) <= BUDGET_REQUESTS_PER_CALL ? 'pass' : 'FAIL',
        },
      },
      bursts,
    };
  } finally {
    agent.destroy();
    await stack.stop();
  }
}

// ---- bundles and cold import -----------------------------------------------------------

const BANNER = "import{createRequire}from'node:module';const require=createRequire(import.meta.url);";
/** The Lambda's bundling, identical for both handlers. */
const BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  // ESM builds of the dependencies first (the AWS SDK's dist-es tree-shakes; dist-cjs does not).
  mainFields: ['module', 'main'],
  // twilio's webhooks module calls require('crypto'): CommonJS inside an ESM bundle needs a require.
  banner: { js: BANNER },
  metafile: true,
  logLevel: 'warning',
} as const;
const ENTRIES = { voice: join(ROOT, 'functions/handlers/voice.ts'), bare: join(HERE, 'support/bare-handler.ts') } as const;
/** As deployed (infra/constructs/voice-api.ts): the SDK bundled but for the SNS client, which the runtime provides on the first alert; or the whole SDK from the runtime. */
const VARIANTS = { 'sdk-bundled': ['@aws-sdk/client-sns'], 'sdk-external': ['@aws-sdk/*'] } as const;
type Entry = keyof typeof ENTRIES;
type Variant = keyof typeof VARIANTS;

/** Bundles go where `@aws-sdk/*` still resolves from the project's node_modules, as from the Lambda runtime's. */
const BUNDLE_DIR = join(RESULTS_DIR, 'voice-bundles');

/** Bytes in the bundle by npm package (the project's own code as one line). */
function byPackage(metafile: Metafile): { package: string; bytes: number }[] {
  const out = Object.values(metafile.outputs)[0];
  const sums = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(out?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = m === null ? '(tollgate code)' : (m[1] as string);
    sums.set(name, (sums.get(name) ?? 0) + bytesInOutput);
  }
  return [...sums].map(([pkg, bytes]) => ({ package: pkg, bytes })).sort((a, b) => b.bytes - a.bytes);
}

interface Bundle {
  readonly entry: Entry;
  readonly variant: Variant;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly packages: { package: string; bytes: number }[];
}

async function bundle(entry: Entry, variant: Variant): Promise<Bundle> {
  const file = join(BUNDLE_DIR, `${entry}-${variant}.mjs`);
  // As deployed, the voice bundle takes Lambda's environment credentials for the SDK's chain (infra/lambda-bundle.ts).
  const alias = entry === 'voice' && variant === 'sdk-bundled' ? { alias: { ...LAMBDA_CREDENTIALS_ALIAS } } : {};
  const result = await build({
    ...BUILD_OPTIONS,
    mainFields: [...BUILD_OPTIONS.mainFields],
    entryPoints: [ENTRIES[entry]],
    outfile: file,
    external: [...VARIANTS[variant]],
    ...alias,
  });
  await writeFile(`${file.slice(0, -4)}.meta.json`, JSON.stringify(result.metafile));
  const code = await readFile(file);
  return { entry, variant, file, bytes: code.length, gzipBytes: gzipSync(code).length, packages: byPackage(result.metafile) };
}

/**
 * Run in a fresh `node`: import the bundle (timed), then answer one event with its handler —
 * the voice function a `/voice/fallback` post, which builds the function's clients and needs
 * no network — so "first response" is import + the first invocation's set-up.
 */
const COLD_SCRIPT = `
const c0 = process.cpuUsage();
const t0 = performance.now();
const m = await import(process.argv[1]);
const t1 = performance.now();
const c1 = process.cpuUsage(c0);
const event = process.argv[2] === 'voice'
  ? { rawPath: '/voice/fallback', rawQueryString: '', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'CallSid=CA00000000000000000000000000000001&AccountSid=AC00000000000000000000000000000000&From=client%3Aalice&To=%2B13125550188',
      isBase64Encoded: false, requestContext: { http: { method: 'POST' } } }
  : {};
const res = await m.handler(event, { functionName: 'bench', getRemainingTimeInMillis: () => 15000 });
const t2 = performance.now();
if (res.statusCode !== 200) { console.error('first response', res.statusCode, res.body); process.exit(1); }
process.stdout.write(JSON.stringify({ importMs: t1 - t0, importCpuMs: (c1.user + c1.system) / 1000, firstResponseMs: t2 - t0, sinceStartMs: t2 }));
process.exit(0);
`;

/** What the deployed voice function reads at start (no AWS call is made by the fallback route). */
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  LOG_LEVEL: 'warn',
  TOLLGATE_ACCOUNTS_TABLE: 'accounts',
  TOLLGATE_CODES_TABLE: 'codes',
  TOLLGATE_CALLS_TABLE: 'calls',
  TOLLGATE_PEPPER_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:pepper',
  TOLLGATE_TWILIO_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:twilio',
  TOLLGATE_ALERTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:alerts',
  TOLLGATE_EMERGENCY_CALLER_ID: '+15005550006',
};

interface ColdRun {
  readonly importMs: number;
  /** CPU time (all threads) the import took: less swayed than wall time by other work on the machine. */
  readonly importCpuMs: number;
  readonly firstResponseMs: number;
  /** From spawn to exit, seen from here: node's own start-up included. */
  readonly processMs: number;
}

async function coldRun(b: Bundle): Promise<ColdRun> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', COLD_SCRIPT, pathToFileURL(b.file).href, b.entry], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...LAMBDA_ENV },
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  const processMs = performance.now() - started;
  if (code !== 0) throw new Error(`cold import of ${relative(ROOT, b.file)} exited with ${code}`);
  const r = JSON.parse(out) as { importMs: number; importCpuMs: number; firstResponseMs: number };
  return { importMs: r.importMs, importCpuMs: r.importCpuMs, firstResponseMs: r.firstResponseMs, processMs };
}

const kb = (bytes: number) => round2(bytes / 1024);

async function bundlesAndColdImport() {
  await rm(BUNDLE_DIR, { recursive: true, force: true });
  await mkdir(BUNDLE_DIR, { recursive: true });
  const bundles: Bundle[] = [];
  for (const variant of Object.keys(VARIANTS) as Variant[]) for (const entry of Object.keys(ENTRIES) as Entry[]) bundles.push(await bundle(entry, variant));

  console.error(`bench:voice cold imports: ${ROUNDS} rounds × ${bundles.length} bundles, each in a fresh node…`);
  const runs = new Map<Bundle, ColdRun[]>(bundles.map((b) => [b, []]));
  // One untimed round first: the file system cache, not the bundle, would otherwise pay the first read.
  for (const b of bundles) await coldRun(b);
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round, so no bundle always runs right after another.
    for (let k = 0; k < bundles.length; k++) {
      const b = bundles[(round + k) % bundles.length] as Bundle;
      runs.get(b)?.push(await coldRun(b));
    }
  }

  const stat = (b: Bundle) => {
    const rs = runs.get(b) ?? [];
    return {
      importMs: round2(median(rs.map((r) => r.importMs))),
      importMinMs: round2(Math.min(...rs.map((r) => r.importMs))),
      importCpuMs: round2(median(rs.map((r) => r.importCpuMs))),
      firstResponseMs: round2(median(rs.map((r) => r.firstResponseMs))),
      processMs: round2(median(rs.map((r) => r.processMs))),
    };
  };
  const find = (entry: Entry, variant: Variant) => bundles.find((b) => b.entry === entry && b.variant === variant) as Bundle;
  const variants = Object.fromEntries(
    (Object.keys(VARIANTS) as Variant[]).map((variant) => {
      const voice = find('voice', variant);
      const bare = find('bare', variant);
      const v = stat(voice);
      const b = stat(bare);
      const importRatio = round2(v.importMs / b.importMs);
      return [
        variant,
        {
          voice: { file: relative(ROOT, voice.file), bytes: voice.bytes, gzipBytes: voice.gzipBytes, ...v },
          bare: { file: relative(ROOT, bare.file), bytes: bare.bytes, gzipBytes: bare.gzipBytes, ...b },
          ratios: {
            import: importRatio,
            importCpu: round2(v.importCpuMs / b.importCpuMs),
            firstResponse: round2(v.firstResponseMs / b.firstResponseMs),
            process: round2(v.processMs / b.processMs),
            bytes: round2(voice.bytes / bare.bytes),
          },
          budget: importRatio <= BUDGET_IMPORT_RATIO ? 'pass' : 'FAIL',
          /** What the voice bundle holds, largest first. */
          voicePackages: voice.packages.slice(0, 12).map((p) => ({ package: p.package, kb: kb(p.bytes) })),
        },
      ];
    }),
  ) as Record<
    Variant,
    {
      voice: { file: string; bytes: number; gzipBytes: number } & ReturnType<typeof stat>;
      bare: { file: string; bytes: number; gzipBytes: number } & ReturnType<typeof stat>;
      ratios: { import: number; importCpu: number; firstResponse: number; process: number; bytes: number };
      budget: 'pass' | 'FAIL';
      voicePackages: { package: string; kb: number }[];
    }
  >;
  return {
    esbuild: { ...BUILD_OPTIONS, banner: BANNER, metafile: undefined },
    rounds: ROUNDS,
    method:
      'each run a fresh `node --input-type=module -e` process: performance.now() and process.cpuUsage() around `await import(bundle)`, then one handler invocation (first response); process = spawn to exit; medians over the rounds, voice and bare interleaved, order rotated each round',
    variants,
  };
}

// ---- run, report -----------------------------------------------------------------------

const m = machine();
const live = parts.has('latency') ? await latencyAndRequests() : undefined;
const bundles = parts.has('bundle') ? await bundlesAndColdImport() : undefined;

const ms = (n: number) => n.toFixed(1);
const headline: Headline[] = [];
const add = (metric: string, value: string, budget?: string, status?: 'pass' | 'FAIL') =>
  headline.push({ benchmark: 'voice', metric, value, ...(budget === undefined ? {} : { budget }), ...(status === undefined ? {} : { status }) });

if (live !== undefined) {
  const seq = live.sequential;
  for (const route of ROUTES) {
    const l = seq.latency[route];
    add(`warm ${route} p50 / p99 / max`, `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)} ms`, `p99 ≤ ${BUDGET_P99_MS} ms`, seq.budgets[route]);
  }
  const all = seq.latency.all;
  const split = seq.split.all;
  add(
    'warm webhook, all routes p50 / p99 / mean',
    `${ms(all.p50)} / ${ms(all.p99)} / ${ms(all.mean)} ms; waiting on DynamoDB (SDK + dynalite) ${ms(split.dynamodb.p50)} / ${ms(split.dynamodb.p99)} / ${ms(split.dynamodb.mean)}, the rest ${ms(split.rest.p50)} / ${ms(split.rest.p99)} / ${ms(split.rest.mean)}`,
  );
  const own = split.handlerOwn;
  add(
    "the handler's own time (all but its storage requests) p50 / p99 / max",
    `${ms(own.p50)} / ${ms(own.p99)} / ${ms(own.max)} ms (per route p99: ${ROUTES.map((r) => `${r} ${ms(seq.split[r].handlerOwn.p99)}`).join(', ')})`,
    `p99 ≤ ${BUDGET_HANDLER_P99_MS} ms`,
    own.p99 <= BUDGET_HANDLER_P99_MS ? 'pass' : 'FAIL',
  );
  add(`sequential calls (${seq.calls}, errors ${seq.errors})`, `${seq.callsPerSecond} calls/s; stack CPU ${seq.stackCpuMsPerCall} ms/call`);
  const warm = live.dynamodb.warm;
  const warmOps: Record<string, number> = {};
  for (const r of ROUTES) addCounts(warmOps, warm.byRoute[r].byOperation);
  add(
    'DynamoDB requests / coded call, warm',
    `${warm.requestsPerCall.median} (${opsText(warmOps)}; per webhook ${ROUTES.map((r) => warm.byRoute[r].requests).join('+')}; max ${warm.requestsPerCall.max} over ${warm.calls} calls)`,
    `≤ ${BUDGET_REQUESTS_PER_CALL}`,
    warm.budget as 'pass' | 'FAIL',
  );
  const cold = live.dynamodb.cold;
  const coldOps: Record<string, number> = {};
  for (const r of ROUTES) addCounts(coldOps, cold.byRoute[r].byOperation);
  add(
    'DynamoDB requests / coded call, cold',
    `${cold.requests} (${opsText(coldOps)}; per webhook ${ROUTES.map((r) => cold.byRoute[r].requests).join('+')}; the SID bound to its account as the token secret binds it in AWS)`,
    `≤ ${BUDGET_REQUESTS_COLD}`,
    cold.requests <= BUDGET_REQUESTS_COLD ? 'pass' : 'FAIL',
  );
  for (const b of live.bursts) {
    add(
      `${b.calls} calls at once`,
      `${b.callsPerSecond} calls/s, ${b.webhooksPerSecond} webhooks/s; calls off the coded path ${b.errors}; records lost ${b.usageRecordsLost}, wrong ${b.usageRecordsWrong}; webhook p50/p99 ${ms(b.latency.all.p50)}/${ms(b.latency.all.p99)} ms`,
      'all coded, 0 lost',
      b.errors === 0 && b.usageRecordsLost === 0 && b.usageRecordsWrong === 0 ? 'pass' : 'FAIL',
    );
  }
}
if (bundles !== undefined) {
  for (const [variant, v] of Object.entries(bundles.variants)) {
    add(`bundle KB (gzip), ${variant}: voice / bare`, `${kb(v.voice.bytes)} (${kb(v.voice.gzipBytes)}) / ${kb(v.bare.bytes)} (${kb(v.bare.gzipBytes)})`);
    // The budget is the deployed bundle's (sdk-bundled); the other is shown for comparison.
    const deployed = variant === 'sdk-bundled';
    add(
      `cold import, ${variant}${deployed ? ' (as deployed)' : ''}: voice / bare`,
      `${ms(v.voice.importMs)} / ${ms(v.bare.importMs)} ms = ${v.ratios.import.toFixed(2)}×; CPU ${ms(v.voice.importCpuMs)} / ${ms(v.bare.importCpuMs)} ms = ${v.ratios.importCpu.toFixed(2)}×`,
      deployed ? `≤ ${BUDGET_IMPORT_RATIO}×` : undefined,
      deployed ? v.budget : undefined,
    );
    add(
      `first response / process, ${variant}`,
      `${ms(v.voice.firstResponseMs)} / ${ms(v.bare.firstResponseMs)} ms = ${v.ratios.firstResponse.toFixed(2)}×; process ${ms(v.voice.processMs)} / ${ms(v.bare.processMs)} ms = ${v.ratios.process.toFixed(2)}×`,
    );
  }
}

const result = {
  benchmark: 'voice',
  at: new Date().toISOString(),
  ...m,
  loadAverageAtEnd: machine().loadAverage,
  budgets: {
    warmP99Ms: BUDGET_P99_MS,
    handlerOwnP99Ms: BUDGET_HANDLER_P99_MS,
    dynamodbRequestsPerCall: BUDGET_REQUESTS_PER_CALL,
    dynamodbRequestsCold: BUDGET_REQUESTS_COLD,
    coldImportRatio: BUDGET_IMPORT_RATIO,
  },
  headline,
  latency: live,
  bundles,
};
const path = await writeResult('voice', result);

console.log(`\nvoice benchmark — ${machineLine(m)}`);
console.table(headline.map((h) => ({ metric: h.metric, value: h.value, budget: h.budget ?? '', '': h.status ?? '' })));
if (bundles !== undefined) {
  const top = bundles.variants['sdk-bundled'].voicePackages.slice(0, 8);
  console.log(`voice bundle (SDK bundled), largest parts: ${top.map((p) => `${p.package} ${p.kb.toFixed(0)} KB`).join(', ')}`);
  console.log(`bundles and esbuild metafiles: ${relative(ROOT, BUNDLE_DIR)}/ (open a .meta.json in https://esbuild.github.io/analyze/)`);
}
console.log(`budgets are reported, not enforced: timings on a shared machine are noisy. results: ${relative(ROOT, path)}`);
