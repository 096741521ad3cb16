/**
 * One measured run in a process of its own, so `process.resourceUsage().maxRSS` is the peak of
 * that run alone: either the real importer over an object in s3rver (`import`), or the
 * baseline, raw BatchWriteItem of the same rows as the importer would store them (`raw`), with
 * the same client, engine and number of requests in flight. Prints one JSON line.
 *
 *   node bench/support/import-worker.ts '{"mode":"import","rows":100000,...}'
 */
import { BatchWriteItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { s3Objects } from '../../functions/handlers/import.ts';
import { importObject, type ImportCodeStore, type ImporterDeps } from '../../functions/services/importer.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { BUCKET, CONCURRENCY, PEPPER, REQUEST_TIMEOUT_MS, TABLES, codeItem } from './rows.ts';
import { startMetrics, type WorkerMetrics } from './worker-metrics.ts';

export interface WorkerArgs {
  readonly mode: 'import' | 'raw';
  readonly rows: number;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint?: string;
  readonly key?: string;
  /** The upload's S3 sequencer, which tells two uploads of the same key apart (s3rver keeps no versions). */
  readonly sequencer?: string;
}

export interface WorkerResult extends WorkerMetrics {
  readonly mode: 'import' | 'raw';
  readonly rows: number;
  /** From the first request to the end (import: both passes, and the report). */
  readonly totalMs: number;
  /** Import only: pass 1, reading and validating the whole file before anything is written. */
  readonly validateMs?: number;
  /** Import: pass 2, from the first storage request to the end. Raw: the same as totalMs. */
  readonly applyMs: number;
  readonly report?: unknown;
}

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
const client = makeDynamoClient({ endpoint: args.dynamodbEndpoint, requestTimeoutMs: REQUEST_TIMEOUT_MS });

const metrics = startMetrics(client);

async function runImport(): Promise<Omit<WorkerResult, keyof WorkerMetrics>> {
  if (args.s3Endpoint === undefined || args.key === undefined) throw new Error('import needs s3Endpoint and key');
  const stores = makeDynamoStores({ client, tables: TABLES, batch: { concurrency: CONCURRENCY } });
  let applyStart: number | undefined;
  const mark = () => void (applyStart ??= performance.now());
  const codes: ImportCodeStore = {
    hasCodes: (account) => stores.codes.hasCodes(account),
    getCodes: (account, keys) => {
      mark();
      return stores.codes.getCodes(account, keys);
    },
    writeCodes: (account, changes) => {
      mark();
      return stores.codes.writeCodes(account, changes);
    },
    listCodes: (account) => stores.codes.listCodes(account),
    codeForCallerId: (account, callerId) => stores.codes.codeForCallerId(account, callerId),
  };
  const deps: ImporterDeps = {
    objects: s3Objects(makeS3Client({ endpoint: args.s3Endpoint }), BUCKET),
    accounts: stores.accounts,
    users: stores.users,
    codes,
    ledger: stores.ledger,
    pepper: async () => PEPPER,
    now: () => new Date(),
    log: silentLogger,
  };
  const t0 = performance.now();
  const report = await importObject(deps, { key: args.key, ...(args.sequencer === undefined ? {} : { sequencer: args.sequencer }) });
  const t1 = performance.now();
  const a = applyStart ?? t1;
  return { mode: 'import', rows: args.rows, totalMs: t1 - t0, validateMs: a - t0, applyMs: t1 - a, report };
}

async function runRaw(): Promise<Omit<WorkerResult, keyof WorkerMetrics>> {
  let next = 0;
  const t0 = performance.now();
  // CONCURRENCY workers, each sending the next 25 rows until none are left; unprocessed items
  // are sent again at once (dynalite never leaves any, so this only guards the measurement).
  const worker = async () => {
    while (next < args.rows) {
      const start = next;
      next = Math.min(args.rows, next + 25);
      let pending: WriteRequest[] = [];
      for (let i = start; i < next; i++) pending.push({ PutRequest: { Item: codeItem(i) } });
      while (pending.length > 0) {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLES.codes]: pending } }));
        pending = out.UnprocessedItems?.[TABLES.codes] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - t0;
  return { mode: 'raw', rows: args.rows, totalMs: ms, applyMs: ms };
}

try {
  const run = args.mode === 'import' ? await runImport() : await runRaw();
  const result: WorkerResult = {
    ...run,
    ...metrics.finish(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  client.destroy();
  process.exit(0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
