/**
 * Calls table: the state and usage record of a call in one item keyed by CallSid (a webhook
 * is one consistent read and one conditional write), and lockout records. Items carry the
 * TTL attribute `expiresAt`; every read treats an expired item as absent.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient, type PutItemCommandInput } from '@aws-sdk/client-dynamodb';
import type { CallState } from '../../core/callflow.ts';
import { normalizeIdentity } from '../../core/codes.ts';
import type { LockoutRecord } from '../../core/lockout.ts';
import type { CallStore, LockoutStore, StoredCallState } from '../../core/ports.ts';
import { localDate } from '../../core/time.ts';
import { fromItem, num, str, toItem, type Item } from './attributes.ts';
import { epochSeconds, isConditionalCheckFailed, isExpired, queryItems, systemClock, type StoreOptions } from './common.ts';
import { CALLS_BY_DAY_INDEX, TTL_ATTRIBUTE } from './tables.ts';

/** Attributes the store adds to a call's fields. */
const STORAGE_ATTRS: ReadonlySet<string> = new Set(['pk', 'day', 'startKey', TTL_ATTRIBUTE, 'updatedAt', 'revision']);
const DAY = 86_400_000;

export interface CallStoreOptions extends StoreOptions {
  /** How long a usage record is kept after the call started. @default 400 (a year of monthly summaries, and some) */
  readonly usageRetentionDays?: number;
}

/** A call as the export reads it: its state and when it was last written. */
export interface StoredCall {
  readonly state: CallState;
  readonly updatedAt: string;
}

/** The `day` GSI key: one account's local day. */
export function callDayKey(account: string, day: string): string {
  return `${account}#${day}`;
}

/**
 * `put` is one conditional PutItem on the item's `revision`: every write names the revision
 * it read, so of two writes from the same read exactly one lands (a retried webhook counts
 * once; a dial result and a status callback arriving together do not erase each other). The
 * loser reads again and decides again.
 */
export class DynamoCallStore implements CallStore {
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
    const started = new Date(state.startedAt);
    if (Number.isNaN(started.getTime())) throw new RangeError(`call ${state.callSid}: startedAt is not an instant: ${state.startedAt}`);
    const revision = (options.expectedRevision ?? 0) + 1;
    const item: Item = {
      ...toItem(state),
      pk: { S: state.callSid },
      day: { S: callDayKey(state.account, localDate(started, options.timeZone)) },
      startKey: { S: `${state.startedAt}#${state.callSid}` },
      [TTL_ATTRIBUTE]: { N: String(epochSeconds(new Date(started.getTime() + this.retentionMs))) },
      updatedAt: { S: now.toISOString() },
      revision: { N: String(revision) },
    };
    const condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> =
      options.expectedRevision === undefined
        ? // A new call; an expired leftover under the same CallSid does not count.
          { ConditionExpression: 'attribute_not_exists(pk) OR #exp <= :now', ExpressionAttributeNames: { '#exp': TTL_ATTRIBUTE }, ExpressionAttributeValues: { ':now': { N: String(epochSeconds(now)) } } }
        : { ConditionExpression: '#rev = :expected', ExpressionAttributeNames: { '#rev': 'revision' }, ExpressionAttributeValues: { ':expected': { N: String(options.expectedRevision) } } };
    try {
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: item, ...condition }));
      return revision;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      throw err;
    }
  }

  /**
   * One account's calls of one local day (`YYYY-MM-DD`) in start order, for the usage export.
   * Reads the `byDay` index, which DynamoDB keeps eventually consistent: the export waits
   * `exportDelayMinutes` after the day ends anyway.
   */
  async *callsOfDay(account: string, day: string): AsyncGenerator<StoredCall> {
    const now = this.now();
    for await (const item of queryItems(this.client, {
      TableName: this.table,
      IndexName: CALLS_BY_DAY_INDEX,
      KeyConditionExpression: '#day = :day',
      ExpressionAttributeNames: { '#day': 'day' },
      ExpressionAttributeValues: { ':day': { S: callDayKey(account, day) } },
    })) {
      if (isExpired(item, now)) continue;
      yield { state: fromItem(item, STORAGE_ATTRS) as unknown as CallState, updatedAt: str(item, 'updatedAt') ?? '' };
    }
  }
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
  return { state: fromItem(item, STORAGE_ATTRS) as unknown as CallState, revision: num(item, 'revision') ?? 0 };
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
    const until = Math.max(Date.parse(record.windowStart) + MAX_WINDOW_MS, record.lockedUntil === undefined ? 0 : Date.parse(record.lockedUntil));
    if (Number.isNaN(until)) throw new RangeError(`lockout record for ${user}: windowStart/lockedUntil are not instants`);
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          ...lockKey(account, user),
          ...toItem(record),
          [TTL_ATTRIBUTE]: { N: String(Math.ceil(until / 1000)) },
          updatedAt: { S: this.now().toISOString() },
        },
      }),
    );
  }
}
