/** What every DynamoDB store shares: its options, clock, error tests and Query paging. */
import { GetItemCommand, paginateQuery, paginateScan, type DynamoDBClient, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import type { Item } from './attributes.ts';
import type { BatchOptions } from './batch.ts';
import type { TableNames } from './tables.ts';

export interface StoreOptions {
  readonly client: DynamoDBClient;
  readonly tables: TableNames;
  /** The clock TTL filtering and `updatedAt` read. @default () => new Date() */
  readonly now?: () => Date;
  /** Concurrency and retry of batch writes and gets. */
  readonly batch?: BatchOptions;
}

export const systemClock = (): Date => new Date();

import { errorName } from './errors.ts';

export { errorName };

export function isConditionalCheckFailed(err: unknown): boolean {
  return errorName(err) === 'ConditionalCheckFailedException';
}

/**
 * True when the SDK sent the request more than once before this error. A conditional write
 * that fails its condition on a retry may have failed against itself: the first attempt
 * landed, its answer was lost (a timeout, a dropped connection), and the retry found the item
 * already changed. Stores that write conditionally tag each write with an id and read it back
 * in that case (see {@link isOwnWrite}).
 */
export function wasRetried(err: unknown): boolean {
  const attempts = (err as { $metadata?: { attempts?: unknown } } | null)?.$metadata?.attempts;
  return typeof attempts === 'number' && attempts > 1;
}

/** The attribute a conditional write stores its id in, so the writer can recognise its own write. */
export const WRITE_ID_ATTRIBUTE = 'writeId';

/**
 * After a conditional write failed on a retry: is the stored item the one this write put?
 * One strongly consistent read of the write id, only on that rare path.
 */
export async function isOwnWrite(client: DynamoDBClient, table: string, key: Item, writeId: string): Promise<boolean> {
  const out = await client.send(
    new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true, ProjectionExpression: '#w', ExpressionAttributeNames: { '#w': WRITE_ID_ATTRIBUTE } }),
  );
  return out.Item?.[WRITE_ID_ATTRIBUTE]?.S === writeId;
}

export function epochSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/**
 * True when the item's TTL has passed. DynamoDB deletes expired items up to two days late and
 * dynalite never does, so every read of a TTL table goes through this.
 */
export function isExpired(item: Item, now: Date, ttlAttribute = 'expiresAt'): boolean {
  const n = item[ttlAttribute]?.N;
  return n !== undefined && Number(n) <= epochSeconds(now);
}

/** Every page of a Query (the SDK's paginator), one request at a time, as the caller consumes them. */
export async function* queryPages(client: DynamoDBClient, input: QueryCommandInput): AsyncGenerator<Item[]> {
  for await (const page of paginateQuery({ client }, input)) yield page.Items ?? [];
}

/** Every item a Scan finds (the SDK's paginator), page by page. */
export async function* scanItems(client: DynamoDBClient, input: ScanCommandInput): AsyncGenerator<Item> {
  for await (const page of paginateScan({ client }, input)) yield* page.Items ?? [];
}

/** Every item of a Query, streamed page by page. */
export async function* queryItems(client: DynamoDBClient, input: QueryCommandInput): AsyncGenerator<Item> {
  for await (const page of queryPages(client, input)) yield* page;
}
