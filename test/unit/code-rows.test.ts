import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODE_COLUMNS, DuplicateTracker, HIDDEN_CODE, duplicateCodeError, validateCodeRow, type CodeRow, type RowError } from '../../functions/core/code-rows.ts';
import { readCsv, type CsvRecord } from '../../functions/core/csv.ts';
import { parseSettings, type Settings, type SettingsInput } from '../../functions/core/settings.ts';

function settings(overrides: Partial<SettingsInput> = {}): Settings {
  const parsed = parseSettings({
    account: 'acme',
    twilioAccountSids: [`AC${'0'.repeat(32)}`],
    homeCountry: 'US',
    timeZone: 'America/New_York',
    codeLength: { min: 4, max: 8 },
    groups: { staff: {}, lawyers: { calls: { default: 'required' } }, interns: {} },
    defaultGroup: 'staff',
    ...overrides,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
}
const ACME = settings();

const rec = (fields: Record<string, string>, line = 2): CsvRecord => ({ line, fields });
const validate = (fields: Record<string, string>, s: Settings = ACME) => validateCodeRow(rec(fields), s);

function row(fields: Record<string, string>, s: Settings = ACME): CodeRow {
  const result = validate(fields, s);
  if (!result.ok) throw new Error(`expected a valid row, got ${JSON.stringify(result.errors)}`);
  return result.row;
}
function errors(fields: Record<string, string>, s: Settings = ACME): RowError[] {
  const result = validate(fields, s);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.row)}`);
  return result.errors;
}
function error(fields: Record<string, string>, column: string, s: Settings = ACME): RowError {
  const found = errors(fields, s).find((e) => e.column === column);
  if (found === undefined) throw new Error(`expected an error in ${column}, got ${JSON.stringify(errors(fields, s))}`);
  return found;
}

const FIXTURES = join(import.meta.dirname, '../fixtures/csv');
async function* fileSource(name: string): AsyncGenerator<Uint8Array> {
  yield readFileSync(join(FIXTURES, name));
}
type Checked = { line: number; row?: CodeRow; errors?: RowError[] };
async function checkFile(name: string, s: Settings = ACME): Promise<Checked[]> {
  const out: Checked[] = [];
  for await (const r of readCsv(fileSource(name), CODE_COLUMNS)) {
    const result = validateCodeRow(r, s);
    out.push(result.ok ? { line: r.line, row: result.row } : { line: r.line, errors: result.errors });
  }
  return out;
}

describe('validateCodeRow', () => {
  describe('the code', () => {
    it('keeps leading zeros and trims whitespace', () => {
      expect(row({ code: '0042' }).code).toBe('0042');
      expect(row({ code: ' 0042 ' }).code).toBe('0042');
    });

    it('accepts Excel\'s ="0042"', () => {
      expect(row({ code: '="0042"' }).code).toBe('0042');
      expect(row({ code: '=" 0042 "' }).code).toBe('0042');
    });

    it('makes a plain account code with everything else defaulted', () => {
      expect(row({ code: '0042' })).toEqual({ line: 2, action: 'upsert', code: '0042', kind: 'account', enabled: true });
    });

    const mangled: [value: string, why: string][] = [
      ['1.2E+05', 'scientific notation'],
      ['1.23457E+13', 'a long code in scientific notation'],
      ['1234.0', 'a decimal point'],
      ['1234,0', 'a decimal comma (German Excel)'],
      ['1,234', 'a thousands separator'],
      ['1.234', 'a German thousands separator'],
      ['1 234', 'a French thousands separator'],
    ];
    it.each(mangled)('explains that a spreadsheet changed %s into a number (%s)', (value) => {
      expect(error({ code: value }, 'code')).toEqual({
        line: 2,
        column: 'code',
        value,
        message: `looks like a spreadsheet changed the code into a number (${value}): format the column as Text and export again, or write it as ="0042"`,
      });
    });

    it('suggests lost leading zeros when a code is too short', () => {
      expect(error({ code: '42' }, 'code').message).toBe(
        'codes of this account are 4-8 digits long (codeLength in settings) (this one has 2); if a spreadsheet dropped leading zeros, format the column as Text and export again, or write the code as ="0042"',
      );
    });

    it('refuses a code longer than the account allows', () => {
      expect(error({ code: '123456789' }, 'code').message).toBe('codes of this account are 4-8 digits long (codeLength in settings) (this one has 9)');
    });

    it('says "exactly" for a fixed length', () => {
      expect(error({ code: '12345' }, 'code', settings({ codeLength: { min: 6, max: 6 } })).message).toMatch(/^codes of this account are exactly 6 digits long/);
    });

    it('refuses anything but digits', () => {
      for (const value of ['12a4', '+1234', '12-34', '١٢٣٤']) {
        expect(error({ code: value }, 'code').message).toBe('must be 4-8 digits (0-9) and nothing else; leading zeros are kept');
      }
    });

    it('requires a code', () => {
      expect(error({ code: '' }, 'code').message).toBe('a code is required on every row: 4-8 digits');
      expect(error({ description: 'Acme' }, 'code').value).toBe('');
    });
  });

  describe('description', () => {
    it('takes up to 100 characters, counting an emoji as one', () => {
      expect(row({ code: '0042', description: ` ${'x'.repeat(99)}🚀 ` }).description).toBe(`${'x'.repeat(99)}🚀`);
      expect(error({ code: '0042', description: 'x'.repeat(101) }, 'description').message).toBe('is 101 characters long; at most 100 are allowed: shorten it');
    });

    it('refuses line breaks and control characters', () => {
      expect(error({ code: '0042', description: 'two\r\nlines' }, 'description').message).toBe('contains a line break (Alt+Enter in Excel): put it on one line');
      expect(error({ code: '0042', description: 'tab\there' }, 'description').message).toContain('control character');
      expect(error({ code: '0042', description: 'bell\u0007' }, 'description').message).toContain('control character');
    });

    it('leaves an empty description out', () => {
      expect(row({ code: '0042', description: '  ' })).not.toHaveProperty('description');
    });
  });

  describe('kind', () => {
    const kinds: [string, 'account' | 'authorization'][] = [
      ['', 'account'],
      ['account', 'account'],
      ['Account', 'account'],
      ['authorization', 'authorization'],
      ['AUTHORIZATION', 'authorization'],
      ['authorisation', 'authorization'],
      ['auth', 'authorization'],
    ];
    it.each(kinds)('reads %j as %s', (kind, expected) => {
      expect(row({ code: '0042', kind }).kind).toBe(expected);
    });

    it('refuses anything else', () => {
      expect(error({ code: '0042', kind: 'fac' }, 'kind').message).toBe('must be account or authorization (empty means account)');
    });
  });

  describe('enabled', () => {
    const flags: [string, boolean][] = [
      ['', true],
      ['true', true],
      ['TRUE', true],
      ['yes', true],
      ['Yes', true],
      ['1', true],
      ['false', false],
      ['FALSE', false],
      ['no', false],
      ['0', false],
    ];
    it.each(flags)('reads %j as %s', (enabled, expected) => {
      expect(row({ code: '0042', enabled }).enabled).toBe(expected);
    });

    it('refuses anything else', () => {
      expect(error({ code: '0042', enabled: 'maybe' }, 'enabled').message).toBe('must be true or false (yes/no and 1/0 work too); empty means true');
    });
  });

  describe('expires', () => {
    it('takes a real date written YYYY-MM-DD', () => {
      expect(row({ code: '0042', expires: '2026-12-31' }).expires).toBe('2026-12-31');
      expect(row({ code: '0042', expires: '2028-02-29' }).expires).toBe('2028-02-29');
      expect(row({ code: '0042', expires: '' })).not.toHaveProperty('expires');
    });

    it('refuses a date that does not exist', () => {
      expect(error({ code: '0042', expires: '2026-02-30' }, 'expires').message).toBe('is not a real date: check the month and day (YYYY-MM-DD)');
    });

    it.each(['31.12.2026', '12/31/2026', '31/12/26', '46022', '2026-12-31 00:00:00', '2026-12-31T00:00:00Z'])('explains that a spreadsheet reformatted %s', (expires) => {
      expect(error({ code: '0042', expires }, 'expires').message).toMatch(/^looks like a spreadsheet reformatted the date: write it as YYYY-MM-DD/);
    });

    it('refuses words', () => {
      expect(error({ code: '0042', expires: 'never' }, 'expires').message).toBe('must be the last valid day, written YYYY-MM-DD (e.g. 2026-12-31), or empty for no expiry');
    });
  });

  describe('level', () => {
    it('takes 0 to 255 on an authorization code', () => {
      expect(row({ code: '0042', kind: 'authorization', level: '0' }).level).toBe(0);
      expect(row({ code: '0042', kind: 'authorization', level: '255' }).level).toBe(255);
      expect(row({ code: '0042', kind: 'authorization' })).not.toHaveProperty('level');
    });

    it.each(['256', '-1', '1.5', '2.0', 'high', '0x10'])('refuses %j', (level) => {
      expect(error({ code: '0042', kind: 'authorization', level }, 'level').message).toBe('must be a whole number from 0 to 255');
    });

    it('refuses a level on an account code, saying what to do', () => {
      expect(error({ code: '0042', level: '1' }, 'level').message).toBe('a level applies only to authorization codes: clear it, or set kind to authorization');
    });
  });

  describe('users', () => {
    it('normalizes identities separated by ";", dropping repeats and empty pieces', () => {
      expect(row({ code: '0042', users: 'client:alice; SIP:Bob@Acme.SIP.twilio.com ;+14155550123;sip:bob@acme.sip.twilio.com;' }).users).toEqual([
        'client:alice',
        'sip:bob@acme.sip.twilio.com',
        '+14155550123',
      ]);
    });

    it('says how to write a bare name', () => {
      expect(error({ code: '0042', users: 'client:alice;bob' }, 'users').message).toBe(
        '"bob": must be client:<identity> (Voice SDK), sip:<user>@<domain> (SIP) or an E.164 number such as +14155550123; separate users with ";"',
      );
    });

    it('says a phone number needs its +', () => {
      expect(error({ code: '0042', users: '14155550123' }, 'users').message).toContain('must start with + and the country code');
    });

    it('refuses a SIP URI without a domain', () => {
      expect(error({ code: '0042', users: 'sip:alice' }, 'users').message).toContain('sip:<user>@<domain>');
    });
  });

  describe('groups', () => {
    it('takes groups defined in the settings', () => {
      expect(row({ code: '0042', groups: 'lawyers; staff' }).groups).toEqual(['lawyers', 'staff']);
    });

    it('names an unknown group and lists the defined ones', () => {
      expect(error({ code: '0042', groups: 'lawyers;partners;board' }, 'groups').message).toBe(
        'unknown groups "partners", "board": the groups defined in settings.json are staff, lawyers, interns',
      );
    });

    it('points out a slip of case', () => {
      expect(error({ code: '0042', groups: 'Lawyers' }, 'groups').message).toBe(
        'unknown group "Lawyers" (group names are case-sensitive: did you mean "lawyers"?): the groups defined in settings.json are staff, lawyers, interns',
      );
    });

    it('says when the settings define no groups', () => {
      const bare = settings({ groups: {}, defaultGroup: undefined });
      expect(error({ code: '0042', groups: 'staff' }, 'groups', bare).message).toBe(
        'unknown group "staff": settings.json defines no groups: add them under "groups", or clear this column',
      );
    });
  });

  describe('caller IDs', () => {
    it('takes E.164 numbers separated by ";", allowing spaces, dashes and brackets', () => {
      expect(row({ code: '0042', caller_ids: '+1 (415) 555-0100; +14155550101' }).callerIds).toEqual(['+14155550100', '+14155550101']);
    });

    it('explains a number Excel changed or stripped of its +', () => {
      expect(error({ code: '0042', caller_ids: '1.41556E+10' }, 'caller_ids').message).toMatch(/^"1\.41556E\+10" looks like a spreadsheet changed the number/);
      expect(error({ code: '0042', caller_ids: '14155550100' }, 'caller_ids').message).toContain('a spreadsheet may have dropped the +');
    });

    it('refuses caller IDs on an authorization code', () => {
      expect(error({ code: '0042', kind: 'authorization', caller_ids: '+14155550100' }, 'caller_ids').message).toBe(
        'caller IDs tag inbound calls with an account code; an authorization code cannot have them: clear the column or set kind to account',
      );
    });
  });

  describe('action', () => {
    it('is upsert by default', () => {
      expect(row({ code: '0042', action: '' }).action).toBe('upsert');
      expect(row({ code: '0042', action: 'UPSERT' }).action).toBe('upsert');
    });

    it('refuses anything but upsert and delete', () => {
      expect(error({ code: '0042', action: 'remove' }, 'action').message).toBe('must be upsert or delete (empty means upsert)');
    });

    it('a delete row needs only the code and ignores the other columns', () => {
      expect(row({ code: '0042', action: 'Delete', level: 'x', groups: 'nobody', description: 'a\nb' })).toEqual({
        line: 2,
        action: 'delete',
        code: '0042',
        kind: 'account',
        enabled: true,
      });
    });

    it("a delete row may name a code outside today's codeLength, made before it changed", () => {
      expect(row({ code: '42', action: 'delete' }).code).toBe('42');
      expect(row({ code: '12345678901234', action: 'delete' }).code).toBe('12345678901234');
      expect(error({ code: '123456789012345', action: 'delete' }, 'code').message).toMatch(/^codes of this account are 2-14 digits long/);
    });

    it('a delete row keeps the kind it states', () => {
      expect(row({ code: '0042', action: 'delete', kind: 'authorization' }).kind).toBe('authorization');
    });
  });

  it('reports every problem of a row at once', () => {
    expect(errors({ code: '0042', kind: 'account', enabled: 'maybe', level: '1', groups: 'nobody', action: 'remove' }).map((e) => e.column)).toEqual([
      'action',
      'enabled',
      'level',
      'groups',
    ]);
  });

  describe('authorization codes stay secret', () => {
    it('never shows the digits of an authorization code in an error', () => {
      for (const code of ['123', '123456789', '1.2E+05', '12a45', '="12"']) {
        const e = error({ code, kind: 'authorization' }, 'code');
        expect(e.value).toBe(HIDDEN_CODE);
        expect(e.message).not.toContain(code.replace(/\D/g, '').slice(0, 3));
      }
    });

    it('hides the code when the kind cannot be read, since it may have meant authorization', () => {
      const e = error({ code: '12', kind: 'pin' }, 'code');
      expect(e.value).toBe(HIDDEN_CODE);
      expect(e.message).not.toContain('12');
    });

    it('hides the code of a delete row unless it says it is an account code', () => {
      expect(error({ code: '1', action: 'delete' }, 'code').value).toBe(HIDDEN_CODE);
      expect(error({ code: '1', action: 'delete', kind: 'account' }, 'code').value).toBe('1');
    });

    it('shows the code of an account code, to help find the row', () => {
      expect(error({ code: '42' }, 'code').value).toBe('42');
    });

    it('keeps every code of a file of bad authorization rows out of the report', async () => {
      const checked = await checkFile('authorization-errors.csv');
      expect(checked.map((c) => [c.line, c.errors?.map((e) => e.column)])).toEqual([
        [2, ['code']],
        [3, ['code']],
        [4, ['caller_ids']],
        [5, ['kind']],
        [6, ['code']],
        [7, ['level']],
      ]);
      const report = JSON.stringify(checked.flatMap((c) => c.errors ?? []));
      for (const secret of ['765432109', '9.87654E+05', '987654', '864213', '975310', '123', '246810']) expect(report).not.toContain(secret);
    });

    it('never echoes an authorization code, whatever else is wrong with the row (property)', () => {
      const junk = fc.constantFrom('', 'x', 'maybe', '256', '1.5', 'nobody', 'bob', '31.12.2026', '+1', 'remove', 'a\nb');
      fc.assert(
        fc.property(
          fc.stringMatching(/^[0-9]{6,9}$/),
          fc.constantFrom(
            (c: string) => c,
            (c: string) => `${c}0000000`,
            (c: string) => `${c.slice(0, 3)}`,
            (c: string) => `${c}.0`,
            (c: string) => `="${c}"`,
            (c: string) => `${c}x`,
          ),
          fc.constantFrom('authorization', 'AUTH', 'authorisation', 'secret', 'pin'),
          fc.record({ description: junk, enabled: junk, expires: junk, level: junk, users: junk, groups: junk, caller_ids: junk, action: fc.constantFrom('', 'upsert', 'remove') }),
          (digits, mangle, kind, rest) => {
            const result = validate({ ...rest, code: mangle(digits), kind });
            if (result.ok) return;
            // What the errors echo: their values, and their messages without the example
            // numbers the hints show (+14155550100 holds 550100, a code as good as any).
            const report = result.errors.map((e) => `${e.value}\n${e.message.replace(/\+1\d{10}/g, '')}`).join('\n');
            const code = mangle(digits);
            if (code.length >= 6) expect(report).not.toContain(code);
            expect(report).not.toContain(digits);
            expect(report).not.toContain(digits.slice(0, 6));
          },
        ),
        { numRuns: 2000 },
      );
    });

    it('hides an authorization code in a duplicate error', () => {
      const auth = row({ code: '864213', kind: 'authorization' });
      expect(duplicateCodeError({ ...auth, line: 9 }, 3)).toEqual({
        line: 9,
        column: 'code',
        value: HIDDEN_CODE,
        message: 'duplicate of line 3: each code may appear once in a file; keep one of the two rows',
      });
      expect(duplicateCodeError(row({ code: '0042' }), 1).value).toBe('0042');
    });
  });
});

describe('codes files as spreadsheets save them', () => {
  it('imports Excel "CSV UTF-8" on a German locale', async () => {
    expect(await checkFile('excel-de-utf8-bom-semicolon.csv')).toEqual([
      {
        line: 2,
        row: {
          line: 2,
          action: 'upsert',
          code: '0042',
          kind: 'account',
          description: 'Müller & Söhne GmbH – Akte 2024/17',
          enabled: true,
          expires: '2026-12-31',
          groups: ['lawyers'],
          callerIds: ['+49301234567'],
        },
      },
      { line: 3, row: { line: 3, action: 'upsert', code: '0007', kind: 'account', description: 'Café de Flore; Paris', enabled: true } },
      {
        line: 5,
        row: {
          line: 5,
          action: 'upsert',
          code: '123456',
          kind: 'authorization',
          description: 'Zürich Tresor',
          enabled: true,
          level: 2,
          users: ['client:alice', 'sip:bob@acme.sip.twilio.com'],
        },
      },
      { line: 7, row: { line: 7, action: 'upsert', code: '00815', kind: 'account', description: 'Meier; Schulz & Partner', enabled: false, groups: ['staff'] } },
    ]);
  });

  it('imports Excel "Unicode Text" with Avaya-style headers', async () => {
    const checked = await checkFile('excel-unicode-text-utf16le-tab.txt');
    expect(checked.map((c) => c.row)).toEqual([
      { line: 2, action: 'upsert', code: '0815', kind: 'account', description: '東京オフィス', enabled: true },
      { line: 3, action: 'upsert', code: '4711', kind: 'account', description: 'Projekt 🚀 Mars', enabled: true },
      { line: 4, action: 'upsert', code: '99887766', kind: 'authorization', description: 'Finance director', enabled: true, level: 3 },
    ]);
  });

  it('imports a Google Sheets download with a delete row', async () => {
    const checked = await checkFile('google-sheets-utf8-lf.csv');
    expect(checked.map((c) => c.errors)).toEqual([undefined, undefined, undefined, undefined]);
    expect(checked.map((c) => [c.row?.code, c.row?.action, c.row?.enabled])).toEqual([
      ['1001', 'upsert', true],
      ['1002', 'upsert', false],
      ['2001', 'upsert', true],
      ['1003', 'delete', true],
    ]);
    expect(checked[0]?.row?.callerIds).toEqual(['+14155550100', '+14155550101']);
    expect(checked[2]?.row).toMatchObject({ kind: 'authorization', level: 4, users: ['client:carol'], groups: ['lawyers'] });
  });

  it('refuses a description with a line break, and unwraps a hand-written ="0042"', async () => {
    const checked = await checkFile('quotes-and-newlines.csv');
    expect(checked.map((c) => [c.line, c.row?.code ?? c.errors?.map((e) => `${e.column}: ${e.message}`)])).toEqual([
      [2, '5001'],
      [3, '5002'],
      [4, ['description: contains a line break (Alt+Enter in Excel): put it on one line']],
      [6, '0042'],
      [8, '5004'],
    ]);
  });

  it('explains every code a spreadsheet turned into a number', async () => {
    const checked = await checkFile('spreadsheet-numbers.csv');
    expect(checked.map((c) => [c.line, c.row?.code ?? c.errors?.[0]?.message])).toEqual([
      [2, 'looks like a spreadsheet changed the code into a number (1.2E+05): format the column as Text and export again, or write it as ="0042"'],
      [3, 'looks like a spreadsheet changed the code into a number (1234.0): format the column as Text and export again, or write it as ="0042"'],
      [4, 'looks like a spreadsheet changed the code into a number (1,234): format the column as Text and export again, or write it as ="0042"'],
      [
        5,
        'codes of this account are 4-8 digits long (codeLength in settings) (this one has 2); if a spreadsheet dropped leading zeros, format the column as Text and export again, or write the code as ="0042"',
      ],
      [6, '0042'],
    ]);
  });

  it('finds a duplicate code on the later line, with 0042 and 42 different codes', async () => {
    const seen = new DuplicateTracker();
    const duplicates: RowError[] = [];
    for (const c of await checkFile('duplicate-code.csv', settings({ codeLength: { min: 2, max: 8 } }))) {
      if (c.row === undefined) throw new Error(JSON.stringify(c.errors));
      const first = seen.see(c.row.code, c.line);
      if (first !== undefined) duplicates.push(duplicateCodeError(c.row, first));
    }
    expect(duplicates).toEqual([{ line: 4, column: 'code', value: '0042', message: 'duplicate of line 2: each code may appear once in a file; keep one of the two rows' }]);
  });
});

describe('DuplicateTracker', () => {
  it('returns the first line of a key seen before, and nothing for a new one', () => {
    const seen = new DuplicateTracker();
    expect(seen.see('0042', 2)).toBeUndefined();
    expect(seen.see('0042', 5)).toBe(2);
    expect(seen.see('0042', 9)).toBe(2);
    expect(seen.size).toBe(1);
  });

  it('keeps leading zeros apart', () => {
    const seen = new DuplicateTracker();
    for (const [i, key] of ['0', '00', '000', '42', '042', '0042', '00000000000000', '99999999999999'].entries()) expect(seen.see(key, i + 1)).toBeUndefined();
    expect(seen.size).toBe(8);
  });

  it('takes keys that are not codes too (user identities, 15 digits)', () => {
    const seen = new DuplicateTracker();
    expect(seen.see('client:alice', 2)).toBeUndefined();
    expect(seen.see('123456789012345', 3)).toBeUndefined();
    expect(seen.see('', 4)).toBeUndefined();
    expect(seen.see('client:alice', 7)).toBe(2);
    expect(seen.see('123456789012345', 8)).toBe(3);
    expect(seen.see('', 9)).toBe(4);
  });

  it('agrees with a Map over 300,000 random codes, through every resize', () => {
    const seen = new DuplicateTracker();
    const reference = new Map<string, number>();
    let state = 42;
    const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    for (let line = 2; line < 300_002; line++) {
      const length = 2 + (random() % 13);
      let code = '';
      for (let i = 0; i < length; i++) code += String(random() % 10);
      const expected = reference.get(code);
      if (expected === undefined) reference.set(code, line);
      expect(seen.see(code, line)).toBe(expected);
    }
    expect(seen.size).toBe(reference.size);
  });
});
