/**
 * What a voice container keeps between webhooks: the settings of the accounts it serves (at
 * most 30 s old, docs/call-flow.md) and the state of the calls it is handling, since the later
 * webhooks of a call mostly come back to the same container. Every write is conditional on
 * the revision it read, so a stale copy is caught and read again.
 */
import type { StoredCallState } from '../../core/ports.ts';
import type { Settings } from '../../core/settings.ts';

export interface AccountEntry {
  readonly account: string | undefined;
  readonly settings: Settings | undefined;
  readonly at: number;
}

/** Account and settings by Twilio Account SID, read again once older than the TTL. */
export class AccountCache {
  private readonly bySid = new Map<string, AccountEntry>();
  private readonly load: (accountSid: string) => Promise<Pick<AccountEntry, 'account' | 'settings'>>;
  private readonly now: () => Date;
  private readonly ttlMs: number;

  constructor(load: (accountSid: string) => Promise<Pick<AccountEntry, 'account' | 'settings'>>, now: () => Date, ttlMs: number) {
    this.load = load;
    this.now = now;
    this.ttlMs = ttlMs;
  }

  async get(accountSid: string): Promise<AccountEntry> {
    const cached = this.bySid.get(accountSid);
    if (cached !== undefined && this.now().getTime() - cached.at < this.ttlMs) return cached;
    const entry = { ...(await this.load(accountSid)), at: this.now().getTime() };
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
