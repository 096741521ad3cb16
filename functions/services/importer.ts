/**
 * Imports through the bucket (docs/data-model.md): route an object by its key, validate the whole file,
 * and only then apply it; write one report per object version; apply each version once.
 *
 * Every step is idempotent, so a duplicate S3 event or a crash half way that is retried ends
 * in the same stored state as one clean run: the ledger says which versions are done, and
 * applying compares each row with what is stored and writes only the difference.
 */
import { readCsv, type ColumnSpec } from '../core/csv.ts';
import { CODE_COLUMNS, holdsSecretDigits, REDACTED_COLUMNS, redactedRow, type CodeRow, type RowError } from '../core/code-rows.ts';
import { csvLine, UTF8_BOM } from '../core/csv-write.ts';
import { locateProblems } from '../core/json-locate.ts';
import { USER_COLUMNS } from '../core/user-rows.ts';
import { checkCodesFile, checkUsersFile, codeRowCheck, MAX_REPORTED_ERRORS, userRowCheck, type RowCheck } from './import-check.ts';
import { ACCOUNT_SLUG, parseSettingsText, type Settings, type UserRecord } from '../core/settings.ts';
import {
  SidTakenError,
  type AccountStore,
  type CodeChange,
  type CodeItem,
  type CodeStore,
  type CodesGeneration,
  type ImportCheckpoint,
  type ImportFingerprint,
  type ImportLedger,
  type ImportOrder,
  type ImportReport,
  type UserStore,
} from '../core/ports.ts';
import { createHmac } from 'node:crypto';
import { FileKeys } from './file-keys.ts';
import { accountCodeKey, authorizationCodeKey, codeRef } from '../adapters/code-key.ts';
import type { Logger } from './logger.ts';

export { ACTOR_METADATA, reportKey, reportTimestamp, type ImportReport } from '../core/reports.ts';
import { reportKey } from '../core/reports.ts';

/** Where the object lives and which version of it to read. */
export interface ObjectRef {
  readonly key: string;
  readonly versionId?: string;
  readonly eTag?: string;
  readonly size?: number;
  /**
   * The event's `sequencer`: S3 gives each PUT of a key its own, and a redelivered event the
   * same one. Without versioning it is what tells a re-upload of identical bytes (same ETag,
   * which must be applied again) from a duplicate event (which must not).
   */
  readonly sequencer?: string;
  /** The uploader's principal, as S3's event names it (`userIdentity.principalId`). */
  readonly principal?: string;
}

/** What the object says about itself (its metadata). */
export interface ObjectFacts {
  /** A redacted copy the import itself wrote: there is nothing in it to import. */
  readonly redacted: boolean;
  /** The person the CLI or console uploaded it for. */
  readonly actor?: string;
}

export interface ImporterDeps {
  readonly objects: {
    read(ref: ObjectRef): Promise<AsyncIterable<Uint8Array>>;
    writeReport(key: string, report: ImportReport): Promise<void>;
    /**
     * Put `lines` under the object's key as its redacted copy, then permanently delete the
     * version that was read (docs/security.md, "Authorization digits at rest").
     */
    replaceRedacted(ref: ObjectRef, lines: AsyncIterable<string>): Promise<void>;
    /** Permanently delete the version that was read (in an unversioned bucket: the object, if it is still that upload). */
    remove(ref: ObjectRef): Promise<void>;
    /** The object's own facts (metadata) for the version the event names. */
    describe(ref: ObjectRef): Promise<ObjectFacts>;
  };
  readonly accounts: AccountStore;
  readonly users: UserStore;
  readonly codes: ImportCodeStore;
  /** Which versions are done, and the upload order of each key. */
  readonly ledger: ImportLedger & ImportOrder & CodesGeneration;
  /** The key of the authorization-code HMAC (Secrets Manager in AWS, TOLLGATE_HOME locally). */
  readonly pepper: () => Promise<string>;
  readonly now: () => Date;
  readonly log: Logger;
  /**
   * How long a run's claim on an object version (and on its key) holds before another run may
   * take it over: a run that holds it longer has died. @default IMPORT_LEASE_MS
   */
  readonly leaseMs?: number;
  /** How often a run tells the ledger how many rows it has applied. @default 1000 */
  readonly progressEveryMs?: number;
}

/**
 * The code store, and optionally a cheap test for an account with no codes at all, with which
 * a first import writes without reading first (DynamoCodeStore has one).
 */
export interface ImportCodeStore extends CodeStore {
  hasCodes?(account: string): Promise<boolean>;
}

export { MAX_REPORTED_ERRORS };

/** How long a claim on an object version holds: the import function's longest run (15 min). */
export const IMPORT_LEASE_MS = 15 * 60_000;

/** Another run is applying this object version, or another upload of the key, now; the queue should deliver it again later. */
export class ImportInProgressError extends Error {
  override readonly name = 'ImportInProgressError';
  constructor(key: string) {
    super(`${key} is being imported by another run; it will be tried again`);
  }
}

/**
 * Order two S3 event sequencers of the same key, as S3 documents it: hexadecimal strings of
 * any length, the shorter left-padded with zeros, then compared as strings; the greater is
 * the later upload. Negative when `a` is older than `b`.
 */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const x = a.toUpperCase().padStart(width, '0');
  const y = b.toUpperCase().padStart(width, '0');
  return x < y ? -1 : x > y ? 1 : 0;
}
/** A settings document is small; anything larger is a mistake, not a setting. */
const MAX_SETTINGS_BYTES = 1024 * 1024;
/**
 * Rows applied together: one batch read of what is stored, then the writes that differ. Large
 * enough that the batch pools seldom drain between chunks (2,000 keys are 20 BatchGetItem
 * and 80 BatchWriteItem requests), small enough to cost nothing in memory.
 */
const APPLY_CHUNK = 2000;
/** Deletes of a replace file sent together. */
const DELETE_CHUNK = 500;

export type ImportRoute =
  | { readonly kind: 'settings'; readonly account: string; readonly name: string }
  | { readonly kind: 'codes' | 'users'; readonly mode: 'merge' | 'replace'; readonly account: string; readonly name: string };

/**
 * What an object key asks for, or why it asks for nothing:
 * `imports/<account>/settings.json`, `imports/<account>/codes/<name>`,
 * `imports/<account>/codes-replace/<name>`, `imports/<account>/users/<name>`.
 */
export function routeImportKey(key: string): ImportRoute | { readonly error: string; readonly account?: string } {
  const m = /^imports\/([^/]+)\/(.+)$/.exec(key);
  if (m === null) return { error: 'only keys under imports/<account>/ are imported' };
  const account = m[1] ?? '';
  const rest = m[2] ?? '';
  if (!ACCOUNT_SLUG.test(account)) return { error: `"${account}" is not an account name (lower-case letters, digits and "-")` };
  if (rest === 'settings.json') return { kind: 'settings', account, name: 'settings' };
  const sub = /^(codes|codes-replace|users)\/([^/]+)$/.exec(rest);
  if (sub === null) {
    return {
      account,
      error: `nothing is imported from "${rest}": use settings.json, codes/<name>.csv, codes-replace/<name>.csv or users/<name>.csv`,
    };
  }
  const folder = sub[1] as 'codes' | 'codes-replace' | 'users';
  const name = baseName(sub[2] ?? '');
  if (folder === 'users') return { kind: 'users', mode: 'merge', account, name };
  return { kind: 'codes', mode: folder === 'codes-replace' ? 'replace' : 'merge', account, name };
}

function baseName(file: string): string {
  const dot = file.lastIndexOf('.');
  const base = dot > 0 ? file.slice(0, dot) : file;
  return base.replace(/[^A-Za-z0-9._-]+/g, '_') || 'import';
}

class Counts {
  rows = 0;
  created = 0;
  updated = 0;
  unchanged = 0;
  deleted = 0;
}

/** How an invocation may stop a long import early (the import function's deadline). */
export interface ImportRun {
  /** Asked between chunks of a codes file; true: save the checkpoint and stop. */
  readonly shouldPause?: () => boolean;
}

/** A codes import that stopped for lack of time; it continues when its notification is delivered again. */
export interface ImportPaused {
  readonly status: 'paused';
  readonly file: string;
  /** Rows applied so far. */
  readonly rows: number;
}

/** What a run is told — when to stop, the checkpoint it continues from, the last applied upload's fingerprint — and what it leaves: its own fingerprint. */
interface RunControl extends ImportRun {
  readonly resume?: ImportCheckpoint;
  readonly previous?: ImportFingerprint;
  fingerprint?: ImportFingerprint;
}

/**
 * Import one object version. Returns the report it wrote, `paused` when it stopped at a
 * checkpoint (`run.shouldPause`) to be continued by a new delivery, or undefined when the
 * version was already done (a duplicate event) or the key is not an import. Throws only for
 * faults worth a retry (storage or S3 unavailable): the caller lets the queue redeliver.
 */
export async function importObject(deps: ImporterDeps, ref: ObjectRef, run: ImportRun = {}): Promise<ImportReport | ImportPaused | undefined> {
  const route = routeImportKey(ref.key);
  const startedAt = deps.now();
  if ('error' in route) return unroutable(deps, ref, route, startedAt);

  const facts = await deps.objects.describe(ref);
  if (facts.redacted) {
    deps.log.info('import skipped: a redacted copy this import wrote', { key: ref.key });
    return undefined;
  }
  const actor = actorOf(facts, ref);
  const version = ledgerVersion(ref);
  const seen = await deps.ledger.get(route.account, ref.key, version);
  if (seen !== undefined && (seen.status === 'applied' || seen.status === 'rejected')) {
    deps.log.info('import already done', { key: ref.key, version, status: seen.status });
    return undefined;
  }
  // Claim the version: of two deliveries at once, one applies; the other is retried later by
  // the queue and then finds it done. A claim older than the lease is a crashed run, taken over.
  const lease = deps.leaseMs ?? IMPORT_LEASE_MS;
  if (!(await deps.ledger.claim(route.account, ref.key, version, startedAt, lease))) {
    throw new ImportInProgressError(ref.key);
  }
  // A paused run's checkpoint (or the one a failed continuation started from).
  const resume = seen?.checkpoint;
  const began = resume === undefined ? startedAt : new Date(resume.startedAt);

  let report: ImportReport;
  let key: string;
  let held = false;
  try {
    // Then the key: uploads of one key are applied one at a time, and an upload older than
    // one already applied is not applied at all (its event came late), so the newest upload's
    // content is what stays, whatever order S3 delivered the events in.
    const order = await deps.ledger.acquire(route.account, ref.key, version, startedAt, lease);
    if (!order.acquired) throw new ImportInProgressError(ref.key);
    held = true;
    const control: RunControl = { ...run, ...(resume === undefined ? {} : { resume }), ...(order.fingerprint === undefined ? {} : { previous: order.fingerprint }) };
    const outcome =
      ref.sequencer !== undefined && order.lastApplied !== undefined && compareSequencers(ref.sequencer, order.lastApplied) < 0
        ? superseded(ref, route, began, deps.now())
        : await runImport(deps, route, ref, began, progressReporter(deps, route.account, ref.key, version), actor, control);
    if ('paused' in outcome) {
      // The key stays held for the continuation; the version is claimable again, from here.
      await deps.ledger.put(route.account, ref.key, version, { status: 'paused', at: deps.now().toISOString(), checkpoint: outcome.paused });
      deps.log.info('import paused at a checkpoint; a new invocation continues it', { key: ref.key, phase: outcome.paused.phase, rows: outcome.paused.rows });
      return { status: 'paused', file: ref.key, rows: outcome.paused.rows };
    }
    report = { ...outcome, actor };
    key = reportKey(route.account, route.name, began);
    await deps.objects.writeReport(key, report);
    await deps.ledger.put(route.account, ref.key, version, { status: report.status, reportKey: key, at: report.finishedAt });
    const applied =
      report.status === 'applied'
        ? { ...(ref.sequencer === undefined ? {} : { sequencer: ref.sequencer }), ...(control.fingerprint === undefined ? {} : { fingerprint: control.fingerprint }) }
        : undefined;
    await deps.ledger.release(route.account, ref.key, version, applied);
    held = false;
  } catch (err) {
    // Let the queue's next delivery claim it at once (applying it again changes nothing that
    // is already applied, and it starts from the checkpoint this run started from, if any); a
    // run that dies without getting here is taken over when its lease ends.
    await deps.ledger
      .put(route.account, ref.key, version, { status: 'failed', at: deps.now().toISOString(), ...(resume === undefined ? {} : { checkpoint: resume }) })
      .catch(() => undefined);
    if (held) await deps.ledger.release(route.account, ref.key, version).catch(() => undefined);
    throw err;
  }
  deps.log.info('import finished', {
    key: ref.key,
    status: report.status,
    rows: report.rows,
    created: report.created,
    updated: report.updated,
    unchanged: report.unchanged,
    deleted: report.deleted,
    errorCount: report.errorCount,
    report: key,
  });
  return report;
}

/** A key that is no import: a report to the account it names, if it names one. */
async function unroutable(deps: ImporterDeps, ref: ObjectRef, route: { readonly error: string; readonly account?: string }, startedAt: Date): Promise<ImportReport | undefined> {
  if (ref.key.endsWith('/')) return undefined; // a "folder" made by a console: nothing to import
  deps.log.warn('import skipped', { key: ref.key, reason: route.error });
  if (route.account === undefined) return undefined;
  const report = {
    ...rejected(ref, 'merge', startedAt, deps.now(), [{ line: 0, column: '', value: ref.key, message: route.error }]),
    actor: actorOf(await deps.objects.describe(ref), ref),
  };
  await deps.objects.writeReport(reportKey(route.account, baseName(ref.key.split('/').pop() ?? 'import'), startedAt), report);
  return report;
}

/** Who the report names: the uploader's own name, its AWS principal, or both when they differ. */
function actorOf(facts: ObjectFacts, ref: ObjectRef): string {
  const named = facts.actor?.trim();
  const principal = ref.principal?.trim();
  if (named !== undefined && named !== '' && principal !== undefined && principal !== '' && principal !== named) return `${named} via ${principal}`;
  return (named || principal) ?? 'unknown';
}

/**
 * What the ledger records an import under: the version ID in a versioned bucket (AWS). In an
 * unversioned one (s3rver locally) the ETag alone would take an admin's second upload of the
 * same file, after fixing the account it was rejected for, as a duplicate and never report
 * it; the event's sequencer tells the uploads apart.
 */
export function ledgerVersion(ref: ObjectRef): string {
  if (ref.versionId !== undefined) return ref.versionId;
  const parts = [ref.eTag === undefined ? undefined : `etag:${ref.eTag}`, ref.sequencer === undefined ? undefined : `seq:${ref.sequencer}`];
  return parts.filter((p) => p !== undefined).join('@') || 'unversioned';
}

/** Rows applied so far, told to the ledger at most once a second (the CLI shows it while it waits). */
type Progress = (rows: number) => Promise<void>;

function progressReporter(deps: ImporterDeps, account: string, objectKey: string, holder: string): Progress {
  let last = Date.now();
  const every = deps.progressEveryMs ?? PROGRESS_EVERY_MS;
  return async (rows) => {
    if (rows === 0 || Date.now() - last < every) return;
    last = Date.now();
    await deps.ledger.progress(account, objectKey, holder, rows);
  };
}

const PROGRESS_EVERY_MS = 1000;

async function runImport(
  deps: ImporterDeps,
  route: ImportRoute,
  ref: ObjectRef,
  startedAt: Date,
  progress: Progress,
  actor: string,
  control: RunControl,
): Promise<Outcome | Paused> {
  if (route.kind === 'settings') return importSettings(deps, route.account, ref, startedAt, actor);
  const settings = await deps.accounts.getSettings(route.account);
  if (settings === undefined) {
    return rejected(ref, route.mode, startedAt, deps.now(), [
      {
        line: 0,
        column: '',
        value: route.account,
        message: `account "${route.account}" does not exist: upload imports/${route.account}/settings.json first`,
      },
    ]);
  }
  return route.kind === 'codes' ? importCodes(deps, settings, route.mode, ref, startedAt, progress, control) : importUsers(deps, settings, ref, startedAt, progress);
}

/** A report before it names who made the change. */
type Outcome = Omit<ImportReport, 'actor'>;

/** The report of an upload whose event arrived after a newer upload of the same key was applied. */
function superseded(ref: ObjectRef, route: ImportRoute, startedAt: Date, finishedAt: Date): Outcome {
  const mode = route.kind === 'codes' ? route.mode : route.kind === 'settings' ? 'replace' : 'merge';
  return rejected(ref, mode, startedAt, finishedAt, [
    {
      line: 0,
      column: '',
      value: ref.key,
      message:
        'a newer upload of this file was applied before this one was (S3 delivered the notifications out of order), ' +
        'so this older upload was not applied: the newer content stays. To apply this content, upload it again',
    },
  ]);
}

function rejected(ref: ObjectRef, mode: 'merge' | 'replace', startedAt: Date, finishedAt: Date, errors: readonly RowError[], rows = 0, count = errors.length): Outcome {
  return {
    file: ref.key,
    versionId: ref.versionId ?? null,
    status: 'rejected',
    mode,
    rows,
    created: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    errorCount: count,
    errors: errors.slice(0, MAX_REPORTED_ERRORS),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}

function applied(ref: ObjectRef, mode: 'merge' | 'replace', startedAt: Date, finishedAt: Date, c: Counts): Outcome {
  return {
    file: ref.key,
    versionId: ref.versionId ?? null,
    status: 'applied',
    mode,
    rows: c.rows,
    created: c.created,
    updated: c.updated,
    unchanged: c.unchanged,
    deleted: c.deleted,
    errorCount: 0,
    errors: [],
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}

// ---------------------------------------------------------------------------------------
// settings.json

async function importSettings(deps: ImporterDeps, account: string, ref: ObjectRef, startedAt: Date, actor: string): Promise<Outcome> {
  const text = await readText(await deps.objects.read(ref), MAX_SETTINGS_BYTES);
  if (text === undefined) {
    return rejected(ref, 'replace', startedAt, deps.now(), [
      { line: 0, column: '', value: '', message: `settings.json is larger than ${MAX_SETTINGS_BYTES} bytes; is this the right file?` },
    ]);
  }
  const parsed = parseSettingsText(text);
  if (!parsed.ok) {
    return rejected(
      ref,
      'replace',
      startedAt,
      deps.now(),
      locateProblems(text, parsed.problems).map((p) => ({ line: p.line, column: p.path, value: p.value, message: p.message })),
    );
  }
  const settings = parsed.value;
  if (settings.account !== account) {
    return rejected(ref, 'replace', startedAt, deps.now(), [
      {
        line: 0,
        column: 'account',
        value: settings.account,
        message: `the document is for account "${settings.account}" but was uploaded under imports/${account}/: upload it to imports/${settings.account}/settings.json or correct "account"`,
      },
    ]);
  }
  const before = await deps.accounts.getSettings(account);
  const c = new Counts();
  c.rows = 1;
  if (before !== undefined && JSON.stringify(before) === JSON.stringify(settings)) {
    c.unchanged = 1;
    return applied(ref, 'replace', startedAt, deps.now(), c);
  }
  try {
    await deps.accounts.putSettings(settings, { actor, at: startedAt.toISOString() });
  } catch (err) {
    if (err instanceof SidTakenError) {
      return rejected(ref, 'replace', startedAt, deps.now(), [{ line: 0, column: 'twilioAccountSids', value: err.accountSid, message: err.message }]);
    }
    throw err;
  }
  if (before === undefined) c.created = 1;
  else c.updated = 1;
  return applied(ref, 'replace', startedAt, deps.now(), c);
}

async function readText(source: AsyncIterable<Uint8Array>, limit: number): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}

// ---------------------------------------------------------------------------------------
// CSV: validate everything first (pass 1), then apply (pass 2, reading the same version again)

/**
 * Pass 2 reads rows that pass 1 accepted, `size` at a time; one failing now means the object
 * changed underneath. Handed on in chunks rather than row by row: a step of async iteration
 * per chunk instead of per row took ~5% off the importer's CPU (bench/import.bench.ts).
 */
async function* validChunks<R>(source: AsyncIterable<Uint8Array>, columns: ColumnSpec, validate: RowCheck<R>, size = APPLY_CHUNK): AsyncIterable<R[]> {
  let chunk: R[] = [];
  for await (const rec of readCsv(source, columns)) {
    const result = validate(rec);
    if (!result.ok) throw new Error(`line ${rec.line} no longer validates: the object changed while it was imported`);
    chunk.push(result.row);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** A codes import that stopped at a checkpoint, to be continued in a new invocation. */
interface Paused {
  readonly paused: ImportCheckpoint;
}

/** One codes import under way: what every phase reads, and the checkpoint it moves along. */
interface CodesRun {
  readonly deps: ImporterDeps;
  readonly account: string;
  readonly mode: 'merge' | 'replace';
  readonly ref: ObjectRef;
  readonly validate: RowCheck<CodeRow>;
  readonly pepper: string;
  readonly byRef: ReadonlyMap<string, string>;
  readonly c: Counts;
  readonly progress: Progress;
  readonly shouldPause: () => boolean;
  cp: ImportCheckpoint;
  /** Something was applied in this invocation: it may pause (one that may not always moves on). */
  progressed: boolean;
  /** The last applied upload of the key, when nothing has written codes since: its unchanged chunks are skipped. */
  fast: ImportFingerprint | undefined;
  /** Chunks of this file skipped as unchanged, of how many. */
  skippedChunks: number;
  chunkCount: number;
}

/**
 * A codes file: validated whole (pass 1), then applied in chunks (pass 2), then for a replace
 * file every stored code it does not name deleted (the sweep), then redacted. Between chunks
 * the run may pause (`shouldPause`) and return its checkpoint; a run given `resume` continues
 * from one, skipping validation (the version was validated) and the rows already applied.
 */
async function importCodes(
  deps: ImporterDeps,
  settings: Settings,
  mode: 'merge' | 'replace',
  ref: ObjectRef,
  startedAt: Date,
  progress: Progress,
  control: RunControl,
): Promise<Outcome | Paused> {
  const account = settings.account;
  const begun = control.resume ?? (await beginCodes(deps, settings, mode, ref, startedAt));
  if (!('phase' in begun)) return begun;
  const generation = await deps.ledger.codesGeneration(account);
  // Another import wrote codes while this one was paused, after it skipped chunks it took for unchanged: start again, reading.
  const start = begun.generation !== undefined && begun.generation !== generation && begun.skipped === true ? restarted(begun, generation) : begun;
  const cp = { ...start, generation: start.generation ?? generation };
  const r: CodesRun = {
    deps,
    account,
    mode,
    ref,
    validate: codeRowCheck(settings, mode),
    pepper: await deps.pepper(),
    byRef: new Map(start.refs),
    c: Object.assign(new Counts(), { rows: start.rows, created: start.created, updated: start.updated, unchanged: start.unchanged, deleted: start.deleted }),
    progress,
    shouldPause: control.shouldPause ?? (() => false),
    cp,
    progressed: false,
    // The last applied upload counts only while nothing has written codes since, this run included.
    fast: control.previous?.generation === generation && cp.generation === generation ? control.previous : undefined,
    skippedChunks: 0,
    chunkCount: 0,
  };
  let sweepResumed = control.resume?.phase === 'sweep';
  for (;;) {
    if (await applyAndSweep(r, sweepResumed)) return { paused: checkpointOf(r) };
    sweepResumed = false;
    const wrote = r.c.created + r.c.updated + r.c.deleted > 0;
    const next = await deps.ledger.advanceCodesGeneration(account, r.cp.generation, wrote);
    if (next !== undefined) {
      if (r.cp.digests !== undefined && r.cp.digests.length === r.chunkCount * DIGEST_CHARS) control.fingerprint = { generation: next, digests: r.cp.digests };
      break;
    }
    // Another import wrote codes meanwhile. Unless this one skipped chunks as unchanged, what it wrote stands.
    if (r.cp.skipped !== true) {
      if (wrote) await deps.ledger.advanceCodesGeneration(account, undefined, true);
      break;
    }
    r.cp = restarted(r.cp, await deps.ledger.codesGeneration(account));
    Object.assign(r.c, { rows: 0, created: 0, updated: 0, unchanged: 0, deleted: 0 });
    r.fast = undefined;
  }
  if (r.cp.secretDigits) {
    if (r.progressed && r.shouldPause()) return { paused: checkpointOf({ ...r, cp: { ...r.cp, phase: 'redact' } }) };
    // Applied: the file is replaced by its redacted copy before anyone is told it is done.
    await deps.objects.replaceRedacted(ref, redactedLines(await deps.objects.read(ref), r.validate, r.pepper, account));
  }
  return applied(ref, mode, new Date(r.cp.startedAt), deps.now(), r.c);
}

/** The apply phase and, for a replace file, the sweep (skipped when every chunk was unchanged). True when it paused. */
async function applyAndSweep(r: CodesRun, sweepResumed: boolean): Promise<boolean> {
  const inFile = r.mode === 'replace' ? new FileKeys() : undefined;
  if (r.cp.phase === 'apply' && (await applyRows(r, inFile))) return true;
  if (inFile === undefined || r.cp.phase !== 'sweep') return false;
  // The same list as the last applied upload, and nothing written since: nothing to delete.
  if (r.fast !== undefined && r.skippedChunks === r.chunkCount && r.fast.digests.length === r.chunkCount * DIGEST_CHARS) {
    r.cp = { ...r.cp, phase: 'redact' };
    return false;
  }
  // Continued in the sweep: the keys of the file are read again (they are not kept between invocations).
  if (sweepResumed) await fileKeys(r, inFile);
  return sweep(r, inFile);
}

/** A checkpoint that applies the whole file again, reading what is stored (none of it is taken for unchanged). */
function restarted(cp: ImportCheckpoint, generation: number): ImportCheckpoint {
  const { sweptTo: _s, digests: _d, ...rest } = cp;
  return { ...rest, phase: 'apply', rows: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, empty: false, skipped: false, generation };
}

/** Base64 of the 8 bytes kept of each chunk's digest. */
const DIGEST_CHARS = 12;

/** A chunk's digest: HMAC-SHA-256 keyed by the pepper (a chunk may hold authorization digits), 8 bytes of it. */
function chunkDigest(pepper: string, rows: readonly CodeRow[]): string {
  const hmac = createHmac('sha256', pepper);
  // Row by row: one JSON string of a whole chunk would be 300 KB of garbage a chunk.
  for (const row of rows) hmac.update(JSON.stringify(row)).update('\n');
  return hmac.digest().subarray(0, 8).toString('base64');
}

/** Pass 1 and the refs it names, resolved: the checkpoint of an import about to apply, or the rejection. */
async function beginCodes(deps: ImporterDeps, settings: Settings, mode: 'merge' | 'replace', ref: ObjectRef, startedAt: Date): Promise<Outcome | ImportCheckpoint> {
  const account = settings.account;
  const pass1 = await checkCodesFile(await deps.objects.read(ref), settings, mode);
  // A rejected codes file leaves the bucket: it may hold authorization digits (docs/security.md).
  const refuse = async (errors: readonly RowError[], rows: number, count: number): Promise<Outcome> => {
    await deps.objects.remove(ref);
    return rejected(ref, mode, startedAt, deps.now(), errors, rows, count);
  };
  if (pass1.errorCount > 0) return refuse(pass1.errors, pass1.rows, pass1.errorCount);
  const byRef = pass1.refs.length === 0 ? new Map<string, CodeItem>() : await resolveRefs(deps.codes, account, pass1.refs);
  if (Array.isArray(byRef)) return refuse(byRef.slice(0, MAX_REPORTED_ERRORS), pass1.rows, byRef.length);
  // Into an account with no codes every upsert creates and every delete finds nothing, so the
  // reads before writing are skipped (on dynalite they cost half as much again as the writes).
  // Keys in a file are distinct, so this import's own writes never make a later row stale; a
  // retry after a crash finds the codes written before it and reads as usual.
  const empty = byRef.size === 0 && deps.codes.hasCodes !== undefined && !(await deps.codes.hasCodes(account));
  return {
    phase: 'apply',
    startedAt: startedAt.toISOString(),
    ...{ rows: 0, created: 0, updated: 0, unchanged: 0, deleted: 0 },
    secretDigits: pass1.secretDigits,
    empty,
    refs: [...byRef].map(([r, item]) => [r, item.key] as const),
  };
}

/** Pass 2: the rows after the checkpoint's, a chunk at a time, one written while the next is parsed. True when it paused. */
async function applyRows(r: CodesRun, inFile: FileKeys | undefined): Promise<boolean> {
  let skip = r.cp.rows;
  let inFlight: Promise<void> = Promise.resolve();
  r.chunkCount = 0;
  for await (const all of validChunks(await r.deps.objects.read(r.ref), CODE_COLUMNS, r.validate)) {
    const index = r.chunkCount++;
    const rows = skip >= all.length ? [] : all.slice(skip);
    const done = all.slice(0, all.length - rows.length);
    skip -= done.length;
    if (inFile !== undefined) for (const row of done) for (const key of keysOf(row, r.pepper, r.account, r.byRef)) inFile.add(key);
    if (rows.length === 0) continue;
    const keyed = rows.map((row) => ({ row, keys: keysOf(row, r.pepper, r.account, r.byRef) }));
    if (inFile !== undefined) for (const k of keyed) for (const key of k.keys) inFile.add(key);
    await inFlight;
    await r.progress(r.c.rows);
    if (r.progressed && r.shouldPause()) return true;
    r.progressed = true;
    // Whole chunks only: a chunk part-applied before a pause has no digest of its own to keep.
    const digest = rows.length === all.length && (r.cp.digests ?? '').length === index * DIGEST_CHARS ? chunkDigest(r.pepper, all) : undefined;
    r.cp = { ...r.cp, digests: digest === undefined ? r.cp.digests : `${r.cp.digests ?? ''}${digest}` };
    if (digest !== undefined && r.fast?.digests.slice(index * DIGEST_CHARS, (index + 1) * DIGEST_CHARS) === digest) {
      // The same rows as the last applied upload of this key, and no code written since: stored as they say.
      r.c.rows += rows.length;
      r.c.unchanged += rows.length;
      r.skippedChunks++;
      r.cp = { ...r.cp, skipped: true };
      continue;
    }
    inFlight = applyCodeChunk(r.deps.codes, r.account, keyed, r.c, r.cp.empty);
    // Its failure is awaited with the next chunk; until then it must not count as unhandled
    // (Lambda's runtime exits on an unhandled rejection, failing the whole SQS batch).
    inFlight.catch(() => undefined);
  }
  await inFlight;
  r.cp = { ...r.cp, phase: 'sweep' };
  return false;
}

/** Every key a (validated) file names, for a sweep continued in a new invocation. */
async function fileKeys(r: CodesRun, inFile: FileKeys): Promise<void> {
  for await (const rows of validChunks(await r.deps.objects.read(r.ref), CODE_COLUMNS, r.validate))
    for (const row of rows) for (const key of keysOf(row, r.pepper, r.account, r.byRef)) inFile.add(key);
}

/** A replace file is the whole list: every stored code it does not name goes, in key order from the checkpoint's. True when it paused. */
async function sweep(r: CodesRun, inFile: FileKeys): Promise<boolean> {
  let batch: CodeChange[] = [];
  let last: string | undefined;
  const flush = async () => {
    r.c.deleted += batch.length;
    if (batch.length > 0) await r.deps.codes.writeCodes(r.account, batch);
    batch = [];
    if (last !== undefined) r.cp = { ...r.cp, sweptTo: last };
  };
  for await (const item of r.deps.codes.listCodes(r.account, r.cp.sweptTo)) {
    last = item.key;
    if (inFile.has(item.key)) continue;
    batch.push({ delete: item });
    if (batch.length >= DELETE_CHUNK) {
      await flush();
      r.progressed = true;
      if (r.shouldPause()) return true;
    }
  }
  await flush();
  r.cp = { ...r.cp, phase: 'redact' };
  return false;
}

function checkpointOf(r: Pick<CodesRun, 'c' | 'cp'>): ImportCheckpoint {
  const { rows, created, updated, unchanged, deleted } = r.c;
  return { ...r.cp, rows, created, updated, unchanged, deleted };
}

/** The redacted copy of a codes file: its valid rows, authorization digits replaced by refs. */
async function* redactedLines(source: AsyncIterable<Uint8Array>, validate: RowCheck<CodeRow>, pepper: string, account: string): AsyncIterable<string> {
  yield UTF8_BOM + csvLine(REDACTED_COLUMNS, { formulaSafe: false });
  for await (const rows of validChunks(source, CODE_COLUMNS, validate)) {
    let lines = '';
    for (const row of rows) {
      const ref = holdsSecretDigits(row) ? codeRef(authorizationCodeKey(pepper, account, row.code)) : undefined;
      lines += csvLine(redactedRow(row, ref), { formulaSafe: false });
    }
    yield lines;
  }
}

/**
 * The stored authorization code each ref row names, or the errors of the rows whose ref names
 * none, or more than one (two codes may share the first 8 hex digits of their hashes).
 */
async function resolveRefs(codes: CodeStore, account: string, refs: readonly { ref: string; line: number }[]): Promise<Map<string, CodeItem> | RowError[]> {
  const wanted = new Set(refs.map((r) => r.ref));
  const found = new Map<string, CodeItem[]>();
  for await (const item of codes.listCodes(account)) {
    if (item.kind !== 'authorization' || item.ref === undefined || !wanted.has(item.ref)) continue;
    found.set(item.ref, [...(found.get(item.ref) ?? []), item]);
  }
  const errors: RowError[] = [];
  const byRef = new Map<string, CodeItem>();
  for (const { ref, line } of refs) {
    const items = found.get(ref) ?? [];
    if (items.length === 1) byRef.set(ref, items[0] as CodeItem);
    else if (items.length === 0)
      errors.push({ line, column: 'ref', value: ref, message: 'no authorization code of this account has this ref: export the codes to see the refs there are' });
    else errors.push({ line, column: 'ref', value: ref, message: 'more than one authorization code has this ref: name the code by its digits instead' });
  }
  return errors.length > 0 ? errors : byRef;
}

/** An upsert names one key; a delete names both kinds, since the row need not say which; a ref row names the code it was resolved to. */
function keysOf(row: CodeRow, pepper: string, account: string, byRef: ReadonlyMap<string, string>): string[] {
  if (row.ref !== undefined) {
    const key = byRef.get(row.ref);
    if (key === undefined) throw new Error(`line ${row.line}: its ref was not resolved before applying`);
    return [key];
  }
  if (row.action === 'delete') return [accountCodeKey(row.code), authorizationCodeKey(pepper, account, row.code)];
  return [row.kind === 'authorization' ? authorizationCodeKey(pepper, account, row.code) : accountCodeKey(row.code)];
}

function toItem(row: CodeRow, key: string): CodeItem {
  const listed = (values: readonly string[] | undefined) => (values !== undefined && values.length > 0 ? values : undefined);
  const [users, groups, callerIds] = [listed(row.users), listed(row.groups), listed(row.callerIds)];
  return {
    key,
    kind: row.kind,
    enabled: row.enabled,
    ...(row.kind === 'account' ? { code: row.code } : { ref: codeRef(key), level: row.level ?? 0 }),
    ...(row.description !== undefined && row.description !== '' ? { description: row.description } : {}),
    ...(row.expires === undefined ? {} : { expires: row.expires }),
    ...(users === undefined ? {} : { users }),
    ...(groups === undefined ? {} : { groups }),
    ...(callerIds === undefined ? {} : { callerIds }),
  };
}

/** Two codes hold the same data (the fields of docs/data-model.md, in a fixed order). */
function sameCode(a: CodeItem, b: CodeItem): boolean {
  const fields = ['key', 'kind', 'code', 'ref', 'description', 'enabled', 'expires', 'level', 'users', 'groups', 'callerIds'] as const;
  return fields.every((f) => JSON.stringify(a[f] ?? null) === JSON.stringify(b[f] ?? null));
}

async function applyCodeChunk(store: CodeStore, account: string, keyed: readonly { row: CodeRow; keys: string[] }[], c: Counts, accountWasEmpty: boolean): Promise<void> {
  const stored = accountWasEmpty
    ? new Map<string, CodeItem>()
    : await store.getCodes(
        account,
        keyed.flatMap((k) => k.keys),
      );
  const changes: CodeChange[] = [];
  for (const { row, keys } of keyed) {
    c.rows++;
    if (row.action === 'delete') {
      const present = keys.map((k) => stored.get(k)).filter((x): x is CodeItem => x !== undefined);
      if (present.length === 0) c.unchanged++;
      for (const item of present) {
        changes.push({ delete: item });
        c.deleted++;
      }
      continue;
    }
    const key = keys[0] as string;
    const item = toItem(row, key);
    const previous = stored.get(key);
    if (previous === undefined) {
      c.created++;
      changes.push({ put: item });
    } else if (sameCode(previous, item)) {
      c.unchanged++;
    } else {
      c.updated++;
      changes.push({ put: item, previous });
    }
  }
  if (changes.length > 0) await store.writeCodes(account, changes);
}

// ---------------------------------------------------------------------------------------
// users

async function importUsers(deps: ImporterDeps, settings: Settings, ref: ObjectRef, startedAt: Date, progress: Progress): Promise<Outcome> {
  const pass1 = await checkUsersFile(await deps.objects.read(ref), settings);
  if (pass1.errorCount > 0) return rejected(ref, 'merge', startedAt, deps.now(), pass1.errors, pass1.rows, pass1.errorCount);
  const validate = userRowCheck(settings);
  const account = settings.account;
  const c = new Counts();
  for await (const rows of validChunks(await deps.objects.read(ref), USER_COLUMNS, validate)) {
    const stored = await deps.users.getUsers(
      account,
      rows.map((r) => r.user.id),
    );
    const puts: UserRecord[] = [];
    const deletes: string[] = [];
    for (const row of rows) {
      c.rows++;
      const previous = stored.get(row.user.id);
      if (row.action === 'delete') {
        if (previous === undefined) c.unchanged++;
        else {
          deletes.push(row.user.id);
          c.deleted++;
        }
      } else if (previous === undefined) {
        puts.push(row.user);
        c.created++;
      } else if (canonical(previous) === canonical(row.user)) {
        c.unchanged++;
      } else {
        puts.push(row.user);
        c.updated++;
      }
    }
    if (puts.length > 0) await deps.users.putUsers(account, puts);
    if (deletes.length > 0) await deps.users.deleteUsers(account, deletes);
    await progress(c.rows);
  }
  return applied(ref, 'merge', startedAt, deps.now(), c);
}

/** JSON with sorted keys and no undefined members, for comparing records. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}
