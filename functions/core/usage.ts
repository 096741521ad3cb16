/**
 * The usage log of docs/data-model.md as data: a call's record → one CSV row, calls → per-code totals →
 * the monthly summary, the bucket keys of both files, and which local days an hourly run must
 * write. Pure: the exporter service streams records in and bytes out.
 *
 * Rules decided here (README "Usage log"):
 * - A call that has not ended when its day is written (rare: the export waits
 *   `exportDelayMinutes` after the day ends) is written with what is known so far and empty
 *   `ended_at`, `duration_s`, `talk_s` and `outcome`. Leaving it out could lose it for good if
 *   its last callback never came; when the call does end, its record changes and the day is
 *   written again.
 * - Authorization codes never put digits in a file: `code` is empty, description and kind stay.
 * - The summary has one row per code (account codes by their digits, authorization codes by
 *   their reference, shown with an empty `code`) and, last, one row with no code that totals
 *   the calls that carry none, so the summary's calls add up to the rows of the month's files.
 */
import type { CallState, UsageRecord } from './call-state.ts';

export type { UsageRecord };
import { csvLine, UTF8_BOM } from './csv-write.ts';
import { isIsoDate, localDate, nextDate, startOfLocalDay, toLocalIso, utcOffsetMinutes } from './time.ts';
import type { CodeKind } from './types.ts';

/** The columns of `usage-YYYY-MM-DD.csv`, in order (docs/data-model.md). */
export const USAGE_COLUMNS = [
  'call_sid',
  'account',
  'direction',
  'started_at',
  'ended_at',
  'duration_s',
  'talk_s',
  'user',
  'caller',
  'destination',
  'destination_class',
  'code',
  'code_description',
  'code_kind',
  'code_status',
  'attempts',
  'outcome',
  'entry_point',
] as const;

/** The columns of `summary-YYYY-MM.csv`, in order (docs/data-model.md). */
export const SUMMARY_COLUMNS = ['code', 'code_description', 'code_kind', 'calls', 'talk_s', 'billable_minutes', 'first_call', 'last_call', 'ref'] as const;

/** How a spreadsheet types a column's cells: text (codes keep their zeros), a number, or a local time. */
export type CellKind = 'text' | 'number' | 'time';

const NUMBER_COLUMNS: ReadonlySet<string> = new Set(['duration_s', 'talk_s', 'attempts', 'calls', 'billable_minutes']);
const TIME_COLUMNS: ReadonlySet<string> = new Set(['started_at', 'ended_at', 'first_call', 'last_call']);

/** The columns of a usage or summary file with the type of their cells, for the `.xlsx` twin. */
export function typedColumns(columns: readonly string[]): { readonly header: string; readonly kind: CellKind }[] {
  return columns.map((header) => ({ header, kind: NUMBER_COLUMNS.has(header) ? 'number' : TIME_COLUMNS.has(header) ? 'time' : 'text' }));
}

const FILE = { formulaSafe: true } as const;
const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const whole = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');

function localIso(iso: string | undefined, timeZone: string): string {
  if (iso === undefined) return '';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : localIsoFormatter(timeZone)(t);
}

const WINDOW_MS = 15 * 60_000;
const isoFormatters = new Map<string, (epochMs: number) => string>();
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * {@link toLocalIso} for many instants of one zone, fast: a day's file formats two times a
 * row, and `Intl` formatting is most of the cost of a row. The zone's offset is looked up once
 * per 15 minutes of time (a window whose two ends agree has no offset change inside it: zones
 * change at most once in far longer) and the local time computed from it; a window with a
 * change, or where the result would differ from {@link toLocalIso} (historic offsets with
 * seconds), falls back to it.
 */
export function localIsoFormatter(timeZone: string): (epochMs: number) => string {
  let format = isoFormatters.get(timeZone);
  if (format !== undefined) return format;
  const offsets = new Map<number, number>();
  const fast = (t: number, offset: number): string => {
    const d = new Date(t + offset * 60_000);
    const abs = Math.abs(offset);
    return (
      `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
      `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
    );
  };
  format = (epochMs: number): string => {
    const t = Math.floor(epochMs / 1000) * 1000;
    const w = Math.floor(t / WINDOW_MS);
    let offset = offsets.get(w);
    if (offset === undefined) {
      const start = w * WINDOW_MS;
      const a = utcOffsetMinutes(new Date(start), timeZone);
      const b = utcOffsetMinutes(new Date(start + WINDOW_MS - 1000), timeZone);
      offset = a === b && fast(start, a) === toLocalIso(new Date(start), timeZone) ? a : Number.NaN;
      if (offsets.size >= 4096) offsets.clear();
      offsets.set(w, offset);
    }
    return Number.isNaN(offset) ? toLocalIso(new Date(t), timeZone) : fast(t, offset);
  };
  isoFormatters.set(timeZone, format);
  return format;
}

/**
 * The values of one usage row, in {@link USAGE_COLUMNS} order, before CSV quoting. Times are
 * local to the account with their UTC offset; an authorization code's digits never appear
 * (the record holds none, and `code` is left empty for that kind whatever the record says).
 */
export function usageValues(r: CallState, timeZone: string): string[] {
  const ended = r.phase === 'ended' && r.outcome !== undefined;
  return [
    text(r.callSid),
    text(r.account),
    text(r.direction),
    localIso(r.startedAt, timeZone),
    ended ? localIso(r.endedAt, timeZone) : '',
    ended ? whole(r.durationS) : '',
    ended ? whole(r.talkS ?? 0) : '',
    text(r.user),
    text(r.caller),
    text(r.destination),
    text(r.destinationClass),
    r.codeKind === 'account' ? text(r.code) : '',
    text(r.codeDescription),
    text(r.codeKind),
    text(r.codeStatus),
    whole(r.attempts),
    ended ? text(r.outcome) : '',
    text(r.entryPoint),
  ];
}

/** The first bytes of a usage file: the byte-order mark Excel needs, and the header. */
export function usageHeader(): string {
  return UTF8_BOM + csvLine(USAGE_COLUMNS, FILE);
}

/** One usage row, quoted and formula-guarded, with its CRLF. */
export function usageLine(r: CallState, timeZone: string): string {
  return csvLine(usageValues(r, timeZone), FILE);
}

// ---------------------------------------------------------------------------------------
// Per-code totals and the monthly summary

/** One code's calls over a day or a month. Plain data: it is stored per day and merged per month. */
export interface CodeTotals {
  /** `A:<digits>` for an account code, `Z:<ref>` for an authorization code, `` for calls with no code. */
  readonly key: string;
  /** The digits of an account code; empty for the other two. */
  readonly code: string;
  /** The ref of an authorization code (tells two with the same description apart); empty for the other two. */
  readonly ref?: string;
  /** The description of the latest call's code (a code renamed mid-month shows its new name). */
  readonly description: string;
  readonly kind: CodeKind | '';
  readonly calls: number;
  readonly talkS: number;
  readonly billableMinutes: number;
  /** Start of the first and of the last call, epoch milliseconds. */
  readonly firstCall: number;
  readonly lastCall: number;
}

/**
 * Billable minutes of one call: an answered call rounds up to the account's billing increment
 * (`billingIncrementSeconds`, 60 by default: 125 s → 3 minutes; 360, tenths of an hour: 125 s → 6).
 */
export function billableMinutes(talkS: number | undefined, incrementSeconds = 60): number {
  if (talkS === undefined || !Number.isFinite(talkS) || talkS <= 0) return 0;
  return (Math.ceil(talkS / incrementSeconds) * incrementSeconds) / 60;
}

/** The totals key and label of a record's code. */
function codeOf(r: CallState): Pick<CodeTotals, 'key' | 'code' | 'kind' | 'ref'> {
  if (r.codeKind === 'account' && r.code !== undefined && r.code !== '') return { key: `A:${r.code}`, code: r.code, kind: 'account' };
  if (r.codeKind === 'authorization') return { key: `Z:${r.codeRef ?? r.codeDescription ?? ''}`, code: '', ref: r.codeRef ?? '', kind: 'authorization' };
  return { key: '', code: '', kind: '' };
}

/**
 * Per-code totals, built call by call or by merging stored totals. The result does not depend
 * on the order things are added in, so a month's summary is the same however its days are read.
 */
export class TotalsBuilder {
  private readonly byKey = new Map<string, CodeTotals>();
  private readonly incrementSeconds: number;

  /** `incrementSeconds`: what each answered call's talk time is rounded up to (billingIncrementSeconds). */
  constructor(incrementSeconds = 60) {
    this.incrementSeconds = incrementSeconds;
  }

  /** Count one call. */
  add(r: CallState): void {
    const started = Date.parse(r.startedAt);
    const at = Number.isNaN(started) ? 0 : started;
    const talk = typeof r.talkS === 'number' && Number.isFinite(r.talkS) ? Math.max(0, r.talkS) : 0;
    this.merge({
      ...codeOf(r),
      description: r.codeDescription ?? '',
      calls: 1,
      talkS: talk,
      billableMinutes: billableMinutes(talk, this.incrementSeconds),
      firstCall: at,
      lastCall: at,
    });
  }

  /** Add totals counted elsewhere (another day of the month). */
  merge(t: CodeTotals): void {
    const had = this.byKey.get(t.key);
    if (had === undefined) {
      this.byKey.set(t.key, { ...t });
      return;
    }
    // The latest call names the code; on a tie the greater text wins, so order never matters.
    const newer = t.lastCall > had.lastCall || (t.lastCall === had.lastCall && t.description > had.description);
    this.byKey.set(t.key, {
      key: t.key,
      code: had.code,
      ...(had.ref === undefined ? {} : { ref: had.ref }),
      kind: had.kind,
      description: newer ? t.description : had.description,
      calls: had.calls + t.calls,
      talkS: had.talkS + t.talkS,
      billableMinutes: had.billableMinutes + t.billableMinutes,
      firstCall: Math.min(had.firstCall, t.firstCall),
      lastCall: Math.max(had.lastCall, t.lastCall),
    });
  }

  /** Account codes by their digits (as text: `0042` before `0107`), then authorization codes by description, then the no-code row. */
  list(): CodeTotals[] {
    const rank = (t: CodeTotals) => (t.kind === 'account' ? 0 : t.kind === 'authorization' ? 1 : 2);
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return [...this.byKey.values()].sort((a, b) => rank(a) - rank(b) || cmp(a.code, b.code) || cmp(a.description, b.description) || cmp(a.key, b.key));
  }
}

/** The first bytes of a summary file. */
export function summaryHeader(): string {
  return UTF8_BOM + csvLine(SUMMARY_COLUMNS, FILE);
}

/** One summary row in {@link SUMMARY_COLUMNS} order, before quoting. */
export function summaryValues(t: CodeTotals, timeZone: string): string[] {
  return [
    t.code,
    t.description,
    t.kind,
    String(t.calls),
    String(t.talkS),
    formatMinutes(t.billableMinutes),
    localIsoFormatter(timeZone)(t.firstCall),
    localIsoFormatter(timeZone)(t.lastCall),
    refOf(t),
  ];
}

/** Whole minutes as an integer; an increment that is not a whole minute (90 s) leaves at most two decimals. */
function formatMinutes(minutes: number): string {
  return Number.isInteger(minutes) ? String(minutes) : String(Math.round(minutes * 100) / 100);
}

/** The ref of an authorization code's row: its own, or (totals stored before refs were kept) from its key. */
function refOf(t: CodeTotals): string {
  if (t.kind !== 'authorization') return '';
  if (t.ref !== undefined && t.ref !== '') return t.ref;
  const fromKey = t.key.slice(2);
  return /^[0-9a-f]{8}$/.test(fromKey) ? fromKey : '';
}

export function summaryLine(t: CodeTotals, timeZone: string): string {
  return csvLine(summaryValues(t, timeZone), FILE);
}

// ---------------------------------------------------------------------------------------
// Where the files go

const YEAR_MONTH = /^(\d{4})-(\d{2})$/;

/** True for `YYYY-MM` with a month 01–12. */
export function isMonth(s: string): boolean {
  const m = YEAR_MONTH.exec(s);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 12;
}

/** `YYYY-MM` of a `YYYY-MM-DD` day. */
export function monthOf(day: string): string {
  return day.slice(0, 7);
}

/** `exports/<account>/usage/YYYY/MM/`: the folder of a month's files. */
export function usageMonthPrefix(account: string, month: string): string {
  if (!isMonth(month)) throw new RangeError(`not a month (YYYY-MM): ${month}`);
  return `exports/${account}/usage/${month.slice(0, 4)}/${month.slice(5, 7)}/`;
}

/** `exports/<account>/usage/YYYY/MM/usage-YYYY-MM-DD.csv` */
export function usageDayKey(account: string, day: string): string {
  if (!isIsoDate(day)) throw new RangeError(`not a date (YYYY-MM-DD): ${day}`);
  return `${usageMonthPrefix(account, monthOf(day))}usage-${day}.csv`;
}

/** `exports/<account>/usage/YYYY/MM/summary-YYYY-MM.csv` */
export function usageSummaryKey(account: string, month: string): string {
  return `${usageMonthPrefix(account, month)}summary-${month}.csv`;
}

// ---------------------------------------------------------------------------------------
// Which days a run writes

/** `date` moved by `n` days (negative: back). */
export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d + n);
  return `${String(t.getUTCFullYear()).padStart(4, '0')}-${String(t.getUTCMonth() + 1).padStart(2, '0')}-${String(t.getUTCDate()).padStart(2, '0')}`;
}

/** Every day of a month, in order. */
export function daysOfMonth(month: string): string[] {
  if (!isMonth(month)) throw new RangeError(`not a month (YYYY-MM): ${month}`);
  const days: string[] = [];
  for (let d = `${month}-01`; monthOf(d) === month; d = nextDate(d)) days.push(d);
  return days;
}

/** The instant a local day ends (the next day's first instant; 23 or 25 hours after it began on DST days). */
export function endOfLocalDay(day: string, timeZone: string): Date {
  return startOfLocalDay(nextDate(day), timeZone);
}

/**
 * The latest local day whose export is due at `now`: one that ended at least `delayMinutes`
 * ago. Local dates only grow with time, so that is the day before the local date of
 * `now − delay`.
 */
export function lastDueDay(now: Date, timeZone: string, delayMinutes: number): string {
  return addDays(localDate(new Date(now.getTime() - delayMinutes * 60_000), timeZone), -1);
}

/** What the ledger remembers of a written day, as far as planning needs it. */
export interface WrittenDay {
  /** Records written after this instant may be missing from the file (ISO). */
  readonly watermark: string;
  /** When a change to the day's records was last reported (after-call tagging), by the reporter's clock (ISO). */
  readonly changedAt?: string;
  /** How many changes were reported for the day, ever. */
  readonly changes?: number;
  /** How many of those had been reported when the file's records were read. */
  readonly changesWritten?: number;
}

/**
 * A reported change is in the file only when it was counted before the read began (no clock
 * involved: the reporter's may be off) and it was reported before the watermark (the day index
 * may lag a moment behind the record). Either way round, the day is written again; a change
 * inside the margin may cost one more write of the same bytes, never a missed change.
 */
export function changeReported(day: WrittenDay): boolean {
  return (day.changes ?? 0) > (day.changesWritten ?? 0) || (day.changedAt !== undefined && day.changedAt > day.watermark);
}

export interface ExportPlanInput {
  readonly now: Date;
  readonly timeZone: string;
  readonly exportDelayMinutes: number;
  /** Days written before, by day. */
  readonly written: ReadonlyMap<string, WrittenDay>;
  /**
   * The account's first day with calls among the days before its earliest written day (all
   * of them when none is written), within the look-back; undefined when there is none.
   */
  readonly firstCallDay: string | undefined;
  /** How far back an hourly run looks for days not written yet. */
  readonly lookbackDays: number;
  /** Written days this recent are checked for records changed after their watermark. */
  readonly recheckDays: number;
}

export interface ExportPlan {
  /** Due and never written: write, oldest first. */
  readonly write: readonly string[];
  /** Written, then reported changed: write again. */
  readonly rewrite: readonly string[];
  /** Written recently: write again if some record was written after the day's watermark. */
  readonly recheck: readonly { readonly day: string; readonly since: string }[];
}

/**
 * The days before the account's earliest written day (all, when none is) within the
 * look-back: where its first call may be. None for an account written for longer than that.
 */
export function daysToProbe(now: Date, timeZone: string, exportDelayMinutes: number, earliestWritten: string | undefined, lookbackDays: number): string[] {
  const lastDue = lastDueDay(now, timeZone, exportDelayMinutes);
  const days: string[] = [];
  for (let d = addDays(lastDue, -(Math.max(1, lookbackDays) - 1)); d <= lastDue && (earliestWritten === undefined || d < earliestWritten); d = nextDate(d)) days.push(d);
  return days;
}

/**
 * Which days an hourly run writes for one account. A due day with no file is written from the
 * account's first day onwards — a day without calls gets a file with only the header, so a
 * missing file always means "not exported yet", never "no calls" — but never more than
 * `lookbackDays` back. Recent written days are checked for late changes (status callbacks
 * come up to a day after a long call started); older ones are rewritten only when a change is
 * reported to the ledger (tagging does that).
 */
export function planExport(input: ExportPlanInput): ExportPlan {
  const lastDue = lastDueDay(input.now, input.timeZone, input.exportDelayMinutes);
  const writtenDays = [...input.written.keys()].sort();
  const earliest = writtenDays[0];
  const first = earliest === undefined || (input.firstCallDay !== undefined && input.firstCallDay < earliest) ? input.firstCallDay : earliest;
  const write: string[] = [];
  if (first !== undefined) {
    const lookbackStart = addDays(lastDue, -(Math.max(1, input.lookbackDays) - 1));
    // biome-ignore lint/complexity/useMathMinMax: days are YYYY-MM-DD text, compared as text; Math.max would make them numbers.
    for (let d = first > lookbackStart ? first : lookbackStart; d <= lastDue; d = nextDate(d)) {
      if (!input.written.has(d)) write.push(d);
    }
  }
  const rewrite: string[] = [];
  const recheck: { day: string; since: string }[] = [];
  const recheckFrom = addDays(lastDue, -(Math.max(0, input.recheckDays) - 1));
  for (const day of writtenDays) {
    const mark = input.written.get(day) as WrittenDay;
    if (changeReported(mark)) rewrite.push(day);
    else if (day >= recheckFrom) recheck.push({ day, since: mark.watermark });
  }
  return { write, rewrite, recheck };
}
