/**
 * Codes files as admins really save them, uploaded to the bucket (s3rver) and imported by the
 * real handler through the bucket's own event, into dynalite.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountCodeKey, authorizationCodeKey, codeRef } from '../../functions/adapters/code-key.ts';
import type { CodeItem } from '../../functions/core/ports.ts';
import type { ImportReport } from '../../functions/services/importer.ts';
import { TEST_PEPPER, crlf, settingsJson, startImportHarness, type ImportHarness } from './support/bucket.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/csv');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

let h: ImportHarness;
beforeAll(async () => {
  h = await startImportHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A fresh account per test, so each test sees exactly the codes it imported. */
let accountSeq = 0;
async function newAccount(extra: Record<string, unknown> = {}): Promise<string> {
  const account = `acct-${++accountSeq}`;
  const [report] = await h.upload(`imports/${account}/settings.json`, settingsJson(account, extra));
  expect(report?.status).toBe('applied');
  return account;
}

/** The one report of an upload, which must have been applied (its errors shown if not). */
async function applied(key: string, body: string | Uint8Array): Promise<ImportReport> {
  const reports = await h.upload(key, body);
  expect(reports).toHaveLength(1);
  const report = reports[0] as ImportReport;
  expect(report.errors).toEqual([]);
  expect(report.status).toBe('applied');
  return report;
}

async function rejected(key: string, body: string | Uint8Array): Promise<ImportReport> {
  const reports = await h.upload(key, body);
  expect(reports).toHaveLength(1);
  const report = reports[0] as ImportReport;
  expect(report.status).toBe('rejected');
  return report;
}

const acct = (code: string, fields: Partial<CodeItem> = {}): CodeItem => ({
  key: accountCodeKey(code),
  kind: 'account',
  code,
  enabled: true,
  ...fields,
});
function auth(account: string, code: string, fields: Partial<CodeItem> = {}): CodeItem {
  const key = authorizationCodeKey(TEST_PEPPER, account, code);
  return { key, kind: 'authorization', ref: codeRef(key), enabled: true, level: 0, ...fields };
}
const byKey = (codes: readonly CodeItem[]) => [...codes].sort((a, b) => (a.key < b.key ? -1 : 1));

describe('importing codes files as spreadsheets save them', () => {
  it('reads Excel (German locale) "CSV UTF-8": BOM, CRLF, semicolons, synonyms, ="0007", blank and ;;; lines', async () => {
    const account = await newAccount();
    const report = await applied(`imports/${account}/codes/excel-de.csv`, fixture('excel-de-utf8-bom-semicolon.csv'));
    expect(report).toMatchObject({ rows: 4, created: 4, updated: 0, unchanged: 0, deleted: 0, errorCount: 0 });
    expect(await h.codes(account)).toEqual(
      byKey([
        acct('0042', {
          description: 'Müller & Söhne GmbH – Akte 2024/17',
          expires: '2026-12-31',
          groups: ['lawyers'],
          callerIds: ['+49301234567'],
        }),
        acct('0007', { description: 'Café de Flore; Paris' }),
        auth(account, '123456', { description: 'Zürich Tresor', level: 2, users: ['client:alice', 'sip:bob@acme.sip.twilio.com'] }),
        acct('00815', { description: 'Meier; Schulz & Partner', enabled: false, groups: ['staff'] }),
      ]),
    );
  });

  it('reads Excel "Unicode Text": UTF-16LE with BOM, tab-delimited, Avaya header names', async () => {
    const account = await newAccount();
    const report = await applied(`imports/${account}/codes/unicode.txt`, fixture('excel-unicode-text-utf16le-tab.txt'));
    expect(report).toMatchObject({ rows: 3, created: 3 });
    expect(await h.codes(account)).toEqual(
      byKey([
        acct('0815', { description: '東京オフィス' }),
        acct('4711', { description: 'Projekt 🚀 Mars' }),
        auth(account, '99887766', { description: 'Finance director', level: 3 }),
      ]),
    );
  });

  it('reads Google Sheets CSV: UTF-8 without BOM, LF, no final line end, a delete row', async () => {
    const account = await newAccount();
    await applied(`imports/${account}/codes/seed.csv`, 'code,description\n1003,to be deleted\n');
    const report = await applied(`imports/${account}/codes/sheets.csv`, fixture('google-sheets-utf8-lf.csv'));
    expect(report).toMatchObject({ rows: 4, created: 3, updated: 0, unchanged: 0, deleted: 1 });
    expect(await h.codes(account)).toEqual(
      byKey([
        acct('1001', { description: 'Smith, Jones & Co', callerIds: ['+14155550100', '+14155550101'] }),
        acct('1002', { description: 'The "Big" Client', enabled: false, expires: '2027-01-31' }),
        auth(account, '2001', { description: 'Partner line', level: 4, users: ['client:carol'], groups: ['lawyers'] }),
      ]),
    );
    expect((await h.storage.stores.codes.codeForCallerId(account, '+14155550101'))?.code).toBe('1001');
  });

  it('reads Excel for Mac "CSV (Macintosh)" with CR line ends', async () => {
    const account = await newAccount();
    await applied(`imports/${account}/codes/mac.csv`, fixture('excel-mac-cr.csv'));
    expect((await h.codes(account)).map((c) => [c.code, c.description])).toEqual([
      ['1234', 'Acme'],
      ['5678', 'Globex'],
    ]);
  });

  it('reads quoted values holding delimiters, doubled quotes and ="0042"', async () => {
    const account = await newAccount();
    const text = crlf([
      'code,description,kind',
      '5001,"Acme, Inc.",account',
      '5002,"27"" monitor ""Pro""",account',
      '="0042",Hand-edited: Excel formula keeps the zeros,account',
      '',
      '5004,"""Quoted"" start, comma",account',
    ]);
    await applied(`imports/${account}/codes/quotes.csv`, `\uFEFF${text}`);
    expect(await h.codes(account)).toEqual(
      byKey([
        acct('5001', { description: 'Acme, Inc.' }),
        acct('5002', { description: '27" monitor "Pro"' }),
        acct('0042', { description: 'Hand-edited: Excel formula keeps the zeros' }),
        acct('5004', { description: '"Quoted" start, comma' }),
      ]),
    );
  });

  it('parses a quoted line break as one value and keeps counting physical lines after it', async () => {
    const account = await newAccount();
    // The fixture's line 4-5 holds an Alt+Enter line break inside a quoted description.
    const report = await rejected(`imports/${account}/codes/quotes.csv`, fixture('quotes-and-newlines.csv'));
    expect(report.errors).toEqual([
      { line: 4, column: 'description', value: 'First line\r\nsecond line', message: 'contains a line break (Alt+Enter in Excel): put it on one line' },
    ]);
    expect(report.rows).toBe(5);

    const report2 = await rejected(`imports/${account}/codes/quotes2.csv`, 'code,description\n5003,"two\nlines, and a ""quote"""\n\n12x4,after the break\n');
    expect(report2.errors.map((e) => [e.line, e.column])).toEqual([
      [2, 'description'],
      [5, 'code'],
    ]);
    expect(await h.codes(account)).toEqual([]);
  });

  it('takes the columns in any order and any case', async () => {
    const account = await newAccount();
    await applied(`imports/${account}/codes/order.csv`, 'DESCRIPTION,Enabled,KIND,Expiry Date,CODE\nBeta,FALSE,Account,2027-06-30,="0099"\n');
    expect(await h.codes(account)).toEqual([acct('0099', { description: 'Beta', enabled: false, expires: '2027-06-30' })]);
  });

  it('skips blank lines and lines of nothing but delimiters anywhere in the file', async () => {
    const account = await newAccount();
    const report = await applied(`imports/${account}/codes/blanks.csv`, crlf(['', ';;', 'Account Code;Description', ';;;', '', '1234;one', ';', '', '5678;two', ';;;;', '']));
    expect(report.rows).toBe(2);
    expect((await h.codes(account)).map((c) => c.code)).toEqual(['1234', '5678']);
  });
});

describe('rejecting what a spreadsheet broke', () => {
  it('rejects 1.2E+05, 1234.0 and 1,234 with the hint that a spreadsheet changed the code, and a short code with the leading-zeros hint', async () => {
    const account = await newAccount();
    const report = await rejected(`imports/${account}/codes/numbers.csv`, fixture('spreadsheet-numbers.csv'));
    const hint = (v: string) => `looks like a spreadsheet changed the code into a number (${v}): format the column as Text and export again, or write it as ="0042"`;
    expect(report.errors).toEqual([
      { line: 2, column: 'code', value: '1.2E+05', message: hint('1.2E+05') },
      { line: 3, column: 'code', value: '1234.0', message: hint('1234.0') },
      { line: 4, column: 'code', value: '1,234', message: hint('1,234') },
      {
        line: 5,
        column: 'code',
        value: '42',
        message:
          'codes of this account are 4-8 digits long (codeLength in settings) (this one has 2); if a spreadsheet dropped leading zeros, format the column as Text and export again, or write the code as ="0042"',
      },
    ]);
    expect(report).toMatchObject({ rows: 5, errorCount: 4, created: 0 });
    expect(await h.codes(account)).toEqual([]);
  });

  it('rejects an unknown column, naming it and the columns there are', async () => {
    const account = await newAccount();
    const report = await rejected(`imports/${account}/codes/colour.csv`, fixture('unknown-column.csv'));
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ line: 1, column: 'colour', value: 'colour' });
    expect(report.errors[0]?.message).toMatch(/^unknown column "colour": the columns are code, description, kind/);
    expect(await h.codes(account)).toEqual([]);
  });

  it('lists every header problem of a file, not just the first', async () => {
    const account = await newAccount();
    const report = await rejected(`imports/${account}/codes/header.csv`, 'description,colour,size\nAcme,blue,XL\n');
    expect(report.errors.map((e) => e.column).sort()).toEqual(['code', 'colour', 'size']);
    expect(report.errorCount).toBe(3);
  });

  it('rejects a code that appears twice, ="0042" and 0042 being the same code and 42 another', async () => {
    const account = await newAccount({ codeLength: { min: 2, max: 8 } });
    const report = await rejected(`imports/${account}/codes/dups.csv`, fixture('duplicate-code.csv'));
    expect(report.errors).toEqual([{ line: 4, column: 'code', value: '0042', message: expect.stringMatching(/^duplicate of line 2: each code may appear once in a file/) }]);
    expect(await h.codes(account)).toEqual([]);
  });

  it('rejects a file saved in the Windows code page, telling the admin to save it as CSV UTF-8', async () => {
    const account = await newAccount();
    const report = await rejected(`imports/${account}/codes/ansi.csv`, fixture('excel-ansi-cp1252.csv'));
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ line: 3 });
    expect(report.errors[0]?.message).toMatch(/not valid UTF-8.*CSV UTF-8/);
    expect(await h.codes(account)).toEqual([]);
  });
});
