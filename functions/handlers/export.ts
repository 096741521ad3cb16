/**
 * The export function: EventBridge Scheduler invokes it every hour (docs/design.md, docs/data-model.md) and it writes
 * the usage files that are due or out of date; a run that ran out of time invokes it again
 * through its continuation queue. The schedule's payload carries nothing the run
 * needs; the function works out what is due from the ledger and the clock, so a late, repeated
 * or missed invocation only moves the work to another hour.
 *
 * A failed account fails the invocation (after every other account is done), so the
 * asynchronous invocation is retried and the error metric raises the alarm; the work already
 * done is not redone, because the ledger records each day as it is written.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { makeDynamoClient } from '../adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../adapters/dynamodb/stores.ts';
import { s3ExportFiles } from '../adapters/s3/export-files.ts';
import { makeS3Client } from '../adapters/s3/client.ts';
import { bucketConfig, exportQueueUrl, storageConfig, type Env } from '../config.ts';
import { runScheduledExport, type ExporterDeps, type ExportRun } from '../services/exporter.ts';
import { xlsxFile } from '../adapters/xlsx.ts';
import type { Logger } from '../core/ports.ts';
import { deployedFunction } from './lambda.ts';

/** The bits of the Lambda context the run uses. */
export interface ExportContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

export class ExportFailedError extends Error {
  override readonly name = 'ExportFailedError';
  readonly accounts: readonly string[];
  constructor(accounts: readonly string[], cause: unknown) {
    super(`the usage export failed for ${accounts.length} account(s): ${accounts.join(', ')}`, { cause });
    this.accounts = accounts;
  }
}

/**
 * Stop starting new days when less than this is left of the invocation: the largest day
 * measured (1,000,000 calls) takes under two minutes.
 */
export const TIME_RESERVE_MS = 180_000;

/** Asks for another invocation at once (AWS: a message on the export's continuation queue). */
export type ContinueExport = () => Promise<void>;

/**
 * The handler over its dependencies (`owner` is set per invocation from the request id). The
 * schedule's event and a continuation message start the same run: what is due comes from the
 * ledger and the clock. A run out of time stops between days and, with `continueLater`, asks
 * for a new invocation to carry on at once rather than at the next hour.
 */
export function makeExportHandler(deps: Omit<ExporterDeps, 'owner'>, continueLater?: ContinueExport): (event: unknown, context?: ExportContext) => Promise<ExportRun> {
  return async (_event, context) => {
    const owner = `lambda:${context?.awsRequestId ?? randomUUID()}`;
    const remaining = context?.getRemainingTimeInMillis?.bind(context);
    const result = await runScheduledExport({ ...deps, owner }, { shouldStop: () => remaining !== undefined && remaining() < TIME_RESERVE_MS });
    if (continueLater !== undefined && result.accounts.some((a) => a.status === 'stopped')) {
      deps.log.info('usage export continues in a new invocation', { accounts: result.accounts.filter((a) => a.status === 'stopped').map((a) => a.account) });
      await continueLater();
    }
    if (result.failed.length > 0) {
      const first = result.accounts.find((a) => a.status === 'failed')?.error;
      throw new ExportFailedError(result.failed, first);
    }
    return result;
  };
}

function awsDeps(env: Env, log: Logger): Omit<ExporterDeps, 'owner'> {
  const storage = storageConfig(env);
  const { bucket, s3Endpoint } = bucketConfig(env);
  const stores = makeDynamoStores({
    // A day is read page by page with a generous timeout: no caller is waiting on a phone line.
    client: makeDynamoClient({ ...(storage.dynamodbEndpoint === undefined ? {} : { endpoint: storage.dynamodbEndpoint }), requestTimeoutMs: 30_000 }),
    tables: storage.tables,
  });
  return {
    accounts: stores.accounts,
    usage: stores.calls,
    ledger: stores.exports,
    lock: stores.exports,
    files: s3ExportFiles(makeS3Client(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint }), bucket),
    spreadsheet: xlsxFile,
    now: () => new Date(),
    log,
  };
}

/** A message on the continuation queue, which invokes the function again. */
export function sqsContinueExport(sqs: SQSClient, queueUrl: string): ContinueExport {
  return async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ source: 'tollgate.continue' }) }));
  };
}

/** The deployed export function: the export over AWS clients. */
const deployed = deployedFunction<unknown, ExportRun>('tollgate-export', (env, log) =>
  makeExportHandler(awsDeps(env, log), sqsContinueExport(new SQSClient({}), exportQueueUrl(env))),
);
export const handler = deployed.handler;
export const deployedHandler = deployed.build;
