/**
 * The narrow ports the core owns and the storage adapters implement (STYLE §4). Each is two
 * to four methods; handlers receive them from a composition root, tests pass local ones.
 * Single-item conditional writes only: no transactions (dynalite has none).
 */
import type { CallState } from './callflow.ts';
import type { StoredCode } from './codes.ts';
import type { LockoutRecord } from './lockout.ts';
import type { Settings, UserRecord } from './settings.ts';

/** Account settings and the Twilio Account SID → account mapping. */
export interface AccountStore {
  /** The settings of an account, or undefined when the account does not exist. */
  getSettings(account: string): Promise<Settings | undefined>;
  /** Which account a Twilio Account SID belongs to. */
  accountForSid(accountSid: string): Promise<string | undefined>;
  /**
   * Replace an account's settings and point its Account SIDs at it; SIDs the previous
   * settings listed and these do not are released. A SID owned by another account is refused
   * with {@link SidTakenError}.
   */
  putSettings(settings: Settings): Promise<void>;
  listAccounts(): Promise<string[]>;
}

export class SidTakenError extends Error {
  override readonly name = 'SidTakenError';
  readonly accountSid: string;
  readonly owner: string;
  constructor(accountSid: string, owner: string) {
    super(`Twilio Account SID ${accountSid} already belongs to account "${owner}"`);
    this.accountSid = accountSid;
    this.owner = owner;
  }
}

/** Users of an account (SPEC §8 users CSV). */
export interface UserStore {
  /** Fetch several identities at once (the caller and, for internal calls, the callee). */
  getUsers(account: string, ids: readonly string[]): Promise<Map<string, UserRecord>>;
  putUsers(account: string, users: readonly UserRecord[]): Promise<void>;
  deleteUsers(account: string, ids: readonly string[]): Promise<void>;
  listUsers(account: string): AsyncIterable<UserRecord>;
}

/**
 * A code as the store holds it: the {@link StoredCode} plus its storage key. Account codes
 * are keyed by their digits, authorization codes by `HMAC-SHA256(pepper, account ":" code)`
 * in hex — the digits of an authorization code never reach the store.
 */
export interface CodeItem extends StoredCode {
  /** `A#<digits>` or `Z#<hmac hex>`. */
  readonly key: string;
}

/** One change to the code list. `previous` lets the store drop caller-ID entries a code no longer lists. */
export type CodeChange =
  | { readonly put: CodeItem; readonly previous?: CodeItem }
  | { readonly delete: CodeItem };

export interface CodeStore {
  /** One GetItem (or one batch when several keys are asked): the codes for these keys. */
  getCodes(account: string, keys: readonly string[]): Promise<Map<string, CodeItem>>;
  /** Apply changes in batches of 25, retrying unprocessed items. Idempotent. */
  writeCodes(account: string, changes: readonly CodeChange[]): Promise<void>;
  /** Every code of the account in key order. */
  listCodes(account: string): AsyncIterable<CodeItem>;
  /** The account code whose `caller_ids` list this E.164 number, if any (inbound tagging). */
  codeForCallerId(account: string, callerId: string): Promise<CodeItem | undefined>;
}

/** A call's state as stored, with the revision a later write must name. */
export interface StoredCallState {
  readonly state: CallState;
  readonly revision: number;
}

/** Call state and usage record of one call, keyed by CallSid. */
export interface CallStore {
  get(callSid: string): Promise<StoredCallState | undefined>;
  /**
   * Store the state if the stored revision is still `expectedRevision` (for a new call: no
   * state exists, `expectedRevision` undefined). Returns the new revision, or undefined when
   * another write won — the caller reads again and decides again, so Twilio's retry of the
   * same webhook counts once and a dial result and a status callback arriving together both
   * land.
   */
  put(state: CallState, options: { readonly expectedRevision: number | undefined; readonly timeZone: string }): Promise<number | undefined>;
}

/** Per-user lockout counters (SPEC §6). */
export interface LockoutStore {
  get(account: string, user: string): Promise<LockoutRecord | undefined>;
  put(account: string, user: string, record: LockoutRecord): Promise<void>;
}

/** What the import function has applied, per object version (idempotency, SPEC §8). */
export interface ImportLedger {
  /** The entry for an object version, if it was seen before. */
  get(account: string, objectKey: string, versionId: string): Promise<LedgerEntry | undefined>;
  put(account: string, objectKey: string, versionId: string, entry: LedgerEntry): Promise<void>;
}

export interface LedgerEntry {
  readonly status: 'applying' | 'applied' | 'rejected';
  /** Where the report was written. */
  readonly reportKey?: string;
  readonly at: string;
}

/**
 * The reads of one webhook in one round trip (a BatchGetItem across tables), so a warm
 * webhook costs at most one read and one write.
 */
export interface CallContextStore {
  /** The first webhook: the users among `ids` (the caller, and the callee when it may be a user) and the caller's lockout record. */
  loadStart(account: string, caller: string, ids: readonly string[]): Promise<{ readonly users: Map<string, UserRecord>; readonly lockout: LockoutRecord | undefined }>;
  /** A code step: the call (unless the caller already holds it), the codes the digits may name, and the caller's lockout record. */
  loadStep(
    account: string,
    caller: string,
    codeKeys: readonly string[],
    callSid: string | undefined,
  ): Promise<{ readonly call: StoredCallState | undefined; readonly codes: Map<string, CodeItem>; readonly lockout: LockoutRecord | undefined }>;
}
