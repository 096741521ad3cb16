import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvFormatError, MAX_COLUMNS, decodeCsvBytes, detectDelimiter, readCsv, type ColumnSpec, type CsvRecord } from '../../functions/core/csv.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/csv');
const fixture = (name: string): Uint8Array => readFileSync(join(FIXTURES, name));

/** A byte source as S3 or a file stream hands it over, in chunks of `size` bytes. */
async function* chunked(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const utf16le = (text: string): Uint8Array => new Uint8Array([0xff, 0xfe, ...Buffer.from(text, 'utf16le')]);
const utf16be = (text: string): Uint8Array => new Uint8Array([0xfe, 0xff, ...Buffer.from(text, 'utf16le').swap16()]);

async function decodeAll(bytes: Uint8Array, size?: number): Promise<string> {
  let out = '';
  for await (const text of decodeCsvBytes(chunked(bytes, size))) out += text;
  return out;
}

const COLUMNS: ColumnSpec = {
  code: { required: true, synonyms: ['account code', 'auth code'] },
  description: { synonyms: ['desc', 'name'] },
  kind: { synonyms: ['type'] },
  enabled: {},
  expires: {},
  level: { synonyms: ['auth level'] },
  users: {},
  groups: {},
  caller_ids: { synonyms: ['caller id', 'cli'] },
  action: {},
};

async function records(bytes: Uint8Array, size?: number, spec: ColumnSpec = COLUMNS): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const rec of readCsv(chunked(bytes, size), spec)) out.push(rec);
  return out;
}
const read = (text: string, spec: ColumnSpec = COLUMNS) => records(utf8(text), undefined, spec);

async function formatError(promise: Promise<unknown>): Promise<CsvFormatError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CsvFormatError);
    return err as CsvFormatError;
  }
  throw new Error('expected a CsvFormatError');
}

describe('decodeCsvBytes', () => {
  it('drops a UTF-8 byte-order mark', async () => {
    expect(await decodeAll(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('code\r\n0042\r\n')]))).toBe('code\r\n0042\r\n');
  });

  it('reads a file without a byte-order mark as UTF-8', async () => {
    expect(await decodeAll(utf8('code,description\nÉcole,ok\n'))).toBe('code,description\nÉcole,ok\n');
  });

  it('reads UTF-16LE and UTF-16BE by their byte-order mark', async () => {
    const text = 'Auth Code\tName\r\n0815\t東京 🚀\r\n';
    expect(await decodeAll(utf16le(text))).toBe(text);
    expect(await decodeAll(utf16be(text))).toBe(text);
  });

  it('decodes characters split across chunks, one byte at a time', async () => {
    const text = 'code;description\r\n0042;€ Müller 🚀 東京\r\n';
    expect(await decodeAll(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(text)]), 1)).toBe(text);
    expect(await decodeAll(utf16le(text), 1)).toBe(text);
    expect(await decodeAll(utf16be(text), 1)).toBe(text);
  });

  it('yields nothing for an empty file, and keeps a file shorter than a BOM', async () => {
    expect(await decodeAll(new Uint8Array())).toBe('');
    expect(await decodeAll(utf8('a'))).toBe('a');
    expect(await decodeAll(new Uint8Array([0xef, 0xbb, 0xbf]))).toBe('');
  });

  it('refuses Windows code page text (Excel "CSV (Comma delimited)"), naming the line and CSV UTF-8', async () => {
    const err = await formatError(decodeAll(fixture('excel-ansi-cp1252.csv')));
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/not valid UTF-8 \(near line 3\)/);
    expect(err.message).toContain('save it as "CSV UTF-8"');
  });

  it('finds the line of bad bytes in a later chunk too', async () => {
    const bytes = new Uint8Array([...utf8('code\n'.repeat(1000)), 0xe9, 0x0a]);
    const err = await formatError(decodeAll(bytes, 7));
    expect(err.line).toBe(1001);
  });

  it('counts CRLF, LF and lone CR line ends for the error line, even when a CRLF is split between chunks', async () => {
    const bytes = new Uint8Array([...utf8('a\r\nb\rc\n\r\nd\r'), 0xff]);
    for (const size of [1, 2, 3, 64]) expect((await formatError(decodeAll(bytes, size))).line, `chunks of ${size}`).toBe(6);
  });

  it('refuses a file that ends in the middle of a character', async () => {
    const err = await formatError(decodeAll(new Uint8Array([...utf8('code\n12'), 0xe2, 0x82])));
    expect(err.message).toContain('CSV UTF-8');
  });

  it('refuses broken UTF-16 (a lone surrogate)', async () => {
    const err = await formatError(decodeAll(new Uint8Array([0xff, 0xfe, 0x61, 0x00, 0x00, 0xd8, 0x61, 0x00])));
    expect(err.message).toContain('not valid UTF-16');
  });

  it('recognises an Excel workbook uploaded instead of CSV', async () => {
    const xlsx = await formatError(decodeAll(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00])));
    expect(xlsx.message).toMatch(/Excel workbook \(\.xlsx\).*CSV UTF-8/);
    const xls = await formatError(decodeAll(new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])));
    expect(xls.message).toContain('(.xls)');
  });

  it('refuses UTF-16 without a byte-order mark instead of reading NULs as text', async () => {
    const err = await formatError(decodeAll(Buffer.from('code\r\n0042\r\n', 'utf16le')));
    expect(err.message).toContain('NUL bytes');
  });
});

describe('detectDelimiter', () => {
  const rows: [header: string, expected: ',' | ';' | '\t', why: string][] = [
    ['code,description,kind', ',', 'commas (Excel US, Google Sheets)'],
    ['Account Code;Description;Kind', ';', 'semicolons (Excel on a German or French locale)'],
    ['Auth Code\tName\tType', '\t', 'tabs (Excel "Unicode Text")'],
    ['"Code, the digits";Description;Kind', ';', 'a comma inside quotes does not count'],
    ['code;description,with comma;kind', ';', 'the most frequent wins'],
    ['code,description;kind', ',', 'a tie goes to the comma'],
    ['code', ',', 'a one-column file'],
    ['', ',', 'nothing to go on'],
  ];
  it.each(rows)('%j → %j (%s)', (header, expected) => {
    expect(detectDelimiter(header)).toBe(expected);
  });
});

describe('readCsv', () => {
  describe('files as spreadsheets save them', () => {
    it('reads Excel "CSV UTF-8" on a German locale: BOM, CRLF, semicolons, ="0007", blank and ;;; rows', async () => {
      const recs = await records(fixture('excel-de-utf8-bom-semicolon.csv'));
      expect(recs.map((r) => r.line)).toEqual([2, 3, 5, 7]);
      expect(recs[0]?.fields).toEqual({
        code: '0042',
        description: 'Müller & Söhne GmbH – Akte 2024/17',
        kind: 'account',
        enabled: 'yes',
        expires: '2026-12-31',
        level: '',
        users: '',
        groups: 'lawyers',
        caller_ids: '+49 30 1234567',
      });
      expect(recs[1]?.fields.code).toBe('="0007"');
      expect(recs[1]?.fields.description).toBe('Café de Flore; Paris');
      expect(recs[2]?.fields.users).toBe('client:alice;sip:Bob@acme.sip.twilio.com');
      expect(recs[3]?.fields).toMatchObject({ code: '00815', description: 'Meier; Schulz & Partner', enabled: 'no' });
    });

    it('reads Excel "Unicode Text": UTF-16LE, tabs, header synonyms', async () => {
      const recs = await records(fixture('excel-unicode-text-utf16le-tab.txt'));
      expect(recs).toEqual([
        { line: 2, fields: { code: '0815', description: '東京オフィス', kind: 'account', level: '' } },
        { line: 3, fields: { code: '4711', description: 'Projekt 🚀 Mars', kind: 'account', level: '' } },
        { line: 4, fields: { code: '99887766', description: 'Finance director', kind: 'authorization', level: '3' } },
      ]);
    });

    it('reads a Google Sheets download: no BOM, LF, no line end after the last row', async () => {
      const recs = await records(fixture('google-sheets-utf8-lf.csv'));
      expect(recs.map((r) => [r.line, r.fields.code, r.fields.description, r.fields.action])).toEqual([
        [2, '1001', 'Smith, Jones & Co', ''],
        [3, '1002', 'The "Big" Client', ''],
        [4, '2001', 'Partner line', 'upsert'],
        [5, '1003', '', 'delete'],
      ]);
      expect(recs[0]?.fields.caller_ids).toBe('+14155550100;+14155550101');
    });

    it('reads quoted values holding delimiters, quotes and line breaks, and counts lines across them', async () => {
      const recs = await records(fixture('quotes-and-newlines.csv'));
      expect(recs.map((r) => [r.line, r.fields.code, r.fields.description])).toEqual([
        [2, '5001', 'Acme, Inc.'],
        [3, '5002', '27" monitor "Pro"'],
        [4, '5003', 'First line\r\nsecond line'],
        [6, '="0042"', 'Hand-edited: Excel formula keeps the zeros'],
        [8, '5004', '"Quoted" start, comma'],
      ]);
    });

    it('reads old Mac Excel files with CR line ends', async () => {
      const recs = await records(fixture('excel-mac-cr.csv'));
      expect(recs).toEqual([
        { line: 2, fields: { code: '1234', description: 'Acme' } },
        { line: 3, fields: { code: '5678', description: 'Globex' } },
      ]);
    });

    it('gives the same records when the bytes arrive one at a time', async () => {
      for (const name of ['excel-de-utf8-bom-semicolon.csv', 'excel-unicode-text-utf16le-tab.txt', 'google-sheets-utf8-lf.csv', 'quotes-and-newlines.csv', 'excel-mac-cr.csv']) {
        expect(await records(fixture(name), 1), name).toEqual(await records(fixture(name)));
      }
    });
  });

  describe('the header', () => {
    it('matches column names in any case and order, ignoring spaces, "_" and "-"', async () => {
      const recs = await read('CALLER-IDS,Account_Code, Desc ,AUTH LEVEL\n+14155550100,0042,Acme,\n');
      expect(recs[0]?.fields).toEqual({ caller_ids: '+14155550100', code: '0042', description: 'Acme', level: '' });
    });

    it('leaves out the columns a file does not have', async () => {
      const recs = await read('code\n0042\n');
      expect(recs[0]?.fields).toEqual({ code: '0042' });
    });

    it('ignores an unnamed column Excel adds when nothing is in it', async () => {
      const recs = await read('code;description;;\r\n0042;Acme;;\r\n');
      expect(recs[0]?.fields).toEqual({ code: '0042', description: 'Acme' });
    });

    it('refuses a value in a column without a name', async () => {
      const err = await formatError(read('code,description,\n0042,Acme,stray\n'));
      expect(err.line).toBe(2);
      expect(err.message).toContain('column 3, which has no name in the header');
    });

    it('refuses an unknown column, listing the columns there are', async () => {
      const err = await formatError(records(fixture('unknown-column.csv')));
      expect(err.problems).toEqual([
        {
          line: 1,
          column: 'colour',
          value: 'colour',
          message: `unknown column "colour": the columns are ${Object.keys(COLUMNS).join(', ')}; rename it or delete the column`,
        },
      ]);
    });

    it('refuses two columns that mean the same, naming both', async () => {
      const err = await formatError(read('Account Code,description,code\n0042,Acme,0042\n'));
      expect(err.problems[0]?.message).toBe('column "code" (column 3) is the same column as "Account Code" (column 1), both mean code: delete one of them');
    });

    it('refuses a file without a required column', async () => {
      const err = await formatError(read('description,kind\nAcme,account\n'));
      expect(err.problems[0]).toMatchObject({ line: 1, column: 'code' });
      expect(err.message).toContain('the required column "code" is missing');
    });

    it('lists every header problem at once', async () => {
      const err = await formatError(read('colour,size,desc\n'));
      expect(err.problems.map((p) => p.column)).toEqual(['colour', 'size', 'code']);
    });

    it(`refuses more than ${MAX_COLUMNS} columns`, async () => {
      const err = await formatError(read(`code,${Array.from({ length: MAX_COLUMNS }, (_, i) => `c${i}`).join(',')}\n`));
      expect(err.message).toContain(`at most ${MAX_COLUMNS}`);
    });

    it('refuses an empty file, and one of only blank lines, saying what the first line must be', async () => {
      for (const text of ['', '\r\n\r\n', ';;;\r\n;;;\r\n', '\uFEFF']) {
        const err = await formatError(read(text));
        expect(err.message).toBe(`line 1: the file is empty: the first line must name the columns (${Object.keys(COLUMNS).join(', ')})`);
      }
    });

    it('reads a header without rows as no records', async () => {
      expect(await read('code,description\r\n')).toEqual([]);
    });

    it('finds the header below blank lines', async () => {
      const recs = await read('\r\n;;\r\ncode;description\r\n0042;Acme\r\n');
      expect(recs).toEqual([{ line: 4, fields: { code: '0042', description: 'Acme' } }]);
    });
  });

  describe('values', () => {
    it('trims whitespace around unquoted values and keeps it inside quotes', async () => {
      const recs = await read('code,description\n  0042 \t,"  spaced  "\n\u00a00043\u00a0, plain \n');
      expect(recs.map((r) => r.fields)).toEqual([
        { code: '0042', description: '  spaced  ' },
        { code: '0043', description: 'plain' },
      ]);
    });

    it('skips blank lines and lines of nothing but delimiters, keeping line numbers', async () => {
      const recs = await read('code;description\r\n\r\n0042;a\r\n;;\r\n;\r\n   \r\n0043;b\r\n\r\n');
      expect(recs.map((r) => [r.line, r.fields.code])).toEqual([
        [3, '0042'],
        [7, '0043'],
      ]);
    });

    it('keeps a quote inside an unquoted value, so ="0042" and 5" screen arrive as typed', async () => {
      const recs = await read('code,description\n="0042",5" screen\n');
      expect(recs[0]?.fields).toEqual({ code: '="0042"', description: '5" screen' });
    });

    it('reads mixed line ends, as files edited in two programs have', async () => {
      const recs = await read('code,description\r\n0042,a\n0043,b\r0044,c');
      expect(recs.map((r) => [r.line, r.fields.code])).toEqual([
        [2, '0042'],
        [3, '0043'],
        [4, '0044'],
      ]);
    });
  });

  describe('broken files', () => {
    it('refuses a line with more values than the header, saying to quote the delimiter', async () => {
      const err = await formatError(read('code,description\n0042,Acme\n0043,Smith, Jones\n'));
      expect(err.line).toBe(3);
      expect(err.message).toBe('line 3: has 3 values but the header has 2 columns: a value that contains the delimiter (",") must be in double quotes');
    });

    it('refuses a line with fewer values than the header', async () => {
      const err = await formatError(read('code;description;kind\r\n0042;Acme\r\n'));
      expect(err.line).toBe(2);
      expect(err.message).toContain('(";")');
    });

    it('refuses a quote that is never closed, at the line it opens', async () => {
      const err = await formatError(read('code,description\n0042,ok\n\n0043,"never closed\n0044,x\n0045,y\n'));
      expect(err.line).toBe(4);
      expect(err.message).toContain('never closed');
    });

    it('refuses text after a closing quote', async () => {
      const err = await formatError(read('code,description\n0042,ok\n0043,"Smith" and Jones\n'));
      expect(err.line).toBe(3);
      expect(err.message).toContain('double the quotes inside it');
    });

    it('refuses a record over 64 KB instead of holding the rest of the file', async () => {
      const err = await formatError(read(`code,description\n0042,ok\n0043,"${'x'.repeat(70 * 1024)}"\n`));
      expect(err.line).toBe(3);
      expect(err.message).toContain('longer than 64 KB');
      const runaway = await formatError(read(`code,description\n0042,"oops\n${'0043,fine\n'.repeat(10_000)}`));
      expect(runaway.line).toBe(2);
    });

    it('counts lines after a quoted CRLF correctly in errors', async () => {
      const err = await formatError(read('code,description\r\n0042,"two\r\nlines"\r\n0043,a,b\r\n'));
      expect(err.line).toBe(4);
    });

    it('reports decoding problems from readCsv too', async () => {
      const err = await formatError(records(fixture('excel-ansi-cp1252.csv')));
      expect(err.line).toBe(3);
    });
  });

  describe('streaming', () => {
    it('stops reading the source when the reader stops early', async () => {
      let closed = false;
      let chunks = 0;
      async function* source(): AsyncGenerator<Uint8Array> {
        try {
          yield utf8('code,description\n');
          for (;;) {
            chunks++;
            yield utf8('0042,x\n'.repeat(100));
          }
        } finally {
          closed = true;
        }
      }
      let n = 0;
      for await (const _ of readCsv(source(), COLUMNS)) if (++n === 150) break;
      expect(closed).toBe(true);
      // Read ahead is the pipes' buffers (64 KB each in Node 22), not the file.
      expect(chunks * 700).toBeLessThan(256 * 1024);
    });

    it('closes the source when the file is broken', async () => {
      let closed = false;
      async function* source(): AsyncGenerator<Uint8Array> {
        try {
          yield utf8('code,description\n0042,a,b\n');
          for (;;) yield utf8('0043,c\n');
        } finally {
          closed = true;
        }
      }
      const err = await formatError(
        (async () => {
          for await (const _ of readCsv(source(), COLUMNS));
        })(),
      );
      expect(err.line).toBe(2);
      expect(closed).toBe(true);
    });

    it('reads 200,000 rows a chunk at a time, never far ahead of the reader, with flat memory', async () => {
      const ROWS = 200_000;
      let produced = 0;
      async function* source(): AsyncGenerator<Uint8Array> {
        yield utf8('Account Code;Description;Kind;Enabled\r\n');
        const encoder = new TextEncoder();
        while (produced < ROWS) {
          let text = '';
          for (let i = 0; i < 1000 && produced < ROWS; i++, produced++) {
            text += `${String(produced).padStart(7, '0')};"Client ${produced}; matter ${produced % 977}";account;yes\r\n`;
          }
          yield encoder.encode(text);
        }
      }
      // A real garbage collector, so the heap can be measured without the noise of garbage.
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      gc();
      const before = process.memoryUsage().heapUsed;
      let read = 0;
      let maxAhead = 0;
      let maxGrowth = 0;
      for await (const rec of readCsv(source(), COLUMNS)) {
        read++;
        maxAhead = Math.max(maxAhead, produced - read);
        if (read % 50_000 === 0) {
          expect(rec.fields.code).toBe(String(read - 1).padStart(7, '0'));
          gc();
          maxGrowth = Math.max(maxGrowth, process.memoryUsage().heapUsed - before);
        }
      }
      expect(read).toBe(ROWS);
      // A few chunks of 1,000 rows in the pipes, never the file.
      expect(maxAhead).toBeLessThan(10_000);
      // Holding the rows would take well over 50 MB.
      expect(maxGrowth).toBeLessThan(16 * 1024 * 1024);
    });
  });

  describe('properties', () => {
    it('never fails on arbitrary bytes with anything but a CsvFormatError', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            // Mostly text, to get past the decoder into the parser.
            fc.string({ unit: fc.constantFrom('code', 'description', ',', ';', '\t', '"', '\r', '\n', ' ', '0', '4', 'é', '="'), maxLength: 60 }).map(utf8),
          ),
          fc.integer({ min: 1, max: 64 }),
          async (bytes, size) => {
            try {
              for await (const rec of readCsv(chunked(bytes, size), COLUMNS)) {
                expect(Number.isInteger(rec.line)).toBe(true);
              }
            } catch (err) {
              if (!(err instanceof CsvFormatError)) throw err;
              expect(err.line).toBeGreaterThanOrEqual(1);
            }
          },
        ),
        { numRuns: 500 },
      );
    });

    it('reads back any table written with RFC 4180 quoting, whatever the delimiter, line end and chunking', async () => {
      const char = fc.oneof(
        fc.constantFrom(',', ';', '\t', '"', '\r', '\n', '\r\n', ' ', '\u00a0', '='),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\0'),
      );
      const value = fc.string({ unit: char, maxLength: 12 });
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.tuple(
              value.filter((v) => v.trim() !== ''),
              value,
            ),
            { maxLength: 20 },
          ),
          fc.constantFrom(',', ';', '\t'),
          fc.constantFrom('\r\n', '\n'),
          fc.boolean(),
          fc.integer({ min: 1, max: 50 }),
          async (rows, delimiter, eol, bom, size) => {
            const quote = (v: string) => (/[,;\t"\r\n]/.test(v) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v);
            const text = [['code', 'description'], ...rows].map((r) => r.map(quote).join(delimiter)).join(eol);
            const bytes = utf8((bom ? '\uFEFF' : '') + text);
            const recs = await records(bytes, size);
            expect(recs.map((r) => [r.fields.code, r.fields.description])).toEqual(rows);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
