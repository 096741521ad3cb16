/**
 * One measured run in a process of its own, so `process.resourceUsage().maxRSS` is that run's
 * alone: the real usage export of the day (`export`: DynamoDB → CSV → multipart upload into
 * s3rver, then the ledger and the month summary), or the baseline (`raw`: Query pagination
 * of the same day's records over the same index, with the same client, counting the items and
 * doing nothing else). The records are loaded by the engine process (support/engine-seed.ts). Prints one JSON line.
 *
 *   node bench/support/export-worker.ts '{"mode":"export","rows":100000,...}'
 */
import { callDayKey } from '../../functions/adapters/dynamodb/calls.ts';
import { makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { queryPages } from '../../functions/adapters/dynamodb/common.ts';
import { makeDynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { CALLS_BY_DAY_INDEX } from '../../functions/adapters/dynamodb/tables.ts';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { s3ExportFiles } from '../../functions/adapters/s3/export-files.ts';
import { exportDays, type WrittenFile } from '../../functions/services/exporter.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { xlsxFile } from '../../functions/adapters/xlsx.ts';
import { ACCOUNT, BUCKET, DAY, REQUEST_TIMEOUT_MS, TABLES } from './usage-records.ts';
import { startMetrics, type WorkerMetrics } from './worker-metrics.ts';

export interface ExportWorkerArgs {
  readonly mode: 'raw' | 'export';
  readonly rows: number;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint?: string;
  /** Write the .xlsx twin beside the CSV too, as the hourly export does. */
  readonly xlsx?: boolean;
}

export interface ExportWorkerResult extends WorkerMetrics {
  readonly mode: ExportWorkerArgs['mode'];
  readonly rows: number;
  /** Items read (raw) or rows written (export). */
  readonly items: number;
  readonly ms: number;
  readonly files?: readonly WrittenFile[];
}

const args = JSON.parse(process.argv[2] ?? '{}') as ExportWorkerArgs;
const client = makeDynamoClient({ endpoint: args.dynamodbEndpoint, requestTimeoutMs: REQUEST_TIMEOUT_MS });

const metrics = startMetrics(client);

async function raw(): Promise<{ items: number }> {
  let items = 0;
  for await (const page of queryPages(client, {
    TableName: TABLES.calls,
    IndexName: CALLS_BY_DAY_INDEX,
    KeyConditionExpression: '#day = :day',
    ExpressionAttributeNames: { '#day': 'day' },
    ExpressionAttributeValues: { ':day': { S: callDayKey(ACCOUNT, DAY) } },
  })) {
    items += page.length;
  }
  return { items };
}

async function runExport(): Promise<{ items: number; files: WrittenFile[] }> {
  if (args.s3Endpoint === undefined) throw new Error('export needs s3Endpoint');
  const stores = makeDynamoStores({ client, tables: TABLES });
  const s3 = makeS3Client({ endpoint: args.s3Endpoint });
  const files = await exportDays(
    {
      accounts: stores.accounts,
      usage: stores.calls,
      ledger: stores.exports,
      lock: stores.exports,
      files: s3ExportFiles(s3, BUCKET),
      ...(args.xlsx === true ? { spreadsheet: xlsxFile } : {}),
      now: () => new Date(),
      log: silentLogger,
      owner: 'bench',
    },
    ACCOUNT,
    [DAY],
  );
  s3.destroy();
  return { items: files.find((f) => f.kind === 'usage')?.rows ?? 0, files };
}

try {
  const t0 = performance.now();
  const run = args.mode === 'raw' ? await raw() : await runExport();
  const ms = performance.now() - t0;
  const result: ExportWorkerResult = {
    mode: args.mode,
    rows: args.rows,
    ...run,
    ms,
    ...metrics.finish(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  client.destroy();
  process.exit(0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
