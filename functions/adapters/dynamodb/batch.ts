/**
 * BatchWriteItem and BatchGetItem done right, once: split into the API's limits (25 writes,
 * 100 keys), never two requests for one key in a batch (DynamoDB rejects the whole batch),
 * a bounded number of batches in flight, and unprocessed items retried with exponential
 * backoff and full jitter until a limit, then a loud error. Every store uses these.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type AttributeValue,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { Item } from './attributes.ts';

export const MAX_BATCH_WRITE = 25;
export const MAX_BATCH_GET = 100;

export interface BatchOptions {
  /** Batches in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Requests per batch, the first included, before giving up on unprocessed items. @default 8 */
  readonly maxAttempts?: number;
  /** Backoff before retry n is random() × min(maxDelayMs, baseDelayMs × 2^(n-1)). @default 25 */
  readonly baseDelayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
  /** Injectable for tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests; must return [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Attributes that make up the table's primary key. @default ['pk', 'sk'] */
  readonly keyAttributes?: readonly string[];
}

export interface BatchStats {
  /** Items written or keys asked for, after removing duplicates. */
  readonly items: number;
  /** BatchWriteItem/BatchGetItem requests sent, retries included. */
  readonly requests: number;
  /** Of those, retries of unprocessed items. */
  readonly retries: number;
}

/** Unprocessed items were still left after the last attempt. */
export class BatchIncompleteError extends Error {
  override readonly name = 'BatchIncompleteError';
  readonly table: string;
  readonly operation: 'BatchWriteItem' | 'BatchGetItem';
  readonly unprocessed: number;
  readonly attempts: number;
  constructor(operation: 'BatchWriteItem' | 'BatchGetItem', table: string, unprocessed: number, attempts: number) {
    super(
      `${operation} on ${table}: ${unprocessed} item(s) still unprocessed after ${attempts} attempts ` +
        '(the table is throttled or over capacity); nothing was rolled back, the operation is safe to repeat',
    );
    this.table = table;
    this.operation = operation;
    this.unprocessed = unprocessed;
    this.attempts = attempts;
  }
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Resolved {
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly keyAttributes: readonly string[];
}

function resolve(o: BatchOptions): Resolved {
  const r: Resolved = {
    concurrency: o.concurrency ?? 4,
    maxAttempts: o.maxAttempts ?? 8,
    baseDelayMs: o.baseDelayMs ?? 25,
    maxDelayMs: o.maxDelayMs ?? 2_000,
    sleep: o.sleep ?? realSleep,
    random: o.random ?? Math.random,
    keyAttributes: o.keyAttributes ?? ['pk', 'sk'],
  };
  if (!(r.concurrency >= 1) || !(r.maxAttempts >= 1)) throw new RangeError('batch concurrency and maxAttempts must be at least 1');
  return r;
}

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export function backoffDelay(retry: number, o: Pick<Resolved, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  return o.random() * Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (retry - 1));
}

function keyString(key: Item, keyAttributes: readonly string[]): string {
  return JSON.stringify(keyAttributes.map((a) => key[a] ?? null));
}

function requestKey(req: WriteRequest, keyAttributes: readonly string[]): string {
  const key = req.PutRequest?.Item ?? req.DeleteRequest?.Key;
  if (key === undefined) throw new TypeError('a write request needs PutRequest.Item or DeleteRequest.Key');
  return keyString(key, keyAttributes);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Run `work` over the chunks with at most `concurrency` at once; the first failure stops new work. */
async function pool<T>(chunks: readonly T[], concurrency: number, work: (c: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < chunks.length) {
      const c = chunks[next++] as T;
      try {
        await work(c);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/**
 * Write puts and deletes to one table. When several requests name the same key the last one
 * wins, as if they had been applied in order; so the result is the same whatever batch each
 * lands in or how the batches interleave.
 */
export async function batchWrite(client: DynamoDBClient, table: string, requests: readonly WriteRequest[], options: BatchOptions = {}): Promise<BatchStats> {
  const o = resolve(options);
  const byKey = new Map<string, WriteRequest>();
  for (const req of requests) {
    const k = requestKey(req, o.keyAttributes);
    byKey.delete(k); // re-insert so the map keeps the order of last occurrence
    byKey.set(k, req);
  }
  let sent = 0;
  let retries = 0;
  await pool(chunk([...byKey.values()], MAX_BATCH_WRITE), o.concurrency, async (batch) => {
    let pending: WriteRequest[] = batch;
    for (let attempt = 1; ; attempt++) {
      sent++;
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] ?? [];
      if (pending.length === 0) return;
      if (attempt >= o.maxAttempts) throw new BatchIncompleteError('BatchWriteItem', table, pending.length, attempt);
      retries++;
      await o.sleep(backoffDelay(attempt, o));
    }
  });
  return { items: byKey.size, requests: sent, retries };
}

export interface BatchGetOptions extends BatchOptions {
  readonly consistentRead?: boolean;
}

/**
 * One BatchGetItem across tables (at most 100 keys in all), retrying unprocessed keys with
 * backoff. A webhook's reads of several tables cost one round trip this way.
 */
export async function batchGetTables(
  client: DynamoDBClient,
  request: Readonly<Record<string, KeysAndAttributes>>,
  options: BatchOptions = {},
): Promise<{ readonly items: Record<string, Item[]>; readonly requests: number }> {
  const o = resolve(options);
  const items: Record<string, Item[]> = {};
  let pending: Record<string, KeysAndAttributes> | undefined = { ...request };
  for (let attempt = 1; ; attempt++) {
    const out: BatchGetItemCommandOutput = await client.send(new BatchGetItemCommand({ RequestItems: pending }));
    for (const [table, got] of Object.entries(out.Responses ?? {})) (items[table] ??= []).push(...got);
    pending = out.UnprocessedKeys;
    const left = Object.values(pending ?? {}).reduce((n, k) => n + (k.Keys?.length ?? 0), 0);
    if (left === 0) return { items, requests: attempt };
    if (attempt >= o.maxAttempts) throw new BatchIncompleteError('BatchGetItem', Object.keys(pending ?? {}).join(', '), left, attempt);
    await o.sleep(backoffDelay(attempt, o));
  }
}

/**
 * Fetch items by key from one table, duplicates asked once. Items come back in no particular
 * order (as BatchGetItem returns them); keys with no item are simply absent.
 */
export async function batchGet(
  client: DynamoDBClient,
  table: string,
  keys: readonly Record<string, AttributeValue>[],
  options: BatchGetOptions = {},
): Promise<{ readonly items: Item[]; readonly stats: BatchStats }> {
  const o = resolve(options);
  const unique = new Map<string, Item>();
  for (const key of keys) unique.set(keyString(key, o.keyAttributes), key);
  const items: Item[] = [];
  let sent = 0;
  await pool(chunk([...unique.values()], MAX_BATCH_GET), o.concurrency, async (batch) => {
    const out = await batchGetTables(client, { [table]: { Keys: batch, ...(options.consistentRead ? { ConsistentRead: true } : {}) } }, options);
    sent += out.requests;
    items.push(...(out.items[table] ?? []));
  });
  return { items, stats: { items: unique.size, requests: sent, retries: sent - Math.ceil(unique.size / MAX_BATCH_GET) } };
}
