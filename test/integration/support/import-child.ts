/**
 * The import function in a process of its own, so a test can kill it half way (SIGKILL: no
 * `finally`, no `catch`, exactly what Lambda does to a function at its timeout). It imports
 * the S3 event given in TOLLGATE_CHILD (JSON, {@link ImportChildJob}) with the real handler
 * over the test's dynalite and s3rver, on a clock that starts at the test's clock, then prints
 * one JSON line with the reports and exits.
 *
 *   TOLLGATE_CHILD='{…}' node test/integration/support/import-child.ts
 */
import { makeDynamoClient } from '../../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../../../functions/adapters/dynamodb/stores.ts';
import type { TableNames } from '../../../functions/adapters/dynamodb/tables.ts';
import { makeS3Client } from '../../../functions/adapters/s3/client.ts';
import { handleS3Event, s3Objects, type S3Event } from '../../../functions/handlers/import.ts';
import { silentLogger } from '../../../functions/services/logger.ts';

export interface ImportChildJob {
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  readonly tables: TableNames;
  readonly bucket: string;
  readonly pepper: string;
  /** The test clock's time when the child starts; the child's clock runs on from there. */
  readonly now: string;
  readonly event: S3Event;
}

if (import.meta.main) {
  const job = JSON.parse(process.env.TOLLGATE_CHILD ?? '') as ImportChildJob;
  const started = Date.now();
  const now = () => new Date(Date.parse(job.now) + (Date.now() - started));
  const client = makeDynamoClient({ endpoint: job.dynamodbEndpoint, requestTimeoutMs: 30_000 });
  const s3 = makeS3Client({ endpoint: job.s3Endpoint });
  const stores = makeDynamoStores({ client, tables: job.tables, now });
  const reports = await handleS3Event(
    {
      objects: s3Objects(s3, job.bucket),
      accounts: stores.accounts,
      users: stores.users,
      codes: stores.codes,
      ledger: stores.ledger,
      pepper: async () => job.pepper,
      now,
      log: silentLogger,
    },
    job.event,
  );
  process.stdout.write(`${JSON.stringify({ reports })}\n`);
  client.destroy();
  s3.destroy();
}
