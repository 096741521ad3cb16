/**
 * The local stack (docs/design.md, docs/call-flow.md): the AWS handlers in one Node process, over dynalite and
 * s3rver on loopback, with the bucket-event wiring, the hourly usage export (scheduler.ts)
 * and an HTTP server that speaks API Gateway's event format. `tollgate dev` runs it in the
 * foreground; the tests start it in process. Data lives under `home` and survives restarts.
 *
 *     <home>/dynamodb/     dynalite's LevelDB
 *     <home>/s3/           s3rver's objects (bucket tollgate-local)
 *     <home>/pepper        the authorization-code HMAC key, generated once (mode 0600)
 *     <home>/queue/        import notifications not yet handled (replayed on start)
 *     <home>/dead-letter/  notifications whose import failed on every attempt
 *     <home>/stack.json    endpoints of the running stack, for the CLI; removed on stop
 *     <home>/seeded        written once the demo account has been seeded
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { makeDynamoClient } from '../functions/adapters/dynamodb/client.ts';
import { fileAlerts } from '../functions/adapters/alerts.ts';
import { fixedTokens } from '../functions/adapters/twilio/tokens.ts';
import { makeVoiceHandler } from '../functions/handlers/voice.ts';
import { makeDynamoStores, type DynamoStores } from '../functions/adapters/dynamodb/stores.ts';
import { createTables, type TableNames } from '../functions/adapters/dynamodb/tables.ts';
import { makeS3Client } from '../functions/adapters/s3/client.ts';
import { handleS3Event, s3Objects, type S3Event } from '../functions/handlers/import.ts';
import type { ImporterDeps, ImportReport } from '../functions/services/importer.ts';
import type { Logger } from '../functions/services/logger.ts';
import { ImportQueue, importNotification } from './bucket-events.ts';
import { ensureBucket, startDynalite, startS3rver, type RunningS3, type RunningServer } from './emulators.ts';
import { s3ExportFiles } from '../functions/adapters/s3/export-files.ts';
import { runScheduledExport, type ExportRun } from '../functions/services/exporter.ts';
import { startHourlyScheduler } from './scheduler.ts';
import { jsonResult, makeRequestListener, RouteTable, type ApiGatewayEvent, type ApiGatewayResult, type LambdaContextLike } from './http.ts';
import { readStackInfo, type StackInfo } from './stack-info.ts';
import { xlsxFile } from '../functions/adapters/xlsx.ts';
import { CONSOLE_MAX_BODY_BYTES, CONSOLE_ROUTES, HEALTH_PATH } from '../functions/routes.ts';
import { loadConsoleAssets } from '../functions/adapters/console-assets.ts';
import { s3ChangeDoor } from '../functions/adapters/s3/change-door.ts';
import { consoleStores, makeConsoleHandler, type ConsoleHandler } from '../functions/handlers/console.ts';
import { DEFAULT_CONSOLE_PASSWORD, localConsoleAuth, seedConsoleUsers } from './console-users.ts';
import { localEvents, type LocalEvents } from './events.ts';

export { readStackInfo, type StackInfo };

/** Fixed names: one local stack per TOLLGATE_HOME. */
export const LOCAL_TABLES: TableNames = Object.freeze({
  accounts: 'tollgate-accounts',
  codes: 'tollgate-codes',
  calls: 'tollgate-calls',
});
export const LOCAL_BUCKET = 'tollgate-local';
export const LOCAL_REGION = 'us-east-1';
/** The account seeded from `examples/` on the first start. */
export const DEMO_ACCOUNT = 'demo';

/**
 * Voice webhooks the local stack handles at once. Each has at most a few DynamoDB requests in
 * flight, so the SDK's 50 sockets to dynalite never queue; past a handful, more at once only
 * adds waiting inside the process (dynalite and the handlers share one event loop), so a
 * larger number buys no throughput on a small machine.
 */
export const VOICE_CONCURRENCY = 16;
/** The local clients' TCP connect timeout (dynalite on loopback). */
const LOCAL_CONNECTION_TIMEOUT_MS = 10_000;

/**
 * The local stack's emergency caller ID when none is configured: Twilio's test number that
 * "passes all validation". Nothing is really dialled locally; a deployment sets its own.
 */
export const DEFAULT_EMERGENCY_CALLER_ID = '+15005550006';

const EXAMPLES_DIR = fileURLToPath(new URL('../examples/', import.meta.url));

export interface LocalStackOptions {
  /** Where the data lives (TOLLGATE_HOME). */
  readonly home: string;
  /** HTTP port on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  /** The URL Twilio signs. @default `http://localhost:<port>` */
  readonly publicUrl?: string;
  /** Auth token of every local account (TWILIO_AUTH_TOKEN), for the voice routes' signature check. */
  readonly authToken: string;
  /**
   * The account each Twilio Account SID belongs to, as AWS's token secret binds them: a call's
   * first webhook then reads no SID item (the benchmark counts requests as in AWS).
   * @default none: the SID's item is read
   */
  readonly accountOf?: (accountSid: string) => Promise<string | undefined>;
  /**
   * The emergency `<Dial>`'s caller ID of last resort (TOLLGATE_EMERGENCY_CALLER_ID).
   * @default {@link DEFAULT_EMERGENCY_CALLER_ID}
   */
  readonly emergencyCallerId?: string;
  readonly log: Logger;
  /** The seeded console users' password (TOLLGATE_CONSOLE_PASSWORD). @default `tollgate-local` */
  readonly consolePassword?: string;
  /** Seed the demo account from `examples/` on the first start. @default true */
  readonly seed?: boolean;
  /** @default the repository's `examples/` */
  readonly examplesDir?: string;
  /**
   * The hourly usage export (EventBridge Scheduler in AWS): first run `firstRunMs` after start,
   * then at 5 past every hour. `false`: no scheduled runs (`exports.runNow()` still works).
   * @default { firstRunMs: 5000 }
   */
  readonly exportSchedule?: { readonly firstRunMs?: number } | false;
  /**
   * Voice webhooks handled at once; more wait in arrival order (see `InvocationGate`).
   * @default 16
   */
  readonly voiceConcurrency?: number;
  /** Call-record event deliveries: the first retry's delay. @default 1000 (then doubling, for a day) */
  readonly eventRetryMs?: number;
}

export interface LocalStack {
  readonly httpUrl: string;
  readonly publicUrl: string;
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  readonly bucket: string;
  readonly tables: TableNames;
  /**
   * The one DynamoDB client the stack's functions share (voice routes, imports, /health):
   * the benchmark attaches `countRequests` to it. Destroyed by `stop()`.
   */
  readonly dynamodb: DynamoDBClient;
  /** The HTTP routes; handlers in API Gateway HTTP API (2.0) form mount with one `add`. */
  readonly routes: RouteTable;
  /** Imports in flight: `idle()` resolves when every notification so far has been handled. */
  readonly imports: { idle(): Promise<void> };
  /** The scheduled usage export: run it now (or join the run under way). */
  readonly exports: { runNow(): Promise<ExportRun> };
  /** Call-record event deliveries: `idle()` resolves when none is under way or waiting. */
  readonly events: { idle(): Promise<void> };
  /** Stop accepting requests, finish queued imports, close the emulators (flushing LevelDB). */
  stop(): Promise<void>;
}

export class StackRunningError extends Error {
  override readonly name = 'StackRunningError';
}

/**
 * The key of the authorization-code HMAC: 32 random bytes, hex, generated on the first start
 * and kept (mode 0600) — every stored authorization code depends on it.
 */
export async function localPepper(home: string): Promise<string> {
  const path = join(home, 'pepper');
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (!/^[0-9a-f]{64}$/.test(text)) {
      throw new Error(`${path} is damaged (expected 64 hex digits): restore it from a backup, or delete ${home} to start over with no data`);
    }
    if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
    return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pepper = randomBytes(32).toString('hex');
  try {
    await writeFile(path, `${pepper}\n`, { mode: 0o600, flag: 'wx' });
    return pepper;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return localPepper(home);
    throw err;
  }
}

/** Start the local stack. Resolves once it is ready (tables, bucket, HTTP, seed). */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const home = resolve(options.home);
  const log = options.log;
  await mkdir(home, { recursive: true });
  await refuseIfRunning(home);
  const closers = new Closers(log);
  try {
    const pepper = await localPepper(home);
    const storage = await startStorage(home, closers);
    const imports = startImports(home, storage, pepper, log, closers);
    const http = await startHttp(options, home, storage, pepper, closers);
    if (options.seed ?? true) {
      await seedDemo({
        home,
        s3: storage.s3,
        stores: storage.stores,
        queue: imports.queue,
        reportListeners: imports.reportListeners,
        log,
        examplesDir: options.examplesDir ?? EXAMPLES_DIR,
      });
      if (await seedConsoleUsers(home, DEMO_ACCOUNT, options.consolePassword ?? DEFAULT_CONSOLE_PASSWORD)) {
        log.info(`console users added: admin@${DEMO_ACCOUNT}.test, finance@${DEMO_ACCOUNT}.test, alice@${DEMO_ACCOUNT}.test (password from TOLLGATE_CONSOLE_PASSWORD)`);
      }
    }
    const exports = startExports(options, storage, closers);
    await writeStackInfo(home, { httpUrl: http.httpUrl, publicUrl: http.publicUrl, s3Endpoint: storage.s3rver.endpoint, dynamodbEndpoint: storage.dynamo.endpoint }, closers);
    let stopping: Promise<void> | undefined;
    return {
      httpUrl: http.httpUrl,
      publicUrl: http.publicUrl,
      s3Endpoint: storage.s3rver.endpoint,
      dynamodbEndpoint: storage.dynamo.endpoint,
      bucket: LOCAL_BUCKET,
      tables: LOCAL_TABLES,
      dynamodb: storage.dynamoClient,
      routes: http.routes,
      imports: { idle: () => imports.queue.idle() },
      exports: { runNow: exports.runNow },
      events: { idle: () => http.events.idle() },
      stop: () => (stopping ??= closers.closeAll()),
    };
  } catch (err) {
    await closers.closeAll();
    throw err;
  }
}

/** The pid alone could be another program's after a crash and a reboot: ask the stack itself. */
async function refuseIfRunning(home: string): Promise<void> {
  const running = await readStackInfo(home);
  if (running !== undefined && running.pid !== process.pid && (await answers(running.httpUrl))) {
    throw new StackRunningError(`a local stack is already running in ${home} (pid ${running.pid}, ${running.httpUrl}): stop it first, or set TOLLGATE_HOME to another folder`);
  }
}

/** What start-up opened, closed in reverse order (stack.json, put first, goes last). */
class Closers {
  private readonly list: { readonly name: string; readonly close: () => Promise<void> }[] = [];
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  add(name: string, close: () => Promise<void>): void {
    this.list.push({ name, close });
  }

  /** Closed after everything else. */
  last(name: string, close: () => Promise<void>): void {
    this.list.unshift({ name, close });
  }

  async closeAll(): Promise<void> {
    for (const { name, close } of this.list.splice(0).reverse()) {
      const started = performance.now();
      try {
        await close();
        this.log.debug('stopped', { part: name, ms: Math.round(performance.now() - started) });
      } catch (err) {
        this.log.warn('error while stopping the local stack', { part: name, error: err });
      }
    }
  }
}

interface Storage {
  readonly dynamo: RunningServer;
  readonly s3rver: RunningS3;
  readonly dynamoClient: DynamoDBClient;
  readonly s3: S3Client;
  readonly stores: DynamoStores;
}

/** dynalite and s3rver on loopback, their clients, the tables and the bucket. */
async function startStorage(home: string, closers: Closers): Promise<Storage> {
  const dynamo: RunningServer = await startDynalite({ path: join(home, 'dynamodb') });
  closers.add('dynalite', () => dynamo.close());
  const s3rver: RunningS3 = await startS3rver({ directory: join(home, 's3') });
  closers.add('s3rver', () => s3rver.close());
  // dynalite shares this process with every function: when a burst keeps the event loop busy,
  // a request waits for its turn, not for the network. A loopback connect is refused at once
  // or made at once, so a long connection timeout loses nothing here (the deployed voice
  // function keeps its short ones: handlers/voice.ts).
  const dynamoClient = makeDynamoClient({ endpoint: dynamo.endpoint, connectionTimeoutMs: LOCAL_CONNECTION_TIMEOUT_MS, requestTimeoutMs: 30_000 });
  closers.add('DynamoDB client', async () => dynamoClient.destroy());
  const s3 = makeS3Client({ endpoint: s3rver.endpoint, region: LOCAL_REGION });
  closers.add('S3 client', async () => s3.destroy());
  await createTables(dynamoClient, LOCAL_TABLES);
  await ensureBucket(s3, LOCAL_BUCKET);
  return { dynamo, s3rver, dynamoClient, s3, stores: makeDynamoStores({ client: dynamoClient, tables: LOCAL_TABLES, indexWords: true }) };
}

/** The import function, wired to the bucket as in AWS (S3 → SQS → Lambda): a queue on disk with retries and a dead-letter folder. */
function startImports(home: string, storage: Storage, pepper: string, log: Logger, closers: Closers) {
  const { stores, s3 } = storage;
  const reportListeners = new Set<(report: ImportReport) => void>();
  const importer: ImporterDeps = {
    objects: s3Objects(s3, LOCAL_BUCKET),
    accounts: stores.accounts,
    users: stores.users,
    codes: stores.codes,
    ledger: stores.ledger,
    pepper: async () => pepper,
    now: () => new Date(),
    log,
    // One import at a time in one process (the queue below), and none while no stack runs in
    // this home: a claim the importer finds unfinished is a killed run's, to be taken over
    // at once when its notification is replayed, not after Lambda's 15-minute lease.
    leaseMs: 0,
  };
  const queue = new ImportQueue({
    dir: join(home, 'queue'),
    deadLetterDir: join(home, 'dead-letter'),
    log,
    handle: async (event: S3Event) => {
      for (const report of await handleS3Event(importer, event)) for (const listen of reportListeners) listen(report);
    },
  });
  storage.s3rver.server.on('event', (event) => {
    const notification = importNotification(event, LOCAL_BUCKET);
    if (notification !== undefined) queue.enqueue(notification);
  });
  // Closed before s3rver, so queued imports can still read their objects.
  closers.add('import queue', () => queue.close());
  queue.replay();
  return { queue, reportListeners };
}

/** The HTTP server: `/health` and the voice routes (docs/call-flow.md), with the same handler the Lambda runs. */
async function startHttp(options: LocalStackOptions, home: string, storage: Storage, pepper: string, closers: Closers) {
  const { stores } = storage;
  const log = options.log;
  const server = createServer();
  const port = await listen(server, options.port);
  const httpUrl = `http://127.0.0.1:${port}`;
  const publicUrl = (options.publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const routes = new RouteTable().add(['GET'], HEALTH_PATH, async () =>
    jsonResult(200, {
      status: 'ok',
      publicUrl,
      bucket: LOCAL_BUCKET,
      s3Endpoint: storage.s3rver.endpoint,
      dynamodbEndpoint: storage.dynamo.endpoint,
      accounts: await stores.accounts.listAccounts(),
    }),
  );
  const events = localEvents({ home, log, ...(options.eventRetryMs === undefined ? {} : { firstDelayMs: options.eventRetryMs }) });
  closers.add('call-record event deliveries', async () => events.close());
  const voice = makeVoiceHandler({
    accounts: stores.accounts,
    calls: stores.calls,
    lockouts: stores.lockouts,
    callContext: stores.callContext,
    codes: stores.codes,
    authTokens: fixedTokens(options.authToken),
    ...(options.accountOf === undefined ? {} : { accountOf: options.accountOf }),
    pepper: async () => pepper,
    alerts: fileAlerts(join(home, 'alerts.log'), log),
    events,
    publicBaseUrl: publicUrl,
    emergencyCallerId: options.emergencyCallerId ?? DEFAULT_EMERGENCY_CALLER_ID,
    now: () => new Date(),
    log,
  });
  mountConsole(routes, home, storage, log, events);
  // As many webhooks at once as Lambda containers would run them; the rest wait their turn.
  routes.add(['POST'], '/voice/*', voice, { functionName: 'tollgate-voice', concurrency: options.voiceConcurrency ?? VOICE_CONCURRENCY });
  server.on('request', makeRequestListener(routes, log));
  closers.add('HTTP server', () => closeHttp(server));
  return { httpUrl, publicUrl, routes, events };
}

/** The web console (docs/console.md): the handler the console function runs, signed in against the local users file. */
function mountConsole(routes: RouteTable, home: string, storage: Storage, log: Logger, events: LocalEvents): void {
  const { stores } = storage;
  let handler: Promise<ConsoleHandler> | undefined;
  const answer = async (event: ApiGatewayEvent, context: LambdaContextLike) => {
    handler ??= loadConsoleAssets().then((assets) =>
      makeConsoleHandler({
        auth: localConsoleAuth(home),
        ...consoleStores(stores),
        door: s3ChangeDoor(storage.s3, LOCAL_BUCKET),
        files: s3ExportFiles(storage.s3, LOCAL_BUCKET),
        events,
        assets,
        now: () => new Date(),
        log,
      }),
    );
    return (await (
      await handler
    )(event as never, context as never)) as ApiGatewayResult;
  };
  for (const route of CONSOLE_ROUTES) {
    routes.add(route.methods, route.path, answer, { functionName: 'tollgate-console', maxBodyBytes: CONSOLE_MAX_BODY_BYTES, timeoutMs: 30_000 });
  }
}

/**
 * The export function on its schedule. Its own DynamoDB client, so its requests never count in
 * the voice benchmark's requests per call (which counts `dynamodb`).
 */
function startExports(options: LocalStackOptions, storage: Storage, closers: Closers): { runNow: () => Promise<ExportRun> } {
  const exportClient = makeDynamoClient({ endpoint: storage.dynamo.endpoint, connectionTimeoutMs: LOCAL_CONNECTION_TIMEOUT_MS, requestTimeoutMs: 30_000 });
  closers.add('export DynamoDB client', async () => exportClient.destroy());
  const exportStores = makeDynamoStores({ client: exportClient, tables: LOCAL_TABLES });
  const runExport = () =>
    runScheduledExport({
      accounts: exportStores.accounts,
      usage: exportStores.calls,
      ledger: exportStores.exports,
      lock: exportStores.exports,
      files: s3ExportFiles(storage.s3, LOCAL_BUCKET),
      spreadsheet: xlsxFile,
      now: () => new Date(),
      log: options.log,
      owner: `local:${process.pid}`,
    });
  const scheduler =
    options.exportSchedule === false
      ? undefined
      : startHourlyScheduler({ name: 'usage export', run: runExport, log: options.log, firstRunMs: options.exportSchedule?.firstRunMs ?? 5_000 });
  // Stopped before the clients and emulators it uses (closers run in reverse order).
  if (scheduler !== undefined) closers.add('export scheduler', () => scheduler.stop());
  return { runNow: () => scheduler?.runNow() ?? runExport() };
}

/** `stack.json`: how the CLI finds the running stack. Removed last, once the data is flushed: while it exists, another start in this home is refused. */
async function writeStackInfo(home: string, urls: Pick<StackInfo, 'httpUrl' | 'publicUrl' | 's3Endpoint' | 'dynamodbEndpoint'>, closers: Closers): Promise<void> {
  const info: StackInfo = { pid: process.pid, startedAt: new Date().toISOString(), home, ...urls, region: LOCAL_REGION, bucket: LOCAL_BUCKET, tables: LOCAL_TABLES };
  const infoPath = join(home, 'stack.json');
  await writeFile(`${infoPath}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
  await rename(`${infoPath}.tmp`, infoPath);
  closers.last('stack.json', () => rm(infoPath, { force: true }));
}

async function answers(httpUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${httpUrl}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on 127.0.0.1 is in use: set PORT to another port (PORT=0 picks a free one)`, { cause: err }) : err);
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

/** Stop accepting connections and let requests in flight finish (5 s at most). */
function closeHttp(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    const force = setTimeout(() => server.closeAllConnections(), 5_000);
    server.close(() => {
      clearTimeout(force);
      resolveClose();
    });
    server.closeIdleConnections();
  });
}

/**
 * First start only: upload the demo account's files from `examples/` to `imports/demo/…`, so
 * they go through the same import path (and leave the same reports) as any admin upload.
 */
async function seedDemo(args: {
  readonly home: string;
  readonly s3: S3Client;
  readonly stores: DynamoStores;
  readonly queue: ImportQueue;
  readonly reportListeners: Set<(report: ImportReport) => void>;
  readonly log: Logger;
  readonly examplesDir: string;
}): Promise<void> {
  const marker = join(args.home, 'seeded');
  try {
    await stat(marker);
    return;
  } catch {
    // Not seeded yet.
  }
  const files = [
    { file: 'settings.json', key: `imports/${DEMO_ACCOUNT}/settings.json`, type: 'application/json' },
    { file: 'codes.csv', key: `imports/${DEMO_ACCOUNT}/codes/codes.csv`, type: 'text/csv' },
    { file: 'users.csv', key: `imports/${DEMO_ACCOUNT}/users/users.csv`, type: 'text/csv' },
  ];
  const reports: ImportReport[] = [];
  const listen = (report: ImportReport): void => {
    if (files.some((f) => f.key === report.file)) reports.push(report);
  };
  args.reportListeners.add(listen);
  try {
    // In order: the codes and users need the account the settings create.
    for (const f of files) {
      const body = await readFile(join(args.examplesDir, f.file));
      await args.s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET, Key: f.key, Body: body, ContentType: f.type }));
    }
    await args.queue.idle();
  } finally {
    args.reportListeners.delete(listen);
  }
  const rejected = reports.filter((r) => r.status !== 'applied');
  for (const r of rejected) {
    args.log.warn('the demo account could not be seeded from examples/', { file: r.file, errors: r.errors.slice(0, 5) });
  }
  args.log.info('seeded the demo account from examples/', { files: files.map((f) => f.key), applied: reports.length - rejected.length });
  // Written even after a rejection: seeding again on every start would only repeat it.
  await writeFile(marker, `${new Date().toISOString()}\n`);
}
