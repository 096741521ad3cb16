/**
 * How the CLI shows things: import reports, tables, a status line for long work, and the dev
 * console's log format. Nothing here prints the digits of an authorization code: reports hide
 * them already, and code listings show only the `ref`.
 */
import type { ImportReport } from '../functions/services/importer.ts';
import type { Logger, LogLevel } from '../functions/services/logger.ts';
import type { OutStream } from './io.ts';

/** How many of a report's errors are printed; the report itself holds the first 1,000. */
export const PRINTED_ERRORS = 50;

/** One report error as `line N, column C: message (value)`; parts that are empty are left out. */
export function formatRowError(e: { readonly line: number; readonly column: string; readonly value: string; readonly message: string }): string {
  const where = [e.line > 0 ? `line ${e.line}` : '', e.column !== '' ? (e.line > 0 ? `column ${e.column}` : e.column) : ''].filter((s) => s !== '');
  const value = e.value !== '' ? ` (${e.value})` : '';
  return `${where.length > 0 ? `${where.join(', ')}: ` : ''}${e.message}${value}`;
}

/** A report for people: the outcome, the counts, each error on its line, where the report is. */
export function formatReport(report: ImportReport, location: string): string {
  const lines: string[] = [];
  if (report.status === 'applied') {
    lines.push(`applied: ${report.file} (${report.mode})`);
    lines.push(`  ${plural(report.rows, 'row')}: ${n(report.created)} created, ${n(report.updated)} updated, ${n(report.unchanged)} unchanged, ${n(report.deleted)} deleted`);
  } else {
    lines.push(`rejected: ${report.file} (${report.mode}): nothing was changed`);
    lines.push(`  ${plural(report.rows, 'row')} read, ${plural(report.errorCount, 'error')}:`);
    for (const e of report.errors.slice(0, PRINTED_ERRORS)) lines.push(`  ${formatRowError(e)}`);
    const more = report.errorCount - Math.min(report.errors.length, PRINTED_ERRORS);
    if (more > 0) {
      lines.push(`  … and ${more.toLocaleString('en-US')} more (the report lists the first ${report.errors.length.toLocaleString('en-US')})`);
    }
  }
  lines.push(`  report: ${location}`);
  return `${lines.join('\n')}\n`;
}

const n = (x: number): string => x.toLocaleString('en-US');

export function plural(n: number, word: string, words = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : words}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Rows as aligned columns. Widths come from the first `sample` rows so a listing of a million
 * codes streams instead of being held; a longer value later just pushes its line wider.
 */
export class TableWriter {
  private readonly out: OutStream;
  private readonly header: readonly string[];
  private readonly sample: number;
  private pending: string[][] | undefined = [];
  private widths: number[] = [];

  constructor(out: OutStream, header: readonly string[], sample = 500) {
    this.out = out;
    this.header = header;
    this.sample = sample;
  }

  row(cells: readonly string[]): void {
    if (this.pending !== undefined) {
      this.pending.push([...cells]);
      if (this.pending.length >= this.sample) this.flush();
      return;
    }
    this.write(cells);
  }

  end(): void {
    this.flush();
  }

  private flush(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    // No rows, no header: the command says in words that there is nothing.
    if (pending.length === 0) return;
    this.widths = this.header.map((h, i) => Math.max(h.length, ...pending.map((r) => (r[i] ?? '').length)));
    this.write(this.header);
    for (const r of pending) this.write(r);
  }

  private write(cells: readonly string[]): void {
    const last = cells.length - 1;
    const text = cells.map((c, i) => (i === last ? c : c.padEnd(this.widths[i] ?? 0))).join('  ');
    this.out.write(`${text.trimEnd()}\n`);
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * One line of progress on a terminal, rewritten in place (stderr, so stdout stays clean for
 * pipes). Does nothing when the stream is not a terminal.
 */
export class StatusLine {
  private readonly out: OutStream;
  private readonly enabled: boolean;
  private text = '';
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(out: OutStream) {
    this.out = out;
    this.enabled = out.isTTY === true;
  }

  /** Show `text` (a function is called again on every tick, for elapsed times). */
  set(text: string | (() => string)): void {
    if (!this.enabled) return;
    const render = (): void => {
      this.text = typeof text === 'function' ? text() : text;
      this.frame = (this.frame + 1) % SPINNER.length;
      this.out.write(`\r\x1b[K${SPINNER[this.frame]} ${this.text}`);
    };
    render();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = setInterval(render, 100);
    this.timer.unref();
  }

  clear(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.enabled && this.text !== '') this.out.write('\r\x1b[K');
    this.text = '';
  }
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * The dev console's logger: `12:00:00 info  import finished key=… status=applied`, one line
 * per event. Same interface and the same facts as the JSON logs the functions write in AWS.
 */
export function consoleLogger(out: OutStream, level: LogLevel = 'info'): Logger {
  const min = LEVEL_ORDER[level];
  const emit = (lvl: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_ORDER[lvl] < min) return;
    const time = new Date().toTimeString().slice(0, 8);
    const parts = Object.entries(fields ?? {}).map(([k, v]) => `${k}=${formatField(v)}`);
    out.write(`${time} ${lvl.padEnd(5)} ${message}${parts.length > 0 ? `  ${parts.join(' ')}` : ''}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

function formatField(value: unknown): string {
  if (value instanceof Error) {
    const cause = value.cause instanceof Error ? ` (cause: ${value.cause.message})` : '';
    return JSON.stringify(`${value.name}: ${value.message}${cause}`);
  }
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}
