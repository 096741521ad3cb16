/**
 * The narrow ports the core owns and the adapters implement (docs/design.md, "Layers"). Each
 * is two to four methods; handlers receive them from a composition root, tests pass local
 * ones. Single-item conditional writes only: no transactions (dynalite has none).
 */
import type { AlertKind, CallState } from './callflow.ts';
import type { StoredCode } from './codes.ts';
import type { LockoutRecord } from './lockout.ts';
import type { Settings, UserRecord } from './settings.ts';
import type { CodeTotals, WrittenDay } from './usage.ts';
import type { ImportReport } from './reports.ts';
import type { CallRecordEvent } from './events.ts';

export type { ImportReport };

/** A log line's level, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured log lines (JSON in AWS); fields never carry a code's digits. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Account settings and the Twilio Account SID → account mapping. */
export interface AccountStore {
  /** The settings of an account, or undefined when the account does not exist. */
  getSettings(account: string): Promise<Settings | undefined>;
  /** Which account a Twilio Account SID belongs to. */
  accountForSid(accountSid: string): Promise<string | undefined>;
  /**
   * Replace an account's settings and point its Account SIDs at it; SIDs the previous
   * settings listed and these do not are released. A SID the operator has not bound to the
   * account (with bindings), or that another account holds (without), is refused with
   * {@link SidTakenError}, which never names the other account.
   */
  putSettings(settings: Settings, change?: SettingsChange): Promise<void>;
  listAccounts(): Promise<string[]>;
  /**
   * The operator binds a SID to an account (locally, where one person is operator and every
   * tenant): whatever held it before lets it go.
   */
  bindSid(accountSid: string, account: string): Promise<void>;
}

/**
 * The operator's bindings of Twilio Account SIDs to accounts (in AWS, the Twilio token
 * secret): the account a SID is bound to, or undefined. Where the store has bindings, settings
 * may name only the SIDs bound to their own account.
 */
export type SidBindings = (accountSid: string) => Promise<string | undefined>;

/**
 * A settings document names a Twilio Account SID that is not this account's to name. The
 * message never names the account that holds it: tenants do not learn about each other.
 */
export class SidTakenError extends Error {
  override readonly name = 'SidTakenError';
  readonly accountSid: string;
  constructor(accountSid: string, reason: 'held' | 'unbound' = 'held') {
    super(
      reason === 'held'
        ? `Twilio Account SID ${accountSid} is bound to another account; the operator binds SIDs to accounts (tollgate accounts bind ${accountSid} ACCOUNT)`
        : `Twilio Account SID ${accountSid} is not bound to this account; ask the operator to bind it in the Twilio token secret before the settings name it`,
    );
    this.accountSid = accountSid;
  }
}

/** An alert for people to act on: an emergency call, a user locked out, the account-wide throttle. */
export interface Alert {
  readonly kind: AlertKind;
  readonly account: string | undefined;
  readonly user: string;
  /** The caller ID the call was dialled with (emergency), or the caller. */
  readonly callerId: string;
  readonly destination: string;
  readonly callSid: string;
  readonly at: string;
  /** False when the request could not be verified (bad signature, unknown account): marked UNVERIFIED. */
  readonly verified: boolean;
  /** Unverified alerts folded into this one by the rate limit since the last one sent. */
  readonly folded?: number;
}

export interface AlertSink {
  raise(alert: Alert): Promise<void>;
}

/** Users of an account (docs/data-model.md users CSV). */
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
export type CodeChange = { readonly put: CodeItem; readonly previous?: CodeItem } | { readonly delete: CodeItem };

export interface CodeStore {
  /** One GetItem (or one batch when several keys are asked): the codes for these keys. */
  getCodes(account: string, keys: readonly string[]): Promise<Map<string, CodeItem>>;
  /** Apply changes in batches of 25, retrying unprocessed items. Idempotent. */
  writeCodes(account: string, changes: readonly CodeChange[]): Promise<void>;
  /** Every code of the account in key order (only those after the key `after`, when given). */
  listCodes(account: string, after?: string): AsyncIterable<CodeItem>;
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

/** Per-user lockout counters (docs/call-flow.md). */
export interface LockoutStore {
  get(account: string, user: string): Promise<LockoutRecord | undefined>;
  put(account: string, user: string, record: LockoutRecord): Promise<void>;
  /**
   * Read, change and write the record as one step: the write is conditional on what was read
   * and retried on conflict, so failures counted by parallel calls all count.
   */
  update(
    account: string,
    user: string,
    change: (current: LockoutRecord | undefined) => LockoutRecord,
  ): Promise<{ readonly before: LockoutRecord | undefined; readonly after: LockoutRecord }>;
  /** Every record of the account that still locks code entry at `now` (the account-wide throttle's included). */
  listLocked(account: string, now: Date): AsyncIterable<{ readonly user: string; readonly record: LockoutRecord }>;
  /** Forget a record: code entry is open again and its failures are forgotten. */
  clear(account: string, user: string): Promise<void>;
}

/** What the import function has applied, per object version (idempotency, docs/data-model.md). */
export interface ImportLedger {
  /** The entry for an object version, if it was seen before. */
  get(account: string, objectKey: string, versionId: string): Promise<LedgerEntry | undefined>;
  put(account: string, objectKey: string, versionId: string, entry: LedgerEntry): Promise<void>;
  /**
   * Mark a version `applying` unless another run holds it: true when there was no entry, a
   * `failed` or `paused` one, or an `applying` one older than `leaseMs` (a run that died), false
   * otherwise. One write, conditional, so two concurrent deliveries cannot both claim it. The
   * entry's checkpoint stays: a run that dies continues from it.
   */
  claim(account: string, objectKey: string, versionId: string, at: Date, leaseMs: number): Promise<boolean>;
}

/**
 * One import of an object key at a time, in upload order (docs/data-model.md idempotency). S3 may deliver
 * the events of two uploads of the same key in either order, and two deliveries may run at
 * once; an older upload applied after a newer one would quietly undo it. Each event carries a
 * `sequencer` that orders the uploads of one key.
 */
export interface ImportOrder {
  /**
   * Hold the key for `holder` (an object version) until `at + leaseMs`, unless another holder
   * has it and its lease has not run out: then `acquired` is false. Holding it again as the
   * same holder succeeds (a retried run). `lastApplied`: the sequencer of the newest upload of
   * the key applied so far.
   */
  acquire(
    account: string,
    objectKey: string,
    holder: string,
    at: Date,
    leaseMs: number,
  ): Promise<{ readonly acquired: boolean; readonly lastApplied?: string; readonly fingerprint?: ImportFingerprint }>;
  /**
   * Let go of the key. With `applied`: that upload's sequencer becomes the newest applied (when
   * it has one), and its fingerprint is kept for the next upload of the key (or forgotten).
   */
  release(account: string, objectKey: string, holder: string, applied?: { readonly sequencer?: string; readonly fingerprint?: ImportFingerprint }): Promise<void>;
  /** How far the holder is: rows applied so far (for people waiting on a long import). No-op unless `holder` holds the key. */
  progress(account: string, objectKey: string, holder: string, rows: number): Promise<void>;
  /** The import of the key under way, if any: since when, and the rows applied so far. */
  inProgress(account: string, objectKey: string): Promise<{ readonly since: string; readonly rows: number } | undefined>;
}

/**
 * What a codes file applied to the account looked like (docs/data-model.md, "Unchanged
 * rows"): a keyed digest per chunk of 2,000 rows, and the account's codes generation right
 * after it. While the generation stays the same, nothing else has written codes, so a chunk
 * of the next upload of the same key with the same digest is already stored as it says.
 */
export interface ImportFingerprint {
  readonly generation: number;
  /** The chunks' digests, each 12 base64 characters (8 bytes of an HMAC-SHA-256 keyed by the pepper), concatenated. */
  readonly digests: string;
}

/** The account's codes generation: every import that writes codes moves it on. */
export interface CodesGeneration {
  /** The generation now (0 for an account no import has written to). */
  codesGeneration(account: string): Promise<number>;
  /**
   * Move it on after an import: from `from` (when given, only if it is still `from`: undefined
   * when another import moved it meanwhile), by one when the import wrote codes. Returns the
   * generation after.
   */
  advanceCodesGeneration(account: string, from: number | undefined, wrote: boolean): Promise<number | undefined>;
}

export interface LedgerEntry {
  /**
   * `failed`: a run threw and let go of it; the next delivery applies it. `paused`: a run ran
   * short of time and stopped between chunks; a new invocation continues from `checkpoint`.
   */
  readonly status: 'applying' | 'applied' | 'rejected' | 'failed' | 'paused';
  /** Where the report was written. */
  readonly reportKey?: string;
  readonly at: string;
  /** How far a paused (or failed) run got; the next run continues from here. Kept by `claim`. */
  readonly checkpoint?: ImportCheckpoint;
}

/**
 * Where a long codes import stopped (docs/data-model.md, "Imports longer than one invocation"):
 * the file version passed validation, the first `rows` rows are applied, with these counts;
 * then the stored codes after `sweptTo` are left to compare with a replace file, and the
 * redacted copy to write.
 */
export interface ImportCheckpoint {
  readonly phase: 'apply' | 'sweep' | 'redact';
  readonly startedAt: string;
  readonly rows: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  /** Pass 1 found authorization digits: the applied file is replaced by its redacted copy. */
  readonly secretDigits: boolean;
  /** The account had no codes when the import began (it writes without reading first). */
  readonly empty: boolean;
  /** Each ref the file names and the key of the code it was resolved to, before anything was applied. */
  readonly refs: readonly (readonly [string, string])[];
  /** The replace sweep: the last stored key looked at. */
  readonly sweptTo?: string;
  /** The account's codes generation when the import began, and the digests of the chunks applied so far. */
  readonly generation?: number;
  readonly digests?: string;
  /** Chunks were skipped as unchanged: if another import writes codes before this one ends, it applies the file again. */
  readonly skipped?: boolean;
}

/** The caller's lockout record and the account-wide throttle's (lockout.ts). */
export interface LockoutRecords {
  readonly lockout: LockoutRecord | undefined;
  readonly accountLockout: LockoutRecord | undefined;
}

/**
 * The reads of one webhook in one round trip (a BatchGetItem across tables), so a warm
 * webhook costs at most one read and one write.
 */
export interface CallContextStore {
  /**
   * The first webhook: the users among `ids` (the caller, and the callee when it may be a
   * user), the caller's lockout record and the account-wide throttle's record, and the codes
   * of `codeKeys` (an account code a Voice SDK app sent with the call).
   */
  loadStart(
    account: string,
    caller: string,
    ids: readonly string[],
    codeKeys?: readonly string[],
  ): Promise<{ readonly users: Map<string, UserRecord>; readonly codes?: Map<string, CodeItem> } & LockoutRecords>;
  /**
   * The first webhook on a container that has not read the account yet: {@link loadStart}'s
   * records and the account's settings in the same read. Optional: without it the settings
   * are read on their own.
   */
  loadAccountStart?(
    account: string,
    caller: string,
    ids: readonly string[],
  ): Promise<{ readonly settings: Settings | undefined; readonly users: Map<string, UserRecord> } & LockoutRecords>;
  /** A code step: the call (unless the caller already holds it), the codes the digits may name, and both lockout records. */
  loadStep(
    account: string,
    caller: string,
    codeKeys: readonly string[],
    callSid: string | undefined,
  ): Promise<{ readonly call: StoredCallState | undefined; readonly codes: Map<string, CodeItem> } & LockoutRecords>;
}

/** A call as the usage export reads it: its state and when it was last written (ISO). */
export interface StoredCall {
  readonly state: CallState;
  readonly updatedAt: string;
}

/** The usage export's reads (docs/data-model.md): one account's calls of one local day. */
export interface UsageSource {
  /** The day's calls in start order (day = the local date of `startedAt` in the account's time zone). */
  callsOfDay(account: string, day: string): AsyncIterable<StoredCall>;
  /** True when some call of the day was written after `since` (ISO): a written day is out of date. */
  changedSince(account: string, day: string, since: string): Promise<boolean>;
  /** True when the day has at least one call. */
  hasCalls(account: string, day: string): Promise<boolean>;
}

/** What the export remembers of a day it wrote. */
export interface DayExport extends WrittenDay {
  readonly day: string;
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  /** Hex SHA-256 of the file: the same records give the same bytes. */
  readonly sha256: string;
  readonly writtenAt: string;
}

/** Which days the usage export wrote, and each day's per-code totals for the monthly summary. */
export interface ExportLedger {
  /** Every day written for the account. */
  days(account: string): Promise<Map<string, DayExport>>;
  /** Record a day as written, with its per-code totals (replacing what the day had). */
  putDay(account: string, mark: DayExport, totals: readonly CodeTotals[]): Promise<void>;
  /** The per-code totals of every written day of a month (`YYYY-MM`), day by day. */
  monthTotals(account: string, month: string): AsyncIterable<CodeTotals>;
  /** A day's records changed (after-call tagging): the next run writes it again. No-op for a day never written. */
  markChanged(account: string, day: string, at: string): Promise<void>;
}

/** One exporter per account at a time, so a file and its ledger entry always come from the same read. */
export interface ExportLock {
  /** Take the account's lock until `until`, or renew it for the same owner; false when another owner holds it past `now`. */
  acquire(account: string, owner: string, now: string, until: string): Promise<boolean>;
  /** Give the lock up, if this owner still holds it. */
  release(account: string, owner: string): Promise<void>;
}

/** Where the usage export puts its files (the bucket). */
export interface ExportFiles {
  /**
   * Store an object from a stream of bytes, replacing any object under the key. Resolves once
   * the whole object is stored; a failure leaves the previous object as it was.
   */
  put(key: string, body: AsyncIterable<Uint8Array>, meta: { readonly contentType: string; readonly fileName: string }): Promise<void>;
}

/** What a listing asks of the code store: one page, in key order. */
export interface CodePageQuery {
  /** Only keys that start with this (`A#004`: account codes whose digits start with 004). */
  readonly keyPrefix?: string;
  /** Only keys after this one: the last key of the page before. */
  readonly after?: string;
  /** At most this many codes. */
  readonly limit: number;
  /** Keep only the codes this accepts; the store reads on until the page is full or the list ends. */
  readonly match?: (code: CodeItem) => boolean;
  /**
   * Only codes with a description word that starts with this (folded, two characters or more:
   * search-words.ts): the store reads its word index, and the page is in the order of the
   * matching word, then key; `after` is then the `next` of such a page.
   */
  readonly word?: string;
}

export interface CodePages {
  /** A page of codes and, when there are more, the key to ask the next page `after`. */
  pageCodes(account: string, query: CodePageQuery): Promise<{ readonly codes: CodeItem[]; readonly next?: string }>;
}

/** A change file uploaded under `imports/`, and what finds its report again. */
export interface UploadTicket {
  readonly key: string;
  /** The version the upload made (a versioned bucket). */
  readonly versionId?: string;
  /** When the upload began (ISO): finds the report where the bucket keeps no versions (locally). */
  readonly uploadedAt: string;
  /** Where its report will be: `results/<account>/<name>.` */
  readonly reportPrefix: string;
}

/** An object of the bucket, as a listing shows it. */
export interface BucketObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: string;
}

/**
 * The bucket as the console uses it: every change goes in as an import file (the one door,
 * docs/data-model.md) and comes back as its report; reports are the audit trail; finance's
 * files are handed out as links that expire.
 */
export interface ChangeDoor {
  /** Upload a change file under `imports/<account>/`, naming who made it. */
  submit(key: string, body: string | Uint8Array, meta: { readonly contentType: string; readonly actor: string }): Promise<Omit<UploadTicket, 'key' | 'reportPrefix'>>;
  /** The import report of that upload, once the import function has written it. */
  report(ticket: UploadTicket): Promise<ImportReport | undefined>;
  /** Every report under `results/<account>/`: the account's audit trail. */
  reports(account: string): Promise<ImportReport[]>;
  /** Write a report directly (audited actions that are not files: a lockout cleared). */
  writeReport(key: string, report: ImportReport): Promise<void>;
  /** The objects under a prefix. */
  list(prefix: string): Promise<BucketObject[]>;
  /** A link that downloads the object as `fileName`, valid for a few minutes. */
  downloadUrl(key: string, fileName: string): Promise<string>;
}

/** What a console user may do in their account (docs/console.md, "Roles"). */
export const CONSOLE_ROLES = ['admin', 'finance', 'user'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/** A signed-in console user, as verified: every API request carries one. */
export interface ConsoleUser {
  readonly email: string;
  readonly account: string;
  readonly role: ConsoleRole;
  /** The calling identity of a `user` (`client:alice`): their own calls. */
  readonly identity?: string;
}

export interface ConsoleSession {
  /** The bearer token the browser sends with every request. */
  readonly token: string;
  readonly expiresAt: string;
  readonly user: ConsoleUser;
}

/**
 * Console sign-in: Amazon Cognito in AWS, the local users file locally. After `verify`, one
 * code path serves both.
 */
export interface ConsoleAuth {
  /** A session for the right password; undefined for a wrong one or an unknown email (the same answer). */
  signIn(email: string, password: string): Promise<ConsoleSession | undefined>;
  /** The user a bearer token stands for, or undefined when it is unknown, forged or expired. */
  verify(token: string): Promise<ConsoleUser | undefined>;
  signOut(token: string): Promise<void>;
}

/** Who applied a settings document, and when: kept with each version (the console's history). */
export interface SettingsChange {
  readonly actor: string;
  /** ISO instant. */
  readonly at: string;
}

export interface SettingsVersion extends SettingsChange {
  readonly settings: Settings;
}

export interface SettingsHistory {
  /** The versions of an account's settings, newest first, at most `limit`. */
  settingsHistory(account: string, limit: number): Promise<SettingsVersion[]>;
}

/**
 * Where call-record events go (docs/events.md): the event bus, and each of the account's
 * webhook URLs with retries. A publisher queues and returns; delivery happens apart from the
 * request that published, so a slow or failing receiver never slows a webhook of a call.
 */
export interface CallRecordEvents {
  publish(event: CallRecordEvent, webhooks: readonly string[]): Promise<void>;
}
