/**
 * Reading CSV files as admins really save them (docs/data-model.md): Excel on any locale, Excel "Unicode
 * Text", Google Sheets, a text editor. Bytes are decoded and parsed as a stream, one record at
 * a time, so a 1,000,000-row file needs no more memory than a ten-row one.
 *
 * Structural problems — the file cannot be read as a table — throw a {@link CsvFormatError}.
 * Whether a value makes sense is the business of the row rules (`code-rows.ts`, `user-rows.ts`).
 */
import { Readable, pipeline } from 'node:stream';
import { CsvError, parse, type Options as ParseOptions } from 'csv-parse';

/** One data record: where it starts in the file and its values by canonical column name. */
export interface CsvRecord {
  /** 1-based physical line on which the record starts (the header is line 1 in most files). */
  readonly line: number;
  /** Values by canonical column name; a column the file does not have is absent. */
  readonly fields: Readonly<Record<string, string>>;
}

/** One thing wrong with the structure of a file, in the shape of an import report error. */
export interface CsvHeaderProblem {
  line: number;
  /** The column concerned, as the file names it; empty when the problem is not about one column. */
  column: string;
  value: string;
  message: string;
}

/** A column of a CSV file: other names admins give it, and whether a file must have it. */
export interface ColumnDef {
  readonly synonyms?: readonly string[];
  readonly required?: boolean;
}

/** Canonical column name → its definition. Header names match ignoring case, spaces, '_' and '-'. */
export type ColumnSpec = Readonly<Record<string, ColumnDef>>;

/** The file cannot be read as a table. Every problem found is listed; `line` is the first one's. */
export class CsvFormatError extends Error {
  override readonly name = 'CsvFormatError';
  readonly line: number;
  readonly problems: readonly CsvHeaderProblem[];

  constructor(problems: readonly CsvHeaderProblem[], options?: { cause?: unknown }) {
    const first = problems[0] ?? { line: 1, column: '', value: '', message: 'the file cannot be read as CSV' };
    super(
      problems.length <= 1
        ? `line ${first.line}: ${first.message}`
        : `${problems.length} problems with the header: ${problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')}`,
      options,
    );
    this.line = first.line;
    this.problems = problems.length === 0 ? [first] : problems;
  }

  /** The first problem's column, for a caller that reports one problem. */
  get column(): string {
    return this.problems[0]?.column ?? '';
  }

  get value(): string {
    return this.problems[0]?.value ?? '';
  }
}

/** Longest record (bytes) and widest header accepted: a bound on memory, and a sign of a broken file. */
export const MAX_LINE_BYTES = 64 * 1024;
export const MAX_COLUMNS = 1000;

const formatError = (line: number, message: string, cause?: unknown, column = '', value = ''): CsvFormatError =>
  new CsvFormatError([{ line, column, value, message }], cause === undefined ? undefined : { cause });

const SAVE_AS_UTF8 = 'save it as "CSV UTF-8" (Excel: File › Save As › CSV UTF-8 (Comma delimited); Google Sheets: File › Download › Comma-separated values) and upload it again';

// ---------------------------------------------------------------------------------------------
// Bytes → text

type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/** Counts physical lines the way the parser splits records: CRLF, LF and a lone CR each end one. */
class LineCounter {
  breaks = 0;
  private lastWasCr = false;

  add(text: string): void {
    if (text === '') return;
    let n = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
    // A CR ends a line unless an LF follows (then the LF counted it); a CR that ends the chunk
    // counts now, and its LF, if the next chunk starts with one, does not.
    for (let i = text.indexOf('\r'); i !== -1; i = text.indexOf('\r', i + 1)) if (text.charCodeAt(i + 1) !== 10) n++;
    if (this.lastWasCr && text.charCodeAt(0) === 10) n--;
    this.breaks += n;
    this.lastWasCr = text.charCodeAt(text.length - 1) === 13;
  }

  clone(): LineCounter {
    const c = new LineCounter();
    c.breaks = this.breaks;
    c.lastWasCr = this.lastWasCr;
    return c;
  }
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** Reads the byte-order mark; recognises the binary files admins upload by mistake. */
function sniff(head: Uint8Array): Encoding {
  if (startsWith(head, [0xef, 0xbb, 0xbf])) return 'utf-8';
  if (startsWith(head, [0xff, 0xfe])) return 'utf-16le';
  if (startsWith(head, [0xfe, 0xff])) return 'utf-16be';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) {
    throw formatError(1, `this is an Excel workbook (.xlsx) or another zip file, not CSV: open it in Excel and ${SAVE_AS_UTF8}`);
  }
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0])) {
    throw formatError(1, `this is an old Excel workbook (.xls), not CSV: open it in Excel and ${SAVE_AS_UTF8}`);
  }
  // Without a BOM the file must be UTF-8, which never contains NUL; UTF-16 without a BOM does.
  if (head.subarray(0, 64).includes(0)) {
    throw formatError(1, `the file contains NUL bytes: it is UTF-16 without a byte-order mark, or not a text file at all; ${SAVE_AS_UTF8}`);
  }
  return 'utf-8';
}

/** Where the undecodable bytes are, to within a line: only computed once decoding has failed. */
function lineOfBadBytes(bytes: Uint8Array, encoding: Encoding, before: LineCounter): number {
  let start = 0;
  // A chunk may begin inside a character the previous chunk started; skip those continuation bytes.
  if (encoding === 'utf-8') while (start < 3 && start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  const text = new TextDecoder(encoding).decode(bytes.subarray(start));
  const bad = text.indexOf('\uFFFD');
  const counter = before.clone();
  counter.add(bad < 0 ? text : text.slice(0, bad));
  return counter.breaks + 1;
}

function undecodable(encoding: Encoding, line: number, cause: unknown): CsvFormatError {
  const message =
    encoding === 'utf-8'
      ? `the file is not valid UTF-8 (near line ${line}): it was probably saved as "CSV (Comma delimited)", which uses the Windows code page; ${SAVE_AS_UTF8}`
      : `the file says it is UTF-16 but is not valid UTF-16 (near line ${line}); ${SAVE_AS_UTF8}`;
  return formatError(line, message, cause);
}

/**
 * Bytes → text chunks. The encoding comes from the byte-order mark: UTF-8 (with or without one),
 * UTF-16LE or UTF-16BE (with one, as Excel's "Unicode Text" writes). The BOM itself is dropped.
 * Bytes that are not valid in the encoding throw a {@link CsvFormatError} telling the admin to
 * save the file as "CSV UTF-8". A character split across chunks is decoded whole.
 */
export async function* decodeCsvBytes(source: AsyncIterable<Uint8Array>): AsyncIterable<string> {
  let decoder: InstanceType<typeof TextDecoder> | undefined;
  let encoding: Encoding = 'utf-8';
  // Bytes held back until there are enough to read the BOM and the signature of a binary file.
  let head: Uint8Array | undefined;
  const lines = new LineCounter();

  const decode = (bytes: Uint8Array | undefined, stream: boolean): string => {
    try {
      return (decoder as InstanceType<typeof TextDecoder>).decode(bytes, { stream });
    } catch (err) {
      throw undecodable(encoding, bytes === undefined ? lines.breaks + 1 : lineOfBadBytes(bytes, encoding, lines), err);
    }
  };
  const start = (bytes: Uint8Array): void => {
    encoding = sniff(bytes);
    // The decoder drops the BOM itself (ignoreBOM: false).
    decoder = new TextDecoder(encoding, { fatal: true });
  };

  for await (const chunk of source) {
    let bytes = chunk;
    if (decoder === undefined) {
      head = head === undefined ? chunk : concat(head, chunk);
      if (head.length < 4) continue;
      bytes = head;
      head = undefined;
      start(bytes);
    }
    const text = decode(bytes, true);
    if (text !== '') {
      lines.add(text);
      yield text;
    }
  }
  if (decoder === undefined) {
    if (head === undefined || head.length === 0) return;
    start(head);
    const text = decode(head, true);
    if (text !== '') {
      lines.add(text);
      yield text;
    }
  }
  // Flush: throws when the file ends in the middle of a character.
  const tail = decode(undefined, false);
  if (tail !== '') yield tail;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Delimiter

const DELIMITERS = [',', ';', '\t'] as const;
export type Delimiter = (typeof DELIMITERS)[number];

/**
 * The delimiter of a file from its header line: whichever of `,` `;` and tab occurs most often
 * outside quotes (`,` on a tie or when there is none, as for a one-column file). Excel uses `;`
 * where the decimal separator is a comma (Germany, France…), and tab for "Unicode Text".
 */
export function detectDelimiter(headerLine: string): Delimiter {
  const counts = [0, 0, 0];
  let quoted = false;
  for (let i = 0; i < headerLine.length; i++) {
    const ch = headerLine[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted) {
      const k = DELIMITERS.indexOf(ch as Delimiter);
      if (k >= 0) counts[k] = (counts[k] ?? 0) + 1;
    }
  }
  let best = 0;
  for (let k = 1; k < DELIMITERS.length; k++) if ((counts[k] ?? 0) > (counts[best] ?? 0)) best = k;
  return DELIMITERS[best] ?? ',';
}

/** Header names and synonyms compare without case, spaces, '_' and '-': `Account Code` = `account_code`. */
export function headerKey(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s_-]+/gu, '');
}

// ---------------------------------------------------------------------------------------------
// Header

interface Header {
  /** Canonical name per column index; undefined for a column with an empty header cell. */
  readonly names: readonly (string | undefined)[];
  /** The header cells as the file writes them, for messages. */
  readonly labels: readonly string[];
}

function lookupTable(spec: ColumnSpec): Map<string, string> {
  const table = new Map<string, string>();
  for (const [canonical, def] of Object.entries(spec)) {
    for (const name of [canonical, ...(def.synonyms ?? [])]) {
      const key = headerKey(name);
      const other = table.get(key);
      // A spec that maps one header to two columns is a programming error, not a bad file.
      if (other !== undefined && other !== canonical) throw new Error(`column spec: "${name}" names both ${other} and ${canonical}`);
      table.set(key, canonical);
    }
  }
  return table;
}

function readHeader(cells: readonly string[], line: number, spec: ColumnSpec, table: Map<string, string>): Header {
  const problems: CsvHeaderProblem[] = [];
  const columnList = Object.keys(spec).join(', ');
  if (cells.length > MAX_COLUMNS) {
    throw formatError(line, `the header has ${cells.length} columns; at most ${MAX_COLUMNS} are allowed: check that this is the right file`);
  }
  const names: (string | undefined)[] = [];
  const seen = new Map<string, number>();
  cells.forEach((label, i) => {
    if (label === '') {
      names.push(undefined);
      return;
    }
    const canonical = table.get(headerKey(label));
    names.push(canonical);
    if (canonical === undefined) {
      problems.push({
        line,
        column: label,
        value: label,
        message: `unknown column "${label}": the columns are ${columnList}; rename it or delete the column`,
      });
      return;
    }
    const first = seen.get(canonical);
    if (first !== undefined) {
      const firstLabel = cells[first] ?? canonical;
      problems.push({
        line,
        column: label,
        value: label,
        message: `column "${label}" (column ${i + 1}) is the same column as "${firstLabel}" (column ${first + 1}), both mean ${canonical}: delete one of them`,
      });
      return;
    }
    seen.set(canonical, i);
  });
  for (const [canonical, def] of Object.entries(spec)) {
    if (def.required === true && !seen.has(canonical)) {
      const also =
        def.synonyms !== undefined && def.synonyms.length > 0
          ? ` (or ${def.synonyms
              .slice(0, 2)
              .map((s) => `"${s}"`)
              .join(', ')})`
          : '';
      problems.push({
        line,
        column: canonical,
        value: '',
        message: `the required column "${canonical}" is missing: add a column headed ${canonical}${also}; the first line must name the columns`,
      });
    }
  }
  if (problems.length > 0) throw new CsvFormatError(problems);
  return { names, labels: cells };
}

// ---------------------------------------------------------------------------------------------
// Records

/** Physical line breaks inside a record's values (only quoted values can hold them). */
function breaksIn(record: readonly string[]): number {
  let n = 0;
  for (const value of record) {
    if (value.includes('\n') || value.includes('\r')) n += value.match(/\r\n|\r|\n/gu)?.length ?? 0;
  }
  return n;
}

function isBlank(record: readonly string[]): boolean {
  for (const v of record) if (v !== '') return false;
  return true;
}

/** csv-parse's errors in words an admin can act on. */
function explain(err: CsvError, line: number): CsvFormatError {
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return formatError(
        line,
        `a value that begins with a double quote on or after this line is never closed: end it with a quote, and write a quote inside a quoted value as two quotes ("")`,
        err,
      );
    case 'CSV_MAX_RECORD_SIZE':
      return formatError(
        line,
        `the record starting on or after this line is longer than 64 KB: usually a double quote opens a value and is never closed, so the rest of the file runs into it; check the quotes on this line`,
        err,
      );
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
      return formatError(line, `a quoted value is followed by more text before the next delimiter: quote the whole value and double the quotes inside it ("5"" screen")`, err);
    default:
      return formatError(line, `cannot be read as CSV (${err.message}): check the quotes and delimiters on this line`, err);
  }
}

/** A record as the parser hands it over: its values and the line it starts on. */
interface Parsed {
  readonly line: number;
  readonly record: string[];
}

/** Anything but whitespace, delimiters and quotes: a line without it is blank. */
const HAS_CONTENT = /[^\s,;"\uFEFF]/u;

/** Text up to the first line with content, for delimiter detection, without consuming the stream. */
async function peekHeaderLine(text: AsyncIterator<string>): Promise<{ buffered: string; headerLine: string; done: boolean }> {
  let buffered = '';
  let scanned = 0;
  for (;;) {
    // Look at each complete line once; a line with only delimiters (Excel's `;;;`) is blank.
    const re = /\r\n|\r|\n/gu;
    re.lastIndex = scanned;
    let m: RegExpExecArray | null;
    while ((m = re.exec(buffered)) !== null) {
      const line = buffered.slice(scanned, m.index);
      scanned = m.index + m[0].length;
      if (HAS_CONTENT.test(line)) return { buffered, headerLine: line, done: false };
    }
    if (buffered.length - scanned > MAX_LINE_BYTES) return { buffered, headerLine: buffered.slice(scanned), done: false };
    const next = await text.next();
    if (next.done === true) return { buffered, headerLine: buffered.slice(scanned), done: true };
    buffered += next.value;
  }
}

/**
 * Reads a CSV file: decoding ({@link decodeCsvBytes}), delimiter detection from the header, RFC
 * 4180 quotes, CRLF/LF/CR line ends, whitespace around unquoted values trimmed, blank lines and
 * lines of nothing but delimiters skipped. The header may name the columns of `columns` in any
 * order and spelling (`Account Code` = `code`); values are yielded by canonical name.
 *
 * A double quote inside an unquoted value is kept as it is, so Excel's `="0042"` and a hand
 * typed `5" screen` arrive intact; a value that opens with a quote must still close it.
 *
 * Throws {@link CsvFormatError} for an empty file, an unknown, duplicate or missing required
 * column, more than 1,000 columns, a record longer than 64 KB, unbalanced quotes, or a line
 * with a different number of values than the header. Records are never collected: memory is
 * flat whatever the size of the file.
 */
/** One record's values by column name, once its values match the header. */
function recordFields(record: readonly string[], header: Header, line: number, delimiter: string): Record<string, string> {
  if (record.length !== header.names.length) {
    throw formatError(
      line,
      `has ${record.length} values but the header has ${header.names.length} columns: a value that contains the delimiter (${delimiter === '\t' ? 'a tab' : `"${delimiter}"`}) must be in double quotes`,
    );
  }
  const fields: Record<string, string> = {};
  for (let i = 0; i < record.length; i++) {
    const name = header.names[i];
    const value = record[i] ?? '';
    if (name !== undefined) fields[name] = value;
    else if (value !== '') {
      throw formatError(line, `has a value in column ${i + 1}, which has no name in the header: name the column or delete the value`, undefined, '', value);
    }
  }
  return fields;
}

export async function* readCsv(source: AsyncIterable<Uint8Array>, columns: ColumnSpec): AsyncIterable<CsvRecord> {
  const table = lookupTable(columns);
  const emptyFile = () => formatError(1, `the file is empty: the first line must name the columns (${Object.keys(columns).join(', ')})`);
  const text = decodeCsvBytes(source)[Symbol.asyncIterator]();
  let parser: ReturnType<typeof parse> | undefined;
  // Physical lines of the records the parser has produced, counted as it produces them (it runs
  // ahead of this loop). csv-parse's own `info.lines` counts a CRLF inside a quoted value twice;
  // the blank lines it skips come from `empty_lines`.
  let parsed = 0;
  try {
    const { buffered, headerLine, done } = await peekHeaderLine(text);
    if (done && !HAS_CONTENT.test(buffered)) throw emptyFile();
    const delimiter = detectDelimiter(headerLine);
    const options: ParseOptions<Parsed, string[]> = {
      bom: true,
      delimiter,
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_quotes: true,
      // Field counts are checked below, so that a short line of delimiters still counts as blank.
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      max_record_size: MAX_LINE_BYTES,
      on_record: (record: string[], info: { empty_lines: number }) => {
        const line = parsed + info.empty_lines + 1;
        parsed += 1 + breaksIn(record);
        // Blank, or nothing but delimiters (Excel's `;;;`): dropped before it costs anything more.
        return isBlank(record) ? undefined : { line, record };
      },
    };
    // The typings tie on_record's result to the record type of the overload without columns.
    parser = parse(options as unknown as ParseOptions);
    async function* rest(): AsyncGenerator<string> {
      if (buffered !== '') yield buffered;
      if (done) return;
      for (;;) {
        const next = await text.next();
        if (next.done === true) return;
        yield next.value;
      }
    }
    // highWaterMark 1: read one chunk ahead of the parser, not sixteen.
    pipeline(Readable.from(rest(), { highWaterMark: 1 }), parser, () => {
      // Errors reach the consumer through the parser's iterator.
    });

    let header: Header | undefined;
    for await (const { line, record } of parser as AsyncIterable<Parsed>) {
      if (header === undefined) {
        header = readHeader(record, line, columns, table);
        continue;
      }
      yield { line, fields: recordFields(record, header, line, delimiter) };
    }
    if (header === undefined) throw emptyFile();
  } catch (err) {
    if (err instanceof CsvFormatError) throw err;
    if (err instanceof CsvError) {
      const skipped = (err as CsvError & { empty_lines?: unknown }).empty_lines;
      throw explain(err, parsed + (typeof skipped === 'number' ? skipped : 0) + 1);
    }
    throw err;
  } finally {
    parser?.destroy();
    // Close the source (an S3 body, a file) when the consumer stops early or the file is bad.
    await text.return?.();
  }
}
