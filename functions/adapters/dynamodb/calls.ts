/**
 * Calls table: the state and usage record of a call in one item keyed by CallSid (a webhook
 * is one consistent read and one conditional write), and lockout records. Items carry the
 * TTL attribute `expiresAt`; every read treats an expired item as absent.
 */
import { GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CallState, Phase } from '../../core/callflow.ts';
import { normalizeIdentity } from '../../core/codes.ts';
import type { LockoutRecord } from '../../core/lockout.ts';
import type { CallStore, LockoutStore } from '../../core/ports.ts';
import { localDate } from '../../core/time.ts';
import { fromItem, num, str, toItem, type Item } from './attributes.ts';
import { epochSeconds, isConditionalCheckFailed, isExpired, queryItems, systemClock, type StoreOptions } from './common.ts';
import { CALLS_BY_DAY_INDEX, TTL_ATTRIBUTE } from './tables.ts';

/** Attributes the store adds to a call's fields. */
const STORAGE_ATTRS: ReadonlySet<string> = new Set(['pk', 'day', 'startKey', TTL_ATTRIBUTE, 'updatedAt']);
const PHASES: readonly Phase[] = ['prompting', 'dialling', 'ended'];
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
 * `put` is one conditional PutItem. Besides `step` (which makes a retried webhook count once)
 * the condition refuses any write that would move the call's monotonic fields backwards —
 * `phase` (prompting → dialling → ended), `dialCompleted`, `statusReceived`. `/voice/dial-complete`
 * and `/voice/status` do not advance `step` and often arrive together; without this the later
 * of two writes from the same read would erase the other's result. The loser gets false and
 * should read again and re-decide (a true duplicate then decides "unchanged").
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

  async get(callSid: string): Promise<CallState | undefined> {
    // Strongly consistent: the next webhook of a call can arrive milliseconds after the last write.
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: callSid } }, ConsistentRead: true }));
    if (out.Item === undefined || isExpired(out.Item, this.now())) return undefined;
    return fromItem(out.Item, STORAGE_ATTRS) as unknown as CallState;
  }

  async put(state: CallState, options: { readonly expectedStep: number | undefined; readonly timeZone: string }): Promise<boolean> {
    const now = this.now();
    const started = new Date(state.startedAt);
    if (Number.isNaN(started.getTime())) throw new RangeError(`call ${state.callSid}: startedAt is not an instant: ${state.startedAt}`);
    const item: Item = {
      ...toItem(state),
      pk: { S: state.callSid },
      day: { S: callDayKey(state.account, localDate(started, options.timeZone)) },
      startKey: { S: `${state.startedAt}#${state.callSid}` },
      [TTL_ATTRIBUTE]: { N: String(epochSeconds(new Date(started.getTime() + this.retentionMs))) },
      updatedAt: { S: now.toISOString() },
    };
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    let condition: string;
    if (options.expectedStep === undefined) {
      // A new call; an expired leftover under the same CallSid does not count.
      condition = 'attribute_not_exists(pk) OR #exp <= :now';
      names['#exp'] = TTL_ATTRIBUTE;
      values[':now'] = { N: String(epochSeconds(now)) };
    } else {
      const parts = ['#step = :expected'];
      names['#step'] = 'step';
      values[':expected'] = { N: String(options.expectedStep) };
      const rank = PHASES.indexOf(state.phase);
      if (rank >= 0 && rank < PHASES.length - 1) {
        const allowed = PHASES.slice(0, rank + 1);
        parts.push(`#phase IN (${allowed.map((_, i) => `:ph${i}`).join(', ')})`);
        names['#phase'] = 'phase';
        allowed.forEach((p, i) => (values[`:ph${i}`] = { S: p }));
      }
      for (const flag of ['dialCompleted', 'statusReceived'] as const) {
        if (!state[flag]) {
          parts.push(`#${flag} = :false`);
          names[`#${flag}`] = flag;
          values[':false'] = { BOOL: false };
        }
      }
      condition = parts.join(' AND ');
    }
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
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

/** `lockout.windowMinutes` can be at most a day (settings schema). */
const MAX_WINDOW_MS = 1440 * 60_000;

const lockKey = (account: string, user: string) => ({ pk: { S: `LOCK#${account}#${normalizeIdentity(user)}` } });

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
    if (out.Item === undefined || isExpired(out.Item, this.now())) return undefined;
    const windowStart = str(out.Item, 'windowStart');
    const failures = num(out.Item, 'failures');
    if (windowStart === undefined || failures === undefined) return undefined;
    const lockedUntil = str(out.Item, 'lockedUntil');
    return { windowStart, failures, ...(lockedUntil === undefined ? {} : { lockedUntil }) };
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
