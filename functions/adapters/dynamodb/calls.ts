/**
 * Calls table: the state and usage record of a call in one item keyed by CallSid (a webhook
 * is one consistent read and one conditional write), and lockout records. Items carry the
 * TTL attribute `expiresAt`; every read treats an expired item as absent.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type DynamoDBClient,
  type PutItemCommandInput,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { CallState, UsageRecord } from '../../core/call-state.ts';
import { normalizeIdentity } from '../../core/codes.ts';
import { isLockedOut, type LockoutRecord } from '../../core/lockout.ts';
import type { CallStore, LockoutStore, StoredCall, StoredCallState, UsageSource } from '../../core/ports.ts';
import { localDate } from '../../core/time.ts';
import { fromItem, num, str, toItem, type Item } from './attributes.ts';
import { storedCall } from './stored.ts';
import { randomUUID } from 'node:crypto';
import { epochSeconds, isConditionalCheckFailed, isExpired, isOwnWrite, queryPages, scanItems, systemClock, wasRetried, WRITE_ID_ATTRIBUTE, type StoreOptions } from './common.ts';
import { CALLS_BY_DAY_INDEX, TTL_ATTRIBUTE } from './tables.ts';
import { backoffDelay } from './batch.ts';

/** Attributes the store adds to a call's fields. */
const STORAGE_ATTRS: ReadonlySet<string> = new Set(['pk', 'day', 'startKey', TTL_ATTRIBUTE, 'updatedAt', 'revision', WRITE_ID_ATTRIBUTE]);
const DAY = 86_400_000;

export interface CallStoreOptions extends StoreOptions {
  /** How long a usage record is kept after the call started. @default 400 (a year of monthly summaries, and some) */
  readonly usageRetentionDays?: number;
}

export type { StoredCall };

/** The `day` GSI key: one account's local day. */
export function callDayKey(account: string, day: string): string {
  return `${account}#${day}`;
}

/**
 * `put` is one conditional PutItem on the item's `revision`: every write names the revision
 * it read, so of two writes from the same read exactly one lands (a retried webhook counts
 * once; a dial result and a status callback arriving together do not erase each other). The
 * loser reads again and decides again. A write whose answer was lost and which the SDK sent
 * again is recognised by its write id, so it still counts as the winner: its webhook's alerts
 * and lockout counting happen once, not never.
 */
export class DynamoCallStore implements CallStore, UsageSource {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly now: () => Date;
  private readonly retentionMs: number;

  constructor(options: CallStoreOptions) {
    this.client = options.client;
    this.table = options.tables.calls;
    this.now = options.now ?? systemClock;
    this.retentionMs = (options.usageRetentionDays ?? 400) * DAY;
  }

  async get(callSid: string): Promise<StoredCallState | undefined> {
    // Strongly consistent: the next webhook of a call can arrive milliseconds after the last write.
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: callSid } }, ConsistentRead: true }));
    return toStoredCall(out.Item, this.now());
  }

  async put(state: CallState, options: { readonly expectedRevision: number | undefined; readonly timeZone: string }): Promise<number | undefined> {
    const now = this.now();
    const revision = (options.expectedRevision ?? 0) + 1;
    const writeId = randomUUID();
    const item = { ...callItem(state, { timeZone: options.timeZone, now, revision, retentionMs: this.retentionMs }), [WRITE_ID_ATTRIBUTE]: { S: writeId } };
    const condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> =
      options.expectedRevision === undefined
        ? // A new call; an expired leftover under the same CallSid does not count.
          {
            ConditionExpression: 'attribute_not_exists(pk) OR #exp <= :now',
            ExpressionAttributeNames: { '#exp': TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ':now': { N: String(epochSeconds(now)) } },
          }
        : {
            ConditionExpression: '#rev = :expected',
            ExpressionAttributeNames: { '#rev': 'revision' },
            ExpressionAttributeValues: { ':expected': { N: String(options.expectedRevision) } },
          };
    try {
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: item, ...condition }));
      return revision;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      if (wasRetried(err) && (await isOwnWrite(this.client, this.table, { pk: { S: state.callSid } }, writeId))) return revision;
      return undefined;
    }
  }

  /**
   * One account's calls of one local day (`YYYY-MM-DD`) in start order, for the usage export.
   * Reads the `byDay` index, which DynamoDB keeps eventually consistent: the export waits
   * `exportDelayMinutes` after the day ends anyway.
   */
  async *callsOfDay(account: string, day: string): AsyncGenerator<StoredCall> {
    const now = this.now();
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: CALLS_BY_DAY_INDEX,
      KeyConditionExpression: '#day = :day',
      ExpressionAttributeNames: { '#day': 'day' },
      ExpressionAttributeValues: { ':day': { S: callDayKey(account, day) } },
    };
    // One page read ahead: the next request is under way while this page's rows are written
    // out, so a day streams at the pace of the slower of the two, not of both added up. At
    // most two pages (1 MB each) are held.
    const page = (ExclusiveStartKey: Item | undefined) => this.client.send(new QueryCommand({ ...input, ...(ExclusiveStartKey === undefined ? {} : { ExclusiveStartKey }) }));
    let next: Promise<QueryCommandOutput> | undefined = page(undefined);
    while (next !== undefined) {
      const out: QueryCommandOutput = await next;
      next = out.LastEvaluatedKey === undefined ? undefined : page(out.LastEvaluatedKey);
      // Settled here too, so a failing read-ahead is not an unhandled rejection if the consumer stops early.
      next?.catch(() => undefined);
      for (const item of out.Items ?? []) {
        if (isExpired(item, now)) continue;
        yield { state: storedCall(fromItem(item, STORAGE_ATTRS)), updatedAt: str(item, 'updatedAt') ?? '' };
      }
    }
  }

  /**
   * Was any call of the day written after `since`? A filtered Query of the day that stops at
   * the first hit: it still reads the day's items (the filter runs after the read), but
   * returns only keys.
   */
  async changedSince(account: string, day: string, since: string): Promise<boolean> {
    for await (const page of queryPages(this.client, {
      TableName: this.table,
      IndexName: CALLS_BY_DAY_INDEX,
      KeyConditionExpression: '#day = :day',
      FilterExpression: '#updated > :since',
      ProjectionExpression: 'pk',
      ExpressionAttributeNames: { '#day': 'day', '#updated': 'updatedAt' },
      ExpressionAttributeValues: { ':day': { S: callDayKey(account, day) }, ':since': { S: since } },
    })) {
      if (page.length > 0) return true;
    }
    return false;
  }

  /** Does the day have a call? One Query of one item. */
  async hasCalls(account: string, day: string): Promise<boolean> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: CALLS_BY_DAY_INDEX,
        KeyConditionExpression: '#day = :day',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: { ':day': { S: callDayKey(account, day) } },
        ProjectionExpression: 'pk',
        Limit: 1,
      }),
    );
    return (out.Items ?? []).length > 0;
  }
}

/**
 * A call's item as `put` stores it: the state, its day key and start-order key for the `byDay`
 * index, the TTL, when it was written and its revision. Exported for tools that load usage
 * records in bulk (the export benchmark).
 */
export function callItem(state: CallState, options: { readonly timeZone: string; readonly now: Date; readonly revision: number; readonly retentionMs?: number }): Item {
  const started = new Date(state.startedAt);
  if (Number.isNaN(started.getTime())) throw new RangeError(`call ${state.callSid}: startedAt is not an instant: ${state.startedAt}`);
  return {
    ...toItem(state),
    pk: { S: state.callSid },
    day: { S: callDayKey(state.account, localDate(started, options.timeZone)) },
    startKey: { S: `${state.startedAt}#${state.callSid}` },
    [TTL_ATTRIBUTE]: { N: String(epochSeconds(new Date(started.getTime() + (options.retentionMs ?? 400 * DAY)))) },
    updatedAt: { S: options.now.toISOString() },
    revision: { N: String(options.revision) },
  };
}

/** A stored lockout record, or undefined when there is none or it has expired. */
export function toLockout(item: Item | undefined, now: Date): LockoutRecord | undefined {
  if (item === undefined || isExpired(item, now)) return undefined;
  const windowStart = str(item, 'windowStart');
  const failures = num(item, 'failures');
  if (windowStart === undefined || failures === undefined) return undefined;
  const lockedUntil = str(item, 'lockedUntil');
  return { windowStart, failures, ...(lockedUntil === undefined ? {} : { lockedUntil }) };
}

/** A stored call, or undefined when there is none or it has expired. */
export function toStoredCall(item: Item | undefined, now: Date): StoredCallState | undefined {
  if (item === undefined || isExpired(item, now)) return undefined;
  return { state: storedCall(fromItem(item, STORAGE_ATTRS)), revision: num(item, 'revision') ?? 0 };
}

/**
 * A call as a stream image of the calls table holds it (docs/events.md): the record, or
 * undefined for an image that is no call (a lockout record shares the table).
 */
export function callFromImage(item: Item | undefined): UsageRecord | undefined {
  if (item === undefined || (str(item, 'pk') ?? '').startsWith('LOCK#') || item.callSid === undefined) return undefined;
  return storedCall(fromItem(item, STORAGE_ATTRS));
}

/** `lockout.windowMinutes` can be at most a day (settings schema). */
const MAX_WINDOW_MS = 1440 * 60_000;

export const lockKey = (account: string, user: string) => ({ pk: { S: `LOCK#${account}#${normalizeIdentity(user)}` } });

/**
 * Lockout records, one per user. The record stops mattering once it is unlocked and its
 * counting window has passed; the store does not know the account's window, so it keeps the
 * record for the longest window the schema allows.
 */
export class DynamoLockoutStore implements LockoutStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly now: () => Date;

  constructor(options: StoreOptions) {
    this.client = options.client;
    this.table = options.tables.calls;
    this.now = options.now ?? systemClock;
  }

  async get(account: string, user: string): Promise<LockoutRecord | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: lockKey(account, user), ConsistentRead: true }));
    return toLockout(out.Item, this.now());
  }

  async put(account: string, user: string, record: LockoutRecord): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: this.lockoutItem(account, user, record, 1) }));
  }

  async update(account: string, user: string, change: (current: LockoutRecord | undefined) => LockoutRecord) {
    for (let attempt = 1; attempt <= 12; attempt++) {
      // Another call by the same user wrote first: wait a little (full jitter) and read again.
      if (attempt > 1) await new Promise((r) => setTimeout(r, backoffDelay(attempt - 1, { baseDelayMs: 5, maxDelayMs: 200, random: Math.random })));
      const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: lockKey(account, user), ConsistentRead: true }));
      const now = this.now();
      const before = toLockout(out.Item, now);
      const seen = out.Item === undefined ? undefined : (num(out.Item, 'version') ?? 0);
      const after = change(before);
      const writeId = randomUUID();
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: { ...this.lockoutItem(account, user, after, (seen ?? 0) + 1), [WRITE_ID_ATTRIBUTE]: { S: writeId } },
            ...(seen === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: '#v = :v OR (attribute_not_exists(#v) AND :v = :zero)',
                  ExpressionAttributeNames: { '#v': 'version' },
                  ExpressionAttributeValues: { ':v': { N: String(seen) }, ':zero': { N: '0' } },
                }),
          }),
        );
        return { before, after };
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
        // Our own write, answered too late and sent again: counted once already.
        if (wasRetried(err) && (await isOwnWrite(this.client, this.table, lockKey(account, user), writeId))) return { before, after };
      }
    }
    throw new Error(`lockout record for ${user}: gave up after repeated write conflicts`);
  }

  /**
   * A Scan of the calls table for the account's lockout records: an admin's occasional look,
   * read page by page (in AWS it reads the whole table, calls included; see docs/operations.md).
   */
  async *listLocked(account: string, now: Date): AsyncIterable<{ readonly user: string; readonly record: LockoutRecord }> {
    const prefix = `LOCK#${account}#`;
    const input = {
      TableName: this.table,
      FilterExpression: 'begins_with(pk, :prefix) AND attribute_exists(lockedUntil)',
      ExpressionAttributeValues: { ':prefix': { S: prefix } },
    };
    for await (const item of scanItems(this.client, input)) {
      const record = toLockout(item, now);
      const user = str(item, 'pk')?.slice(prefix.length);
      if (record !== undefined && user !== undefined && isLockedOut(record, now)) yield { user, record };
    }
  }

  async clear(account: string, user: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: lockKey(account, user) }));
  }

  private lockoutItem(account: string, user: string, record: LockoutRecord, version: number): Item {
    const until = Math.max(Date.parse(record.windowStart) + MAX_WINDOW_MS, record.lockedUntil === undefined ? 0 : Date.parse(record.lockedUntil));
    if (Number.isNaN(until)) throw new RangeError(`lockout record for ${user}: windowStart/lockedUntil are not instants`);
    return {
      ...lockKey(account, user),
      ...toItem(record),
      version: { N: String(version) },
      [TTL_ATTRIBUTE]: { N: String(Math.ceil(until / 1000)) },
      updatedAt: { S: this.now().toISOString() },
    };
  }
}
