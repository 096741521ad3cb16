/**
 * The import path end to end, on loopback: dynalite and s3rver in a temp directory, the bucket
 * and fresh tables, ImporterDeps over them (fixed pepper, a test clock, a captured logger), and
 * s3rver's object events under `imports/` forwarded to the real `handleS3Event`.
 *
 * s3rver sends keys raw; real S3 URL-encodes them (space as `+`) and the handler decodes like
 * S3, so events are encoded the S3 way before they are delivered.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { makeS3Client } from '../../../functions/adapters/s3/client.ts';
import type { Item } from '../../../functions/adapters/dynamodb/attributes.ts';
import { handleS3Event, s3Objects, type S3Event, type S3EventRecord } from '../../../functions/handlers/import.ts';
import type { CodeItem } from '../../../functions/core/ports.ts';
import type { ImportCodeStore, ImporterDeps, ImportReport } from '../../../functions/services/importer.ts';
import { recordingLogger } from '../../support/logs.ts';
import { ensureBucket, startS3rver } from '../../../local/emulators.ts';
import { makeStorageEnv, startDynalite, type StorageEnv } from './dynamo.ts';

export const TEST_BUCKET = 'tollgate-test';
export const TEST_PEPPER = 'integration-test-pepper-0f3a9c';
/** How long an upload may take to be imported before the test fails. */
const IMPORT_DEADLINE_MS = 20_000;

/** A key as S3 writes it into an event notification: URL-encoded, space as `+`, `/` kept. */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+');
}

export interface ImportHarnessOptions {
  /** Wrap the code store, e.g. to inject a crash. */
  readonly codes?: (store: ImportCodeStore) => ImportCodeStore;
  /**
   * Hand each upload's event to the handler at once (the default). When false, events are only
   * recorded (`events`, `lastEvent`) for the test to deliver itself, e.g. through SQS.
   */
  readonly forward?: boolean;
}

export interface ImportHarness {
  readonly bucket: string;
  readonly s3: S3Client;
  readonly storage: StorageEnv;
  readonly deps: ImporterDeps;
  /** Every line the importer logged, as written. */
  readonly logs: string[];
  /** Every event forwarded to the handler (S3-encoded), in order. */
  readonly events: S3Event[];
  /** Put an object under its key and resolve with the reports once its import has finished. */
  upload(key: string, body: string | Uint8Array): Promise<ImportReport[]>;
  /** Deliver an event (again) to the real handler, as S3 or SQS would. */
  deliver(event: S3Event): Promise<ImportReport[]>;
  /** The last event forwarded for an upload of this key by the test (not for a redacted copy the import wrote). */
  lastEvent(key: string): S3Event;
  /** The account's codes, as the store lists them (key order). */
  codes(account: string): Promise<CodeItem[]>;
  /** Every item of the codes table, raw, sorted by pk and sk. */
  scanCodesTable(): Promise<Item[]>;
  /** Keys of the reports under `results/<account>/`. */
  reportKeys(account: string): Promise<string[]>;
  /** A report as stored in the bucket. */
  readReport(key: string): Promise<unknown>;
  close(): Promise<void>;
}

interface Waiter {
  resolve(result: Promise<ImportReport[]>): void;
}

export async function startImportHarness(options: ImportHarnessOptions = {}): Promise<ImportHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-import-'));
  const dynalite = await startDynalite();
  const storage = await makeStorageEnv(dynalite.endpoint, { onClose: () => dynalite.close() });
  const s3rver = await startS3rver({ directory: join(dir, 's3') });
  const s3 = makeS3Client({ endpoint: s3rver.endpoint });
  await ensureBucket(s3, TEST_BUCKET);

  const logs: string[] = [];
  const deps: ImporterDeps = {
    objects: s3Objects(s3, TEST_BUCKET),
    accounts: storage.stores.accounts,
    users: storage.stores.users,
    codes: options.codes === undefined ? storage.stores.codes : options.codes(storage.stores.codes),
    ledger: storage.stores.ledger,
    pepper: async () => TEST_PEPPER,
    now: storage.clock,
    log: recordingLogger('tollgate-import-test', logs),
  };

  const events: S3Event[] = [];
  /** ETags of the uploads the test made, to tell its events from those of the redacted copies the import writes. */
  const uploaded = new Set<string>();
  const waiters = new Map<string, Waiter[]>();
  const deliver = (event: S3Event): Promise<ImportReport[]> => {
    // Each delivery happens a second after the last, so report names (second resolution) differ.
    storage.clock.advance(1000);
    return handleS3Event(deps, event);
  };

  s3rver.server.on('event', (raw) => {
    for (const record of raw.Records as S3EventRecord[]) {
      const key = record.s3?.object?.key;
      if (key === undefined || !key.startsWith('imports/')) continue;
      // s3rver's principal is random; the local stack drops it as here.
      const { userIdentity: _random, ...rest } = record;
      const event: S3Event = {
        Records: [{ ...rest, s3: { ...record.s3, object: { ...record.s3?.object, key: encodeS3Key(key) } } }],
      };
      events.push(event);
      if (options.forward === false) continue;
      const result = deliver(event);
      // A failure belongs to the test that awaits it; never an unhandled rejection meanwhile.
      result.catch(() => undefined);
      const queue = waiters.get(key);
      const waiter = queue?.shift();
      if (waiter !== undefined) waiter.resolve(result);
    }
  });

  const harness: ImportHarness = {
    bucket: TEST_BUCKET,
    s3,
    storage,
    deps,
    logs,
    events,
    async upload(key, body) {
      let timer: NodeJS.Timeout | undefined;
      const imported =
        key.startsWith('imports/') && options.forward !== false
          ? new Promise<ImportReport[]>((resolve, reject) => {
              const queue = waiters.get(key) ?? [];
              queue.push({ resolve });
              waiters.set(key, queue);
              timer = setTimeout(() => reject(new Error(`no import of ${key} finished within ${IMPORT_DEADLINE_MS} ms`)), IMPORT_DEADLINE_MS);
            })
          : Promise.resolve([]);
      try {
        const put = await s3.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: key, Body: body }));
        if (put.ETag !== undefined) uploaded.add(put.ETag.replace(/"/g, ''));
        return await imported;
      } finally {
        clearTimeout(timer);
      }
    },
    deliver,
    lastEvent(key) {
      const encoded = encodeS3Key(key);
      const found = events.findLast((e) => e.Records?.[0]?.s3?.object?.key === encoded && uploaded.has(String(e.Records[0].s3?.object?.eTag ?? '').replace(/"/g, '')));
      if (found === undefined) throw new Error(`no event was forwarded for ${key}`);
      return found;
    },
    async codes(account) {
      const out: CodeItem[] = [];
      for await (const code of storage.stores.codes.listCodes(account)) out.push(code);
      return out;
    },
    async scanCodesTable() {
      const items: Item[] = [];
      let ExclusiveStartKey: Item | undefined;
      do {
        const out = await storage.client.send(new ScanCommand({ TableName: storage.tables.codes, ConsistentRead: true, ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}) }));
        items.push(...(out.Items ?? []));
        ExclusiveStartKey = out.LastEvaluatedKey;
      } while (ExclusiveStartKey !== undefined);
      const id = (i: Item) => `${i.pk?.S ?? ''}\u0000${i.sk?.S ?? ''}`;
      return items.sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
    },
    async reportKeys(account) {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: `results/${account}/` }));
      return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
    },
    async readReport(key) {
      const out = await s3.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
      return JSON.parse((await out.Body?.transformToString('utf-8')) ?? 'null') as unknown;
    },
    async close() {
      s3.destroy();
      try {
        await s3rver.close();
        await storage.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return harness;
}

/** A settings.json body for an account, with the groups the CSV fixtures name. */
export function settingsJson(account: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    {
      account,
      twilioAccountSids: [`AC${Buffer.from(account).toString('hex').padEnd(32, '0').slice(0, 32)}`],
      homeCountry: 'US',
      timeZone: 'America/New_York',
      codeLength: { min: 4, max: 8 },
      groups: { staff: {}, lawyers: { calls: { default: 'required' } }, interns: { calls: { international: 'blocked' } } },
      defaultGroup: 'staff',
      ...extra,
    },
    null,
    2,
  );
}

/** Excel's line ends: CRLF after every line, the last one included. */
export const crlf = (lines: readonly string[]): string => lines.map((l) => `${l}\r\n`).join('');
