/**
 * The usage export's ledger and lock, in the accounts table (see tables.ts):
 *
 *   EXPORT#<acct>  DAY#<YYYY-MM-DD>          a written day: key, rows, bytes, sha256, writtenAt, watermark,
 *                                            changes/changedAt (reported), changesWritten
 *   EXPORT#<acct>  TOTALS#<YYYY-MM-DD>#<n>   the day's per-code totals, JSON, in chunks of ≤ 300 KB
 *   EXPORT#<acct>  LOCK                      who exports the account now, and until when
 *
 * Totals are chunked because a busy day of a large firm can use thousands of codes, and an
 * item holds 400 KB at most. A month's summary is one Query over its days' chunks.
 */
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DayExport, ExportLedger, ExportLock } from '../../core/ports.ts';
import type { CodeTotals } from '../../core/usage.ts';
import { num, str, type Item } from './attributes.ts';
import { batchWrite, type BatchOptions } from './batch.ts';
import { isConditionalCheckFailed, queryItems, type StoreOptions } from './common.ts';

const pk = (account: string) => ({ S: `EXPORT#${account}` });
const DAY = 'DAY#';
const TOTALS = 'TOTALS#';
/** Leaves room under the 400 KB item limit for the keys and attribute names. */
const CHUNK_BYTES = 300_000;

type Tuple = [string, string, string, string, number, number, number, number, number];

function toTuple(t: CodeTotals): Tuple {
  return [t.key, t.code, t.description, t.kind, t.calls, t.talkS, t.billableMinutes, t.firstCall, t.lastCall];
}

function fromTuple(x: Tuple): CodeTotals {
  const [key, code, description, kind, calls, talkS, billableMinutes, firstCall, lastCall] = x;
  return { key, code, description, kind: kind as CodeTotals['kind'], calls, talkS, billableMinutes, firstCall, lastCall };
}

/** Totals as JSON arrays, split so each chunk stays under {@link CHUNK_BYTES}. */
export function chunkTotals(totals: readonly CodeTotals[], limit = CHUNK_BYTES): string[] {
  const chunks: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const t of totals) {
    const json = JSON.stringify(toTuple(t));
    const bytes = Buffer.byteLength(json, 'utf8') + 1;
    if (parts.length > 0 && size + bytes > limit) {
      chunks.push(`[${parts.join(',')}]`);
      parts = [];
      size = 2;
    }
    parts.push(json);
    size += bytes;
  }
  // A day with no calls still has one (empty) chunk: the day is written, with nothing to add.
  chunks.push(`[${parts.join(',')}]`);
  return chunks;
}

export class DynamoExportLedger implements ExportLedger, ExportLock {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly batch: BatchOptions;

  constructor(options: StoreOptions) {
    this.client = options.client;
    this.table = options.tables.accounts;
    this.batch = options.batch ?? {};
  }

  async days(account: string): Promise<Map<string, DayExport>> {
    const days = new Map<string, DayExport>();
    for await (const item of queryItems(this.client, {
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :day)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': pk(account), ':day': { S: DAY } },
      ConsistentRead: true,
    })) {
      const mark = toDayExport(item);
      if (mark !== undefined) days.set(mark.day, mark);
    }
    return days;
  }

  /**
   * The totals first, then the stale chunks of an earlier, longer write are removed, then the
   * day's entry: once the entry says the day is written, its totals are in place.
   */
  async putDay(account: string, mark: DayExport, totals: readonly CodeTotals[]): Promise<void> {
    const chunks = chunkTotals(totals);
    const prefix = `${TOTALS}${mark.day}#`;
    await batchWrite(
      this.client,
      this.table,
      chunks.map((t, n) => ({ PutRequest: { Item: { pk: pk(account), sk: { S: `${prefix}${n}` }, t: { S: t } } } })),
      this.batch,
    );
    const stale: string[] = [];
    for await (const item of queryItems(this.client, {
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': pk(account), ':prefix': { S: prefix } },
      ProjectionExpression: '#sk',
      ConsistentRead: true,
    })) {
      const sk = str(item, 'sk') ?? '';
      if (Number(sk.slice(prefix.length)) >= chunks.length) stale.push(sk);
    }
    if (stale.length > 0) {
      await batchWrite(
        this.client,
        this.table,
        stale.map((sk) => ({ DeleteRequest: { Key: { pk: pk(account), sk: { S: sk } } } })),
        this.batch,
      );
    }
    // An update, not a put: a change reported (`changedAt`) while the day was being written
    // stays, so the next run writes the day again.
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: pk(account), sk: { S: `${DAY}${mark.day}` } },
        // Every name aliased: no attribute can collide with DynamoDB's reserved words.
        UpdateExpression: 'SET #key = :key, #rows = :rows, #bytes = :bytes, #sha = :sha, #written = :written, #watermark = :watermark, #chunks = :chunks, #seen = :seen',
        ExpressionAttributeNames: {
          '#key': 'key',
          '#rows': 'rows',
          '#bytes': 'bytes',
          '#sha': 'sha256',
          '#written': 'writtenAt',
          '#watermark': 'watermark',
          '#chunks': 'chunks',
          '#seen': 'changesWritten',
        },
        ExpressionAttributeValues: {
          ':key': { S: mark.key },
          ':rows': { N: String(mark.rows) },
          ':bytes': { N: String(mark.bytes) },
          ':sha': { S: mark.sha256 },
          ':written': { S: mark.writtenAt },
          ':watermark': { S: mark.watermark },
          ':chunks': { N: String(chunks.length) },
          ':seen': { N: String(mark.changesWritten ?? 0) },
        },
      }),
    );
  }

  async *monthTotals(account: string, month: string): AsyncGenerator<CodeTotals> {
    for await (const item of queryItems(this.client, {
      TableName: this.table,
      // `TOTALS#2026-03-` … `TOTALS#2026-03-31#…`: every chunk of every day of the month.
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :month)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': pk(account), ':month': { S: `${TOTALS}${month}-` } },
      ConsistentRead: true,
    })) {
      const json = str(item, 't');
      if (json === undefined) continue;
      for (const tuple of JSON.parse(json) as Tuple[]) yield fromTuple(tuple);
    }
  }

  async markChanged(account: string, day: string, at: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: pk(account), sk: { S: `${DAY}${day}` } },
          // A count, so that noticing the change needs no clock; the time for the index's lag.
          UpdateExpression: 'SET #at = :at ADD #changes :one',
          // Only a written day: an unwritten one will be written anyway.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#at': 'changedAt', '#changes': 'changes', '#pk': 'pk' },
          ExpressionAttributeValues: { ':at': { S: at }, ':one': { N: '1' } },
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  async acquire(account: string, owner: string, now: string, until: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { pk: pk(account), sk: { S: 'LOCK' }, owner: { S: owner }, until: { S: until } },
          ConditionExpression: 'attribute_not_exists(#pk) OR #owner = :owner OR #until < :now',
          ExpressionAttributeNames: { '#pk': 'pk', '#owner': 'owner', '#until': 'until' },
          ExpressionAttributeValues: { ':owner': { S: owner }, ':now': { S: now } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  async release(account: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: pk(account), sk: { S: 'LOCK' } },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': { S: owner } },
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }
}

function toDayExport(item: Item): DayExport | undefined {
  const day = str(item, 'sk')?.slice(DAY.length);
  const key = str(item, 'key');
  const sha256 = str(item, 'sha256');
  const writtenAt = str(item, 'writtenAt');
  const watermark = str(item, 'watermark');
  if (day === undefined || key === undefined || sha256 === undefined || writtenAt === undefined || watermark === undefined) return undefined;
  const changedAt = str(item, 'changedAt');
  return {
    day,
    key,
    rows: num(item, 'rows') ?? 0,
    bytes: num(item, 'bytes') ?? 0,
    sha256,
    writtenAt,
    watermark,
    changes: num(item, 'changes') ?? 0,
    changesWritten: num(item, 'changesWritten') ?? 0,
    ...(changedAt === undefined ? {} : { changedAt }),
  };
}
