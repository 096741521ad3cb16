/**
 * The usage export (docs/data-model.md): for each account, write every local day that ended
 * `exportDelayMinutes` ago and has no file yet, and write again a day whose records changed
 * after its file was written; then rewrite the month-to-date summary of every month touched.
 *
 * A day's records stream from the store through the CSV formatter into a multipart upload, so
 * memory stays flat whatever the size of the day. The bytes depend on the records and the
 * account's time zone only (no run time inside the file): the same records give the same
 * bytes, and the ledger keeps each file's SHA-256 to show it.
 *
 * How a change is noticed: a day's ledger entry holds a watermark — the instant its read
 * began, less a margin for clock skew between writers and the day index's eventual
 * consistency. A record written after the watermark may be missing from the file. Recent days
 * (`recheckDays`) are checked for such records on every run; any day, however old, is
 * rewritten when a change is reported to the ledger (`markChanged`, which tagging calls).
 * A rewrite within the margin of the last write writes the same bytes again: harmless.
 *
 * One exporter per account at a time (a lock in the ledger), so the hourly run, a retry of it
 * and `tollgate usage export` never interleave a file with another run's ledger entry.
 */
import { createHash } from 'node:crypto';
import type { AccountStore, DayExport, ExportFiles, ExportLedger, ExportLock, UsageSource } from '../core/ports.ts';
import type { Settings } from '../core/settings.ts';
import {
  daysToProbe,
  monthOf,
  planExport,
  SUMMARY_COLUMNS,
  summaryHeader,
  summaryLine,
  summaryValues,
  TotalsBuilder,
  typedColumns,
  USAGE_COLUMNS,
  usageDayKey,
  usageHeader,
  usageLine,
  usageSummaryKey,
  usageValues,
  type CellKind,
} from '../core/usage.ts';
import type { Logger } from './logger.ts';
import { tee } from './tee.ts';

/** Records the CSV and the .xlsx twin of a day may be apart while both are written from one read. */
const TWIN_LAG = 2000;

export interface ExporterOptions {
  /** How far back a run looks for days not written yet (and, on an account's first run, for its first call). @default 35 */
  readonly lookbackDays?: number;
  /** Written days this recent are checked for late changes on every run. @default 3 */
  readonly recheckDays?: number;
  /** Subtracted from the read's start to make a day's watermark. @default 120000 (2 minutes) */
  readonly watermarkMarginMs?: number;
  /** How long the account lock lasts before another exporter may take it; renewed after each day. @default 900000 (15 minutes, a Lambda's longest run) */
  readonly lockMs?: number;
  /** Bytes of CSV gathered before they are handed to the upload. @default 65536 */
  readonly chunkBytes?: number;
  /** Accounts exported at once by a scheduled run. @default 4 */
  readonly accountConcurrency?: number;
}

/** A spreadsheet of one sheet, as bytes, from rows of file values (before CSV quoting). */
export type SpreadsheetWriter = (
  sheetName: string,
  columns: readonly { readonly header: string; readonly kind: CellKind }[],
  rows: AsyncIterable<readonly string[]>,
) => AsyncIterable<Uint8Array>;

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export interface ExporterDeps {
  readonly accounts: Pick<AccountStore, 'listAccounts' | 'getSettings'>;
  readonly usage: UsageSource;
  readonly ledger: ExportLedger;
  readonly lock: ExportLock;
  readonly files: ExportFiles;
  /**
   * Writes the `.xlsx` twin of each file from the same rows (typed cells); the composition root
   * gives one (adapters/xlsx.ts). Without it only the CSV files are written.
   */
  readonly spreadsheet?: SpreadsheetWriter;
  readonly now: () => Date;
  readonly log: Logger;
  /** Who holds an account's lock while this exporter works: `lambda:<request id>`, `cli:alice@host`. */
  readonly owner: string;
  readonly options?: ExporterOptions;
}

/** One file the export wrote. */
export interface WrittenFile {
  readonly kind: 'usage' | 'summary';
  readonly key: string;
  /** `YYYY-MM-DD` for a usage file. */
  readonly day?: string;
  readonly month: string;
  /** Data rows (calls, or summary lines), the header not counted. */
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface AccountExport {
  readonly account: string;
  /** `stopped`: out of time; the next run carries on. `locked`: another exporter is at work on the account. */
  readonly status: 'done' | 'stopped' | 'locked' | 'no-settings' | 'failed';
  readonly files: readonly WrittenFile[];
  readonly error?: unknown;
}

export interface ExportRun {
  readonly accounts: readonly AccountExport[];
  readonly failed: readonly string[];
}

/** Another exporter holds the account's lock. */
export class ExportLockedError extends Error {
  override readonly name = 'ExportLockedError';
}

/** The lock was lost part way (another exporter took it after it lapsed): stop, do not race. */
export class ExportLockLostError extends Error {
  override readonly name = 'ExportLockLostError';
}

const DEFAULTS = {
  lookbackDays: 35,
  recheckDays: 3,
  watermarkMarginMs: 120_000,
  lockMs: 900_000,
  chunkBytes: 65_536,
  accountConcurrency: 4,
} satisfies Required<ExporterOptions>;

function optionsOf(deps: ExporterDeps): Required<ExporterOptions> {
  return { ...DEFAULTS, ...deps.options };
}

/**
 * The hourly run: every account, each on its own (one failing account does not stop the
 * others). `shouldStop` is asked before each day; a run out of time stops between days and
 * the next run carries on. Never throws for an account; the result lists the failed ones.
 */
export async function runScheduledExport(deps: ExporterDeps, run: { readonly shouldStop?: () => boolean } = {}): Promise<ExportRun> {
  const accounts = await deps.accounts.listAccounts();
  const results: AccountExport[] = [];
  await pool(accounts, optionsOf(deps).accountConcurrency, async (account) => {
    try {
      results.push(await exportDueDays(deps, account, run.shouldStop ?? (() => false)));
    } catch (err) {
      deps.log.error('usage export failed for an account; the next run tries again', { account, error: err });
      results.push({ account, status: 'failed', files: [], error: err });
    }
  });
  results.sort((a, b) => (a.account < b.account ? -1 : 1));
  const failed = results.filter((r) => r.status === 'failed').map((r) => r.account);
  const files = results.reduce((n, r) => n + r.files.length, 0);
  deps.log.info('usage export run finished', { accounts: accounts.length, files, failed });
  return { accounts: results, failed };
}

/** One account in an hourly run: the days that are due or changed. */
export async function exportDueDays(deps: ExporterDeps, account: string, shouldStop: () => boolean = () => false): Promise<AccountExport> {
  const settings = await deps.accounts.getSettings(account);
  if (settings === undefined) return { account, status: 'no-settings', files: [] };
  const o = optionsOf(deps);
  if (!(await takeLock(deps, account))) {
    deps.log.info('usage export skipped an account another exporter is working on', { account });
    return { account, status: 'locked', files: [] };
  }
  try {
    const now = deps.now();
    const written = await deps.ledger.days(account);
    const firstCallDay = await firstDayWithCalls(deps, account, settings, now, [...written.keys()].sort()[0]);
    const plan = planExport({
      now,
      timeZone: settings.timeZone,
      exportDelayMinutes: settings.exportDelayMinutes,
      written,
      firstCallDay,
      lookbackDays: o.lookbackDays,
      recheckDays: o.recheckDays,
    });
    const changed = await Promise.all(plan.recheck.map(async (r) => ((await deps.usage.changedSince(account, r.day, r.since)) ? r.day : undefined)));
    const days = [...new Set([...plan.write, ...plan.rewrite, ...changed.filter((d): d is string => d !== undefined)])].sort();
    if (days.length > 0) deps.log.info('usage export: days to write', { account, write: plan.write, rewrite: days.filter((d) => !plan.write.includes(d)) });
    const { files, stopped } = await writeDays(deps, account, settings, days, written, shouldStop);
    return { account, status: stopped ? 'stopped' : 'done', files };
  } finally {
    await deps.lock.release(account, deps.owner);
  }
}

/**
 * Write these days now, due or not, changed or not, and the summaries of their months
 * (`tollgate usage export`). Throws {@link ExportLockedError} when another exporter is at work
 * on the account.
 */
export async function exportDays(deps: ExporterDeps, account: string, days: readonly string[]): Promise<WrittenFile[]> {
  const settings = await deps.accounts.getSettings(account);
  if (settings === undefined) throw new Error(`account "${account}" has no settings`);
  if (!(await takeLock(deps, account))) {
    throw new ExportLockedError(`another export of account "${account}" is running; try again in a few minutes`);
  }
  try {
    const written = await deps.ledger.days(account);
    return (await writeDays(deps, account, settings, [...new Set(days)].sort(), written, () => false)).files;
  } finally {
    await deps.lock.release(account, deps.owner);
  }
}

async function takeLock(deps: ExporterDeps, account: string): Promise<boolean> {
  const now = deps.now();
  return deps.lock.acquire(account, deps.owner, now.toISOString(), new Date(now.getTime() + optionsOf(deps).lockMs).toISOString());
}

/**
 * The account's first day with calls before its earliest written day, within the look-back:
 * each such day is asked at once (one small Query each). On an account's first runs that is
 * up to `lookbackDays` Queries; once it has been written for that long, none.
 */
async function firstDayWithCalls(deps: ExporterDeps, account: string, settings: Settings, now: Date, earliestWritten: string | undefined): Promise<string | undefined> {
  const days = daysToProbe(now, settings.timeZone, settings.exportDelayMinutes, earliestWritten, optionsOf(deps).lookbackDays);
  const found = await Promise.all(days.map((d) => deps.usage.hasCalls(account, d)));
  return days[found.indexOf(true)];
}

async function writeDays(
  deps: ExporterDeps,
  account: string,
  settings: Settings,
  days: readonly string[],
  written: ReadonlyMap<string, DayExport>,
  shouldStop: () => boolean,
): Promise<{ files: WrittenFile[]; stopped: boolean }> {
  const files: WrittenFile[] = [];
  const months = new Set<string>();
  let stopped = false;
  let failure: unknown;
  try {
    for (const day of days) {
      if (shouldStop()) {
        stopped = true;
        deps.log.warn('usage export stopped for lack of time; the next run carries on', { account, left: days.slice(days.indexOf(day)) });
        break;
      }
      // Changes reported so far, read before the records: those are in the file.
      files.push(await writeDay(deps, account, settings, day, written.get(day)?.changes ?? 0));
      months.add(monthOf(day));
      if (!(await takeLock(deps, account))) throw new ExportLockLostError(`lost the export lock of account "${account}" while writing`);
    }
  } catch (err) {
    failure = err;
  }
  // The summaries of the months of the days written, even when a later day failed — unless
  // another exporter now holds the account.
  if (!(failure instanceof ExportLockLostError)) {
    for (const month of [...months].sort()) {
      try {
        files.push(await writeSummary(deps, account, settings, month));
      } catch (err) {
        if (failure === undefined) failure = err;
        else deps.log.error('usage summary failed too', { account, month, error: err });
      }
    }
  }
  if (failure !== undefined) throw failure;
  return { files, stopped };
}

/** Stream one day's records into its file, then record the day in the ledger. */
export async function writeDay(deps: ExporterDeps, account: string, settings: Settings, day: string, changesSeen = 0): Promise<WrittenFile> {
  const o = optionsOf(deps);
  const started = performance.now();
  const readStart = deps.now();
  const key = usageDayKey(account, day);
  const tz = settings.timeZone;
  const totals = new TotalsBuilder(settings.billingIncrementSeconds);
  const out = new HashingEncoder();
  let rows = 0;
  // With a twin, the day is read once for both files, at most TWIN_LAG records apart.
  const calls = deps.usage.callsOfDay(account, day);
  const twin = deps.spreadsheet === undefined ? undefined : { sheet: deps.spreadsheet, ...tee(calls, TWIN_LAG) };
  const forCsv = twin?.streams[0] ?? calls;
  async function* body(): AsyncGenerator<Uint8Array> {
    let pending = usageHeader();
    for await (const call of forCsv) {
      pending += usageLine(call.state, tz);
      totals.add(call.state);
      rows++;
      if (pending.length >= o.chunkBytes) {
        yield out.encode(pending);
        pending = '';
      }
    }
    yield out.encode(pending);
  }
  const csv = deps.files.put(key, body(), { contentType: 'text/csv; charset=utf-8', fileName: `usage-${day}.csv` });
  if (twin === undefined) await csv;
  else {
    const records = async function* (): AsyncGenerator<readonly string[]> {
      for await (const call of twin.streams[1]) yield usageValues(call.state, tz);
    };
    const xlsx = deps.files.put(twinKey(key), twin.sheet(`usage ${day}`, typedColumns(USAGE_COLUMNS), records()), { contentType: XLSX_TYPE, fileName: `usage-${day}.xlsx` });
    // One failing ends the other too, rather than leaving it waiting for records.
    const failed = (err: unknown): never => {
      twin.cancel(err);
      throw err;
    };
    await Promise.all([csv.catch(failed), xlsx.catch(failed)]);
  }
  const mark: DayExport = {
    day,
    key,
    rows,
    bytes: out.bytes,
    sha256: out.digest(),
    writtenAt: deps.now().toISOString(),
    watermark: new Date(readStart.getTime() - o.watermarkMarginMs).toISOString(),
    changesWritten: changesSeen,
  };
  await deps.ledger.putDay(account, mark, totals.list());
  deps.log.info('wrote a usage file', { account, key, rows, bytes: mark.bytes, ms: Math.round(performance.now() - started) });
  return { kind: 'usage', key, day, month: monthOf(day), rows, bytes: mark.bytes, sha256: mark.sha256 };
}

/** The month-to-date summary from the ledger's per-day totals (no records are read again). */
export async function writeSummary(deps: ExporterDeps, account: string, settings: Settings, month: string): Promise<WrittenFile> {
  const o = optionsOf(deps);
  const merged = new TotalsBuilder();
  for await (const t of deps.ledger.monthTotals(account, month)) merged.merge(t);
  const list = merged.list();
  const key = usageSummaryKey(account, month);
  const out = new HashingEncoder();
  async function* body(): AsyncGenerator<Uint8Array> {
    let pending = summaryHeader();
    for (const t of list) {
      pending += summaryLine(t, settings.timeZone);
      if (pending.length >= o.chunkBytes) {
        yield out.encode(pending);
        pending = '';
      }
    }
    yield out.encode(pending);
  }
  await deps.files.put(key, body(), { contentType: 'text/csv; charset=utf-8', fileName: `summary-${month}.csv` });
  if (deps.spreadsheet !== undefined) {
    const rows = async function* (): AsyncGenerator<readonly string[]> {
      for (const t of list) yield summaryValues(t, settings.timeZone);
    };
    await deps.files.put(twinKey(key), deps.spreadsheet(`summary ${month}`, typedColumns(SUMMARY_COLUMNS), rows()), { contentType: XLSX_TYPE, fileName: `summary-${month}.xlsx` });
  }
  deps.log.info('wrote a usage summary', { account, key, codes: list.length });
  return { kind: 'summary', key, month, rows: list.length, bytes: out.bytes, sha256: out.digest() };
}

/** `…/usage-2026-06-02.csv` → `…/usage-2026-06-02.xlsx`. */
export function twinKey(csvKey: string): string {
  return csvKey.replace(/\.csv$/, '.xlsx');
}

/** UTF-8 bytes of the text handed over, counted and hashed on the way. */
class HashingEncoder {
  private readonly hash = createHash('sha256');
  bytes = 0;

  encode(text: string): Uint8Array {
    const b = Buffer.from(text, 'utf8');
    this.hash.update(b);
    this.bytes += b.length;
    return b;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Run `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
