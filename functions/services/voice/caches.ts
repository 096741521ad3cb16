/**
 * What a voice container keeps between webhooks: the settings of the accounts it serves (at
 * most 30 s old, docs/call-flow.md) and the state of the calls it is handling, since the later
 * webhooks of a call mostly come back to the same container. Every write is conditional on
 * the revision it read, so a stale copy is caught and read again.
 */
import type { LockoutRecord } from '../../core/lockout.ts';
import type { CallContextStore, LockoutRecords, StoredCallState } from '../../core/ports.ts';
import type { Settings, UserRecord } from '../../core/settings.ts';

export interface AccountEntry {
  readonly account: string | undefined;
  readonly settings: Settings | undefined;
  readonly at: number;
}

/** Who a call's first webhook is about: its caller, and the parties that may be users. */
export interface CallParties {
  readonly caller: string;
  readonly ids: readonly string[];
}

type AccountLoad = (accountSid: string, parties?: CallParties) => Promise<Pick<AccountEntry, 'account' | 'settings'>>;

/** Account and settings by Twilio Account SID, read again once older than the TTL. */
export class AccountCache {
  private readonly bySid = new Map<string, AccountEntry>();
  private readonly load: AccountLoad;
  private readonly now: () => Date;
  private readonly ttlMs: number;

  constructor(load: AccountLoad, now: () => Date, ttlMs: number) {
    this.load = load;
    this.now = now;
    this.ttlMs = ttlMs;
  }

  /** `parties`: a first webhook's, read with the settings when they must be read (one round trip, not two). */
  async get(accountSid: string, parties?: CallParties): Promise<AccountEntry> {
    const cached = this.bySid.get(accountSid);
    if (cached !== undefined && this.now().getTime() - cached.at < this.ttlMs) return cached;
    const entry = { ...(await this.load(accountSid, parties)), at: this.now().getTime() };
    this.bySid.set(accountSid, entry);
    return entry;
  }

  /** Settings already in memory, however old: the emergency path may use nothing slower. */
  inMemory(accountSid: string | undefined): Settings | undefined {
    return accountSid === undefined ? undefined : this.bySid.get(accountSid)?.settings;
  }
}

/** Calls whose state this container holds: later webhooks of a call mostly come back here. */
const CALL_CACHE_SIZE = 5000;
const CALL_CACHE_MS = 15 * 60_000;

/** The state of recent calls by CallSid, least recently written dropped first. */
export class CallCache {
  private readonly byCall = new Map<string, { stored: StoredCallState; at: number }>();
  private readonly now: () => Date;

  constructor(now: () => Date) {
    this.now = now;
  }

  remember(callSid: string, stored: StoredCallState): void {
    this.byCall.delete(callSid);
    this.byCall.set(callSid, { stored, at: this.now().getTime() });
    if (this.byCall.size > CALL_CACHE_SIZE) this.byCall.delete(this.byCall.keys().next().value as string);
  }

  get(callSid: string): StoredCallState | undefined {
    const hit = this.byCall.get(callSid);
    if (hit === undefined) return undefined;
    if (this.now().getTime() - hit.at > CALL_CACHE_MS) {
      this.byCall.delete(callSid);
      return undefined;
    }
    return hit.stored;
  }

  forget(callSid: string): void {
    this.byCall.delete(callSid);
  }
}

/** What a call's first webhook reads about its caller: the users among the call's parties and the lockout records (and an app's code, never cached). */
export type StartRecords = Awaited<ReturnType<CallContextStore['loadStart']>>;

/**
 * The first webhook's reads, kept as briefly as the settings (docs/call-flow.md, "What a
 * container keeps"): the next call of the same caller to the same kind of party starts with
 * one write, no read. Lockouts this container reads or counts later replace the copy at
 * once; one counted by another container reaches it within the TTL — and code entry never
 * depends on the copy: every code step reads the lockouts afresh.
 */
export class StartCache {
  private readonly users = new Bounded<Map<string, UserRecord>>();
  private readonly own = new Bounded<LockoutRecord | undefined>();
  private readonly throttles = new Bounded<LockoutRecord | undefined>();
  private readonly now: () => Date;
  private readonly ttlMs: number;

  constructor(now: () => Date, ttlMs: number) {
    this.now = now;
    this.ttlMs = ttlMs;
  }

  async get(account: string, caller: string, ids: readonly string[], load: () => Promise<StartRecords>): Promise<StartRecords> {
    const since = this.now().getTime() - this.ttlMs;
    const users = this.users.fresh([account, ...ids].join('\n'), since);
    const lockout = this.own.fresh(`${account}\n${caller}`, since);
    const throttle = this.throttles.fresh(account, since);
    if (users !== undefined && lockout !== undefined && throttle !== undefined) return { users: users.value, lockout: lockout.value, accountLockout: throttle.value };
    const { codes: _codes, ...records } = await load();
    this.prime(account, caller, ids, records);
    return records;
  }

  /** Records read by other means (with the settings, on a container's first call of the account). */
  prime(account: string, caller: string, ids: readonly string[], records: StartRecords): void {
    this.users.set([account, ...ids].join('\n'), records.users, this.now().getTime());
    this.lockouts(account, caller, records);
  }

  /** Lockout records read or written since the start: the next start of the caller (or of anyone in the account, for the throttle) sees them. */
  lockouts(account: string, caller: string, records: Partial<LockoutRecords>): void {
    const at = this.now().getTime();
    if ('lockout' in records) this.own.set(`${account}\n${caller}`, records.lockout, at);
    if ('accountLockout' in records) this.throttles.set(account, records.accountLockout, at);
  }
}

const START_CACHE_SIZE = 5000;

/** A map of at most {@link START_CACHE_SIZE} entries, the least recently written dropped first. */
class Bounded<T> {
  private readonly entries = new Map<string, { value: T; at: number }>();

  fresh(key: string, since: number): { value: T } | undefined {
    const hit = this.entries.get(key);
    return hit !== undefined && hit.at > since ? hit : undefined;
  }

  set(key: string, value: T, at: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at });
    if (this.entries.size > START_CACHE_SIZE) this.entries.delete(this.entries.keys().next().value as string);
  }
}
