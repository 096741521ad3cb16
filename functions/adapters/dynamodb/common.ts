/** What every DynamoDB store shares: its options, clock, error tests and Query paging. */
import { QueryCommand, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
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

export function errorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : undefined;
}

export function isConditionalCheckFailed(err: unknown): boolean {
  return errorName(err) === 'ConditionalCheckFailedException';
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

/** Every page of a Query, one request at a time, as the caller consumes them. */
export async function* queryPages(client: DynamoDBClient, input: QueryCommandInput): AsyncGenerator<Item[]> {
  let ExclusiveStartKey: Item | undefined;
  do {
    const out = await client.send(new QueryCommand({ ...input, ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}) }));
    yield out.Items ?? [];
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
}

/** Every item of a Query, streamed page by page. */
export async function* queryItems(client: DynamoDBClient, input: QueryCommandInput): AsyncGenerator<Item> {
  for await (const page of queryPages(client, input)) yield* page;
}
