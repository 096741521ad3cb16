import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuplicateTracker, type RowError } from '../../functions/core/code-rows.ts';
import { readCsv, type CsvRecord } from '../../functions/core/csv.ts';
import { parseSettings, type Settings, type SettingsInput } from '../../functions/core/settings.ts';
import { CALL_CLASSES } from '../../functions/core/types.ts';
import { USER_COLUMNS, duplicateUserError, validateUserRow, type UserRow } from '../../functions/core/user-rows.ts';

function settings(overrides: Partial<SettingsInput> = {}): Settings {
  const parsed = parseSettings({
    account: 'acme',
    twilioAccountSids: [`AC${'0'.repeat(32)}`],
    homeCountry: 'US',
    timeZone: 'America/New_York',
    groups: { staff: {}, lawyers: { calls: { default: 'required' } }, interns: {} },
    defaultGroup: 'staff',
    ...overrides,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
}
const ACME = settings();

const rec = (fields: Record<string, string>, line = 2): CsvRecord => ({ line, fields });
function row(fields: Record<string, string>, s: Settings = ACME): UserRow {
  const result = validateUserRow(rec(fields), s);
  if (!result.ok) throw new Error(`expected a valid row, got ${JSON.stringify(result.errors)}`);
  return result.row;
}
function errors(fields: Record<string, string>, s: Settings = ACME): RowError[] {
  const result = validateUserRow(rec(fields), s);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.row)}`);
  return result.errors;
}
const message = (fields: Record<string, string>, column: string, s: Settings = ACME): string | undefined => errors(fields, s).find((e) => e.column === column)?.message;

async function* fileSource(name: string): AsyncGenerator<Uint8Array> {
  yield readFileSync(join(import.meta.dirname, '../fixtures/csv', name));
}

describe('USER_COLUMNS', () => {
  it('has the columns of docs/data-model.md, a column per call class and default, validate, language and the after-call prompt', () => {
    expect(Object.keys(USER_COLUMNS)).toEqual([
      'user',
      'name',
      'group',
      'caller_id',
      'max_attempts',
      'proceed_after_max_attempts',
      'validate',
      'language',
      'after_call_prompt',
      'default',
      ...CALL_CLASSES,
      'action',
    ]);
    expect(USER_COLUMNS.user?.required).toBe(true);
  });

  it('matches spreadsheet spellings of the class columns', async () => {
    async function* source(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('User,Toll-Free,INTL,Max Attempts\nclient:alice,blocked,required,2\n');
    }
    const recs: CsvRecord[] = [];
    for await (const r of readCsv(source(), USER_COLUMNS)) recs.push(r);
    expect(recs[0]?.fields).toEqual({ user: 'client:alice', tollfree: 'blocked', international: 'required', max_attempts: '2' });
  });
});

describe('validateUserRow', () => {
  it('makes a user with only the settings the row gives', () => {
    expect(row({ user: 'client:alice', name: '', group: '', international: '', action: '' })).toEqual({
      line: 2,
      action: 'upsert',
      user: { id: 'client:alice' },
    });
  });

  it('reads every column', () => {
    expect(
      row({
        user: 'client:alice',
        name: ' Alice Müller ',
        group: 'lawyers',
        caller_id: '+1 415 555 0123',
        max_attempts: '4',
        proceed_after_max_attempts: 'no',
        validate: 'FALSE',
        language: 'es-us',
        default: 'Optional',
        international: 'required',
        premium: 'authorized',
        emergency: 'free',
      }).user,
    ).toEqual({
      id: 'client:alice',
      name: 'Alice Müller',
      group: 'lawyers',
      callerId: '+14155550123',
      maxAttempts: 4,
      proceedAfterMaxAttempts: false,
      validate: false,
      language: 'es-US',
      calls: { default: 'optional', international: 'required', premium: 'authorized', emergency: 'free' },
    });
  });

  it('refuses a language prompts do not ship in, naming the ones they do', () => {
    const r = validateUserRow({ line: 3, fields: { user: 'client:alice', language: 'de-DE' } }, ACME);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual([
      { line: 3, column: 'language', value: 'de-DE', message: "must be one of the languages prompts ship in: en-US, es-US, fr-CA, or empty for the account's" },
    ]);
  });

  describe('user', () => {
    it.each([
      ['client:alice', 'client:alice'],
      ['sip:Bob@ACME.sip.twilio.com;transport=tls', 'sip:bob@acme.sip.twilio.com'],
      ['sips:carol@acme.sip.twilio.com', 'sip:carol@acme.sip.twilio.com'],
      ['+14155550123', '+14155550123'],
      ['+1 (415) 555-0123', '+14155550123'],
    ])('normalizes %s to %s', (user, id) => {
      expect(row({ user }).user.id).toBe(id);
    });

    it('is required', () => {
      expect(message({ user: ' ', name: 'Alice' }, 'user')).toBe('a user is required on every row: client:<identity>, sip:<user>@<domain> or an E.164 number');
    });

    it('says how to write an identity', () => {
      expect(message({ user: 'alice' }, 'user')).toBe('must be client:<identity> (Voice SDK), sip:<user>@<domain> (SIP) or an E.164 number such as +14155550123');
      expect(message({ user: 'client:' }, 'user')).toContain('e.g. client:alice');
      expect(message({ user: '4155550123' }, 'user')).toContain('must start with + and the country code');
    });
  });

  it('refuses an unknown group, listing the defined ones', () => {
    expect(message({ user: 'client:alice', group: 'partners' }, 'group')).toBe('unknown group "partners": the groups defined in settings.json are staff, lawyers, interns');
  });

  it('refuses a caller ID that is not E.164', () => {
    expect(message({ user: 'client:alice', caller_id: '4155550100' }, 'caller_id')).toContain('must start with + and the country code');
  });

  it.each(['0', '10', '3.0', 'three', '-1'])('refuses max_attempts %j', (max_attempts) => {
    expect(message({ user: 'client:alice', max_attempts }, 'max_attempts')).toBe("must be a whole number from 1 to 9, or empty for the group's or account's");
  });

  it('refuses a validate that is not a flag', () => {
    expect(message({ user: 'client:alice', validate: 'sometimes' }, 'validate')).toBe("must be true or false (yes/no and 1/0 work too), or empty for the group's or account's");
  });

  describe('proceed_after_max_attempts', () => {
    it('may be true only when the account allows it', () => {
      expect(message({ user: 'client:alice', proceed_after_max_attempts: 'true' }, 'proceed_after_max_attempts')).toBe(
        'can be true only when the account allows it: set "proceedAfterMaxAttempts": true in settings.json first, or leave this empty',
      );
      expect(row({ user: 'client:alice', proceed_after_max_attempts: 'yes' }, settings({ proceedAfterMaxAttempts: true })).user.proceedAfterMaxAttempts).toBe(true);
    });

    it('may always be false', () => {
      expect(row({ user: 'client:alice', proceed_after_max_attempts: '0' }).user.proceedAfterMaxAttempts).toBe(false);
    });
  });

  describe('treatments', () => {
    it('takes any treatment in any case for every class but emergency', () => {
      for (const cls of ['default', ...CALL_CLASSES.filter((c) => c !== 'emergency')]) {
        for (const t of ['free', 'optional', 'required', 'authorized', 'blocked']) {
          expect(row({ user: 'client:alice', [cls]: t.toUpperCase() }).user.calls).toEqual({ [cls]: t });
        }
      }
    });

    it('refuses a word that is not a treatment', () => {
      expect(message({ user: 'client:alice', international: 'ask' }, 'international')).toBe('must be one of free, optional, required, authorized, blocked, or empty for not set');
    });

    it('allows emergency only to be free', () => {
      expect(row({ user: 'client:alice', emergency: 'Free' }).user.calls).toEqual({ emergency: 'free' });
      for (const t of ['blocked', 'required', 'optional', 'authorized', 'never']) {
        expect(message({ user: 'client:alice', emergency: t }, 'emergency')).toBe("emergency calls are always free (Kari's Law): leave the column empty or write free");
      }
    });
  });

  it('a delete row needs only the user and ignores the other columns', () => {
    expect(row({ user: 'SIP:Bob@Acme.sip.twilio.com', action: 'delete', group: 'nobody', emergency: 'blocked' })).toEqual({
      line: 2,
      action: 'delete',
      user: { id: 'sip:bob@acme.sip.twilio.com' },
    });
  });

  it('reports every problem of a row at once', () => {
    expect(errors({ user: 'alice', group: 'nobody', max_attempts: '0', emergency: 'blocked', action: 'drop' }).map((e) => e.column)).toEqual([
      'action',
      'user',
      'group',
      'max_attempts',
      'emergency',
    ]);
  });

  it('names a duplicate user, comparing identities as normalized', () => {
    const seen = new DuplicateTracker();
    const a = row({ user: 'sip:bob@acme.sip.twilio.com' });
    const b = { ...row({ user: 'SIP:Bob@ACME.sip.twilio.com;transport=tls' }), line: 5 };
    expect(seen.see(a.user.id, a.line)).toBeUndefined();
    const first = seen.see(b.user.id, b.line);
    expect(first).toBe(2);
    expect(duplicateUserError(b, first ?? 0)).toEqual({
      line: 5,
      column: 'user',
      value: 'sip:bob@acme.sip.twilio.com',
      message: 'duplicate of line 2: each user may appear once in a file (identities compare as normalized: SIP in lower case); keep one of the two rows',
    });
  });
});

describe('users file as Excel saves it', () => {
  it('imports a German-locale Excel "CSV UTF-8" users file', async () => {
    const rows: UserRow[] = [];
    for await (const r of readCsv(fileSource('users-excel-de.csv'), USER_COLUMNS)) {
      const result = validateUserRow(r, ACME);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      rows.push(result.row);
    }
    expect(rows).toEqual([
      {
        line: 2,
        action: 'upsert',
        user: {
          id: 'client:alice',
          name: 'Alice Müller',
          group: 'lawyers',
          callerId: '+14155550123',
          maxAttempts: 4,
          calls: { international: 'required', premium: 'authorized' },
        },
      },
      {
        line: 3,
        action: 'upsert',
        user: {
          id: 'sip:bob@acme.sip.twilio.com',
          name: 'Bob',
          group: 'interns',
          calls: { default: 'optional', emergency: 'free', premium: 'blocked', international: 'blocked' },
        },
      },
      { line: 4, action: 'upsert', user: { id: '+14155550199', name: 'Lobby phone' } },
      { line: 6, action: 'delete', user: { id: 'client:mallory' } },
    ]);
  });
});
