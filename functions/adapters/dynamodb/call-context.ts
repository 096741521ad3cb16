/**
 * A webhook's reads as one BatchGetItem across the three tables: the users, the lockout
 * records (the caller's and the account-wide throttle's) and an app-sent account code on the
 * first webhook; the call, the
 * candidate codes and the lockout records on a code step. Consistent reads: the previous
 * webhook of the same call wrote milliseconds ago.
 */
import type { KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { normalizeIdentity } from '../../core/codes.ts';
import { ACCOUNT_THROTTLE, type LockoutRecord } from '../../core/lockout.ts';
import type { CallContextStore, CodeItem } from '../../core/ports.ts';
import type { Settings, UserRecord } from '../../core/settings.ts';
import { settingsKey, settingsOf } from './accounts.ts';
import { str, type Item } from './attributes.ts';
import { batchGetTables, type BatchOptions } from './batch.ts';
import { lockKey, toLockout, toStoredCall } from './calls.ts';
import { codeKey, toCode } from './codes.ts';
import { systemClock, type StoreOptions } from './common.ts';
import { toUser, userKey } from './users.ts';

export class DynamoCallContextStore implements CallContextStore {
  private readonly options: StoreOptions;
  private readonly now: () => Date;
  private readonly batch: BatchOptions;

  constructor(options: StoreOptions) {
    this.options = options;
    this.now = options.now ?? systemClock;
    this.batch = options.batch ?? {};
  }

  async loadStart(account: string, caller: string, ids: readonly string[], codeKeys: readonly string[] = []) {
    const { settings: _none, ...records } = await this.start(account, caller, ids, codeKeys, false);
    return records;
  }

  async loadAccountStart(account: string, caller: string, ids: readonly string[]) {
    const { codes: _none, ...records } = await this.start(account, caller, ids, [], true);
    return records;
  }

  private async start(account: string, caller: string, ids: readonly string[], codeKeys: readonly string[], withSettings: boolean) {
    const { accounts, calls, codes: codesTable } = this.options.tables;
    const wanted = [...new Set(ids.map(normalizeIdentity))];
    const request: Record<string, KeysAndAttributes> = {
      [calls]: { Keys: lockKeys(account, caller), ConsistentRead: true },
    };
    const accountKeys = [...wanted.map((id) => userKey(account, id)), ...(withSettings ? [settingsKey(account)] : [])];
    if (accountKeys.length > 0) request[accounts] = { Keys: accountKeys, ConsistentRead: true };
    const uniqueCodes = [...new Set(codeKeys)];
    if (uniqueCodes.length > 0) request[codesTable] = { Keys: uniqueCodes.map((k) => codeKey(account, k)), ConsistentRead: true };
    const { items } = await batchGetTables(this.options.client, request, this.batch);
    const byId = new Map<string, UserRecord>();
    let settings: Settings | undefined;
    for (const item of items[accounts] ?? []) {
      if (str(item, 'pk') === settingsKey(account).pk?.S) settings = settingsOf(item);
      else byId.set(str(item, 'sk') ?? '', toUser(item));
    }
    const users = new Map<string, UserRecord>();
    for (const id of ids) {
      const user = byId.get(normalizeIdentity(id));
      if (user !== undefined) users.set(id, user);
    }
    return { settings, users, codes: codesOf(items[codesTable] ?? []), ...lockoutsOf(items[calls] ?? [], account, caller, this.now()) };
  }

  async loadStep(account: string, caller: string, codeKeys: readonly string[], callSid: string | undefined) {
    const { codes: codesTable, calls } = this.options.tables;
    const callKeys: Item[] = lockKeys(account, caller);
    if (callSid !== undefined) callKeys.push({ pk: { S: callSid } });
    const request: Record<string, KeysAndAttributes> = { [calls]: { Keys: callKeys, ConsistentRead: true } };
    const uniqueCodes = [...new Set(codeKeys)];
    if (uniqueCodes.length > 0) request[codesTable] = { Keys: uniqueCodes.map((k) => codeKey(account, k)), ConsistentRead: true };
    const { items } = await batchGetTables(this.options.client, request, this.batch);
    const now = this.now();
    const callItem = callSid === undefined ? undefined : (items[calls] ?? []).find((item) => str(item, 'pk') === callSid);
    const call = toStoredCall(callItem, now);
    return { call, codes: codesOf(items[codesTable] ?? []), ...lockoutsOf(items[calls] ?? [], account, caller, now) };
  }
}

function codesOf(items: readonly Item[]): Map<string, CodeItem> {
  const codes = new Map<string, CodeItem>();
  for (const item of items) {
    const code = toCode(item);
    codes.set(code.key, code);
  }
  return codes;
}

/** The caller's lockout key and the account-wide throttle's (one key when the caller is unknown). */
function lockKeys(account: string, caller: string): Item[] {
  const keys = [lockKey(account, caller)];
  if (normalizeIdentity(caller) !== ACCOUNT_THROTTLE) keys.push(lockKey(account, ACCOUNT_THROTTLE));
  return keys;
}

function lockoutsOf(items: readonly Item[], account: string, caller: string, now: Date): { lockout: LockoutRecord | undefined; accountLockout: LockoutRecord | undefined } {
  const byPk = new Map(items.map((item) => [str(item, 'pk'), item]));
  return {
    lockout: toLockout(byPk.get(lockKey(account, caller).pk.S), now),
    accountLockout: toLockout(byPk.get(lockKey(account, ACCOUNT_THROTTLE).pk.S), now),
  };
}
