/**
 * The usage export end to end on loopback (docs/data-model.md): calls placed through the real voice
 * webhooks (signed as Twilio signs them) into dynalite, exported by the real exporter into
 * s3rver, on a clock the test moves — so a day can be made to end, become due, and change
 * after it was written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountCodeKey, authorizationCodeKey, codeRef } from '../../functions/adapters/code-key.ts';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { xlsxFile } from '../../functions/adapters/xlsx.ts';
import { s3ExportFiles } from '../../functions/adapters/s3/export-files.ts';
import type { CallStore, CodeItem, StoredCall, UsageSource } from '../../functions/core/ports.ts';
import { parseSettings, type UserRecord } from '../../functions/core/settings.ts';
import { CODE_STATUSES, OUTCOMES } from '../../functions/core/types.ts';
import { SUMMARY_COLUMNS, USAGE_COLUMNS, usageDayKey, usageSummaryKey } from '../../functions/core/usage.ts';
import { ExportFailedError, makeExportHandler } from '../../functions/handlers/export.ts';
import { exportDays, ExportLockedError, runScheduledExport, twinKey, type ExporterDeps } from '../../functions/services/exporter.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { tagCall } from '../../functions/services/tagging.ts';
import type { HttpEvent, HttpResult } from '../../functions/services/voice.ts';
import { ensureBucket, startS3rver, type RunningS3 } from '../../local/emulators.ts';
import { dynaliteEnv, type StorageEnv } from './support/dynamo.ts';
import { AUTH_TOKEN, BASE_URL, hear, newCallSid, signedEvent } from './support/voice.ts';
import { testVoiceApp } from '../support/voice-app.ts';

const NY = 'America/New_York';
const LONDON = 'Europe/London';
const BUCKET = 'tollgate-export-test';
const PEPPER = 'export-test-pepper';
const AUTH_DIGITS = '778899';

let env: StorageEnv;
let s3rver: RunningS3;
let s3: S3Client;
let dir: string;
let voice: (e: HttpEvent) => Promise<HttpResult>;
let sidCounter = 0;

function exporter(extra: Partial<ExporterDeps> = {}): ExporterDeps {
  return {
    accounts: env.stores.accounts,
    usage: env.stores.calls,
    ledger: env.stores.exports,
    lock: env.stores.exports,
    files: s3ExportFiles(s3, BUCKET),
    spreadsheet: xlsxFile,
    now: env.clock,
    log: silentLogger,
    owner: 'test-exporter',
    ...extra,
  };
}

/** Only this account: the suite's accounts share the tables, and each test owns its own. */
function onlyAccount(account: string): ExporterDeps {
  return exporter({ accounts: { listAccounts: async () => [account], getSettings: (a) => env.stores.accounts.getSettings(a) } });
}

async function object(key: string): Promise<Buffer | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

/** The one sheet of an .xlsx object: its header, its rows by column name, and how many cells are formulas. */
async function sheetOf(key: string): Promise<{ header: string[]; rows: Record<string, unknown>[]; formulas: number }> {
  const bytes = await object(key);
  if (bytes === undefined) throw new Error(`no object ${key}`);
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(bytes as unknown as ArrayBuffer);
  const sheet = book.worksheets[0];
  if (sheet === undefined) throw new Error(`${key} has no sheet`);
  const header = (sheet.getRow(1).values as unknown[]).slice(1).map(String);
  const rows: Record<string, unknown>[] = [];
  let formulas = 0;
  sheet.eachRow((row, n) => {
    if (n === 1) return;
    const record: Record<string, unknown> = {};
    row.eachCell({ includeEmpty: false }, (cell, col) => {
      if (cell.type === ExcelJS.ValueType.Formula) formulas++;
      record[header[col - 1] ?? `#${col}`] = cell.value;
    });
    rows.push(record);
  });
  return { header, rows, formulas };
}

async function csvOf(key: string): Promise<Record<string, string>[]> {
  const bytes = await object(key);
  if (bytes === undefined) throw new Error(`no object ${key}`);
  return parse(bytes, { bom: true, columns: true }) as Record<string, string>[];
}

/**
 * A strict RFC 4180 reader: UTF-8 (invalid bytes are an error) after a byte-order mark, every
 * record ended by CRLF (the last too), fields either bare (no `"`, `,`, CR or LF) or quoted with
 * `""` for a quote, every record as long as the header.
 */
function strictRfc4180(bytes: Buffer): string[][] {
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(3));
  const records: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const record: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new Error('unterminated quoted field');
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          field += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') throw new Error(`a quote inside a bare field at ${i}`);
          field += text[i++];
        }
      }
      record.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r' && text[i + 1] === '\n') {
        i += 2;
        break;
      }
      throw new Error(`expected a comma or CRLF at ${i}, found ${JSON.stringify(text.slice(i, i + 5))}`);
    }
    records.push(record);
  }
  const width = records[0]?.length;
  for (const [n, r] of records.entries()) if (r.length !== width) throw new Error(`record ${n} has ${r.length} fields, the header ${width}`);
  return records;
}

interface AccountSetup {
  readonly sid: string;
}

async function newAccount(account: string, timeZone: string, doc: Record<string, unknown> = {}, users: UserRecord[] = [], codes: CodeItem[] = []): Promise<AccountSetup> {
  sidCounter++;
  const sid = `AC${String(sidCounter).padStart(32, '0')}`;
  const parsed = parseSettings({ account, twilioAccountSids: [sid], homeCountry: timeZone === LONDON ? 'GB' : 'US', timeZone, ...doc });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  await env.stores.accounts.putSettings(parsed.value);
  if (users.length > 0) await env.stores.users.putUsers(account, users);
  if (codes.length > 0)
    await env.stores.codes.writeCodes(
      account,
      codes.map((put) => ({ put })),
    );
  return { sid };
}

const accountCode = (digits: string, description: string, extra: Partial<CodeItem> = {}): CodeItem => ({
  key: accountCodeKey(digits),
  kind: 'account',
  code: digits,
  description,
  enabled: true,
  ...extra,
});

interface Dial {
  /** `DialCallStatus`. */
  readonly status: 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';
  readonly talk?: number;
}

interface PlaceOptions {
  readonly account: AccountSetup;
  readonly from: string;
  readonly to: string;
  /** When the call starts (ISO). */
  readonly at: string;
  /** One answer per prompt, e.g. `0042#` or `#`; prompts beyond these: the caller hangs up. */
  readonly keys?: readonly string[];
  readonly dial?: Dial;
  /** Stop before the callbacks that end the call (they come later: {@link finish}). */
  readonly leaveOpen?: boolean;
}

interface Placed {
  readonly sid: string;
  readonly params: Record<string, string>;
  readonly startedAt: number;
  readonly dial?: Dial;
}

/** A call as Twilio would drive the webhooks, at the time given; 5 s per prompt. */
async function place(o: PlaceOptions): Promise<Placed> {
  env.clock.set(o.at);
  const sid = newCallSid();
  const params = { CallSid: sid, AccountSid: o.account.sid, From: o.from, To: o.to, CallStatus: 'in-progress', Direction: 'inbound', ApiVersion: '2010-04-01' };
  const placed: Placed = { sid, params, startedAt: Date.parse(o.at), ...(o.dial === undefined ? {} : { dial: o.dial }) };
  let heard = hear(await voice(signedEvent('/voice/incoming', params)));
  const keys = [...(o.keys ?? [])];
  while (heard.gather !== undefined) {
    env.clock.advance(5_000);
    const next = keys.shift();
    if (next === undefined) {
      // The caller hangs up at the prompt.
      if (!o.leaveOpen) await voice(signedEvent('/voice/status', { ...params, CallStatus: 'completed', CallDuration: String(elapsed(placed)) }));
      return placed;
    }
    const step = new URL(heard.gather.action).searchParams.get('step') ?? '';
    const digits = next.replace(/#$/, '');
    heard = hear(await voice(signedEvent(`/voice/code?step=${step}`, { ...params, Digits: digits, FinishedOnKey: next.endsWith('#') ? '#' : '' })));
  }
  if (!o.leaveOpen) await finish(placed);
  return placed;
}

const elapsed = (p: Placed) => Math.round((env.clock().getTime() - p.startedAt) / 1000);

/** The callbacks that end a call: the dial result (when it was dialled), then the status callback. */
async function finish(p: Placed, options: { readonly at?: string } = {}): Promise<void> {
  if (options.at !== undefined) env.clock.set(options.at);
  else env.clock.advance(((p.dial?.talk ?? 0) + 3) * 1000);
  if (p.dial !== undefined) {
    const talk: Record<string, string> = p.dial.status === 'completed' ? { DialCallDuration: String(p.dial.talk ?? 0) } : {};
    await voice(signedEvent('/voice/dial-complete', { ...p.params, DialCallStatus: p.dial.status, ...talk }));
  }
  await voice(signedEvent('/voice/status', { ...p.params, CallStatus: 'completed', CallDuration: String(elapsed(p)) }));
}

beforeAll(async () => {
  env = await dynaliteEnv();
  dir = await mkdtemp(join(tmpdir(), 'tollgate-export-'));
  s3rver = await startS3rver({ directory: dir });
  s3 = makeS3Client({ endpoint: s3rver.endpoint });
  await ensureBucket(s3, BUCKET);
  voice = testVoiceApp(env.stores, { token: AUTH_TOKEN, pepper: async () => PEPPER, publicBaseUrl: BASE_URL, now: env.clock });
});

afterAll(async () => {
  s3?.destroy();
  await s3rver?.close();
  await env?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('a day with calls of every outcome and code status', () => {
  const DAY = '2026-06-15';
  const calls: Record<string, Placed> = {};
  let acme: AccountSetup;
  let rows: Record<string, string>[];
  let bytes: Buffer;

  beforeAll(async () => {
    const authKey = authorizationCodeKey(PEPPER, 'acme', AUTH_DIGITS);
    acme = await newAccount(
      'acme',
      NY,
      {
        callerId: '+14155550100',
        codeLength: { min: 4, max: 6 },
        calls: { default: 'free', premium: 'authorized' },
        levels: { premium: 1 },
        groups: {
          everyone: {},
          lawyers: { calls: { default: 'required' } },
          staff: { calls: { default: 'optional' } },
          tracking: { calls: { default: 'required' }, validate: false },
          interns: { calls: { international: 'blocked' } },
          guessers: { calls: { default: 'required' }, maxAttempts: 5 },
        },
        defaultGroup: 'everyone',
        entryPoints: { '+14155550100': { forwardTo: 'sip:reception@acme.sip.twilio.com', tagByCallerId: true } },
        lockout: { failures: 4, windowMinutes: 15, lockMinutes: 60 },
      },
      [
        { id: 'client:alice', group: 'lawyers' },
        { id: 'client:bob', group: 'staff' },
        { id: 'client:carol', group: 'tracking' },
        { id: 'client:ivan', group: 'interns' },
        { id: 'client:mallory', group: 'guessers' },
      ],
      [
        accountCode('0042', 'Smith v Jones'),
        accountCode('0107', 'Birchwood Estate'),
        accountCode('31337', 'Contoso, "acquisition"', { callerIds: ['+13475550110'] }),
        accountCode('5150', '=HYPERLINK("http://evil.example","click")'),
        accountCode('7777', '+SUM(1,2)'),
        accountCode('8888', '-2+3'),
        accountCode('9999', '@cmd'),
        { key: authKey, kind: 'authorization', ref: codeRef(authKey), description: 'Finance desk', enabled: true, level: 2 },
      ],
    );
    let minute = 0;
    const at = () => new Date(Date.parse(`${DAY}T14:00:00.000Z`) + 10 * 60_000 * minute++).toISOString();
    calls.valid = await place({ account: acme, from: 'client:alice', to: '+12125550199', at: at(), keys: ['0042#'], dial: { status: 'completed', talk: 125 } });
    calls.invalid = await place({ account: acme, from: 'client:alice', to: '+12125550198', at: at(), keys: ['1111#', '2222#', '3333#'] });
    calls.skipped = await place({ account: acme, from: 'client:bob', to: '+12125550197', at: at(), keys: ['#'], dial: { status: 'busy' } });
    calls.unvalidated = await place({ account: acme, from: 'client:carol', to: '+12125550196', at: at(), keys: ['5555#'], dial: { status: 'no-answer' } });
    calls.callerId = await place({ account: acme, from: '+13475550110', to: '+14155550100', at: at(), dial: { status: 'failed' } });
    calls.exempt = await place({ account: acme, from: 'client:dave', to: '911', at: at(), dial: { status: 'completed', talk: 30 } });
    calls.none = await place({ account: acme, from: 'client:erin', to: '+12125550195', at: at(), dial: { status: 'canceled' } });
    calls.notPermitted = await place({ account: acme, from: 'client:ivan', to: '+442079460018', at: at() });
    calls.abandoned = await place({ account: acme, from: 'client:bob', to: '+12125550194', at: at(), keys: [] });
    calls.lockedOut = await place({ account: acme, from: 'client:mallory', to: '+12125550193', at: at(), keys: ['1111#', '2222#', '3333#', '4444#'] });
    calls.tagged = await place({ account: acme, from: 'client:erin', to: '+12125550192', at: at(), dial: { status: 'completed', talk: 61 } });
    calls.authorized = await place({ account: acme, from: 'client:alice', to: '+19005550100', at: at(), keys: [`${AUTH_DIGITS}#`], dial: { status: 'completed', talk: 10 } });
    calls.formula1 = await place({ account: acme, from: 'client:bob', to: '+12125550191', at: at(), keys: ['5150#'], dial: { status: 'completed', talk: 5 } });
    calls.formula2 = await place({ account: acme, from: 'client:bob', to: '+12125550191', at: at(), keys: ['7777#'], dial: { status: 'completed', talk: 5 } });
    calls.formula3 = await place({ account: acme, from: 'client:bob', to: '+12125550191', at: at(), keys: ['8888#'], dial: { status: 'completed', talk: 5 } });
    calls.formula4 = await place({ account: acme, from: 'client:bob', to: '+12125550191', at: at(), keys: ['9999#'], dial: { status: 'completed', talk: 5 } });
    env.clock.set(`${DAY}T22:00:00.000Z`);
    const tagged = await tagCall(
      { calls: env.stores.calls, codes: env.stores.codes, accounts: env.stores.accounts, exports: env.stores.exports, now: env.clock },
      (calls.tagged as Placed).sid,
      '0107',
      'dana',
    );
    expect(tagged.ok).toBe(true);

    // The day ends at 04:00Z (EDT); the hourly run at 05:05Z finds it due.
    env.clock.set('2026-06-16T05:05:00.000Z');
    const run = await runScheduledExport(onlyAccount('acme'));
    expect(run.accounts[0]).toMatchObject({ account: 'acme', status: 'done' });
    expect(run.accounts[0]?.files.map((f) => f.key)).toEqual([usageDayKey('acme', DAY), usageSummaryKey('acme', '2026-06')]);
    bytes = (await object(usageDayKey('acme', DAY))) as Buffer;
    rows = await csvOf(usageDayKey('acme', DAY));
  });

  const rowOf = (name: string) => rows.find((r) => r.call_sid === calls[name]?.sid) as Record<string, string>;

  it('writes one row per call, each outcome and each code status present', () => {
    expect(rows).toHaveLength(Object.keys(calls).length);
    expect(new Set(rows.map((r) => r.call_sid)).size).toBe(rows.length);
    expect(new Set(rows.map((r) => r.outcome))).toEqual(new Set(OUTCOMES));
    expect(new Set(rows.map((r) => r.code_status))).toEqual(new Set(CODE_STATUSES));
  });

  it.each([
    [
      'valid',
      {
        outcome: 'completed',
        code_status: 'valid',
        code: '0042',
        code_description: 'Smith v Jones',
        code_kind: 'account',
        talk_s: '125',
        attempts: '1',
        destination_class: 'national',
      },
    ],
    ['invalid', { outcome: 'blocked', code_status: 'invalid', code: '', talk_s: '0', attempts: '3' }],
    ['skipped', { outcome: 'busy', code_status: 'skipped', code: '', talk_s: '0' }],
    ['unvalidated', { outcome: 'no-answer', code_status: 'unvalidated', code: '5555', code_description: '', code_kind: 'account' }],
    [
      'callerId',
      {
        direction: 'inbound',
        outcome: 'failed',
        code_status: 'caller-id',
        code: '31337',
        code_description: 'Contoso, "acquisition"',
        caller: '+13475550110',
        destination: '+14155550100',
        entry_point: '+14155550100',
      },
    ],
    ['exempt', { outcome: 'completed', code_status: 'exempt', destination_class: 'emergency', talk_s: '30' }],
    ['none', { outcome: 'canceled', code_status: 'none', talk_s: '0' }],
    ['notPermitted', { outcome: 'not-permitted', code_status: 'none', destination_class: 'international', talk_s: '0' }],
    ['abandoned', { outcome: 'abandoned', code_status: 'none', attempts: '0' }],
    ['lockedOut', { outcome: 'blocked', code_status: 'locked-out', attempts: '4' }],
    ['tagged', { outcome: 'completed', code_status: 'tagged', code: '0107', code_description: 'Birchwood Estate', code_kind: 'account', talk_s: '61' }],
    ['authorized', { outcome: 'completed', code_status: 'valid', code: '', code_description: 'Finance desk', code_kind: 'authorization', destination_class: 'premium' }],
  ])('the %s call has the right values', (name, expected) => {
    expect(rowOf(name)).toMatchObject({ account: 'acme', ...expected });
  });

  it('writes the times in the account zone with its offset, and the durations Twilio reported', () => {
    const r = rowOf('valid');
    expect(r.started_at).toBe('2026-06-15T10:00:00-04:00');
    // One prompt (5 s), then 125 s of talk and 3 s of ringing: Twilio's CallDuration.
    expect(r.duration_s).toBe('133');
    expect(r.ended_at).toBe('2026-06-15T10:02:13-04:00');
  });

  it('never writes the digits of an authorization code', () => {
    expect(bytes.toString('utf8')).not.toContain(AUTH_DIGITS);
  });

  it('neutralises fields starting with = + - @, while +14155550100 stays as it is', () => {
    expect(rowOf('formula1').code_description).toBe('\'=HYPERLINK("http://evil.example","click")');
    expect(rowOf('formula2').code_description).toBe("'+SUM(1,2)");
    expect(rowOf('formula3').code_description).toBe("'-2+3");
    expect(rowOf('formula4').code_description).toBe("'@cmd");
    expect(rowOf('callerId').destination).toBe('+14155550100');
    expect(rowOf('valid').destination).toBe('+12125550199');
  });

  it('parses with csv-parse and with a strict RFC 4180 reader, header exactly as docs/data-model.md, BOM and CRLF', () => {
    const records = strictRfc4180(bytes);
    expect(records[0]).toEqual([...USAGE_COLUMNS]);
    expect(records).toHaveLength(rows.length + 1);
    expect(bytes.toString('utf8').replace(/\r\n/g, '')).not.toMatch(/[\r\n](?![^"]*"(?:,|$))/);
    // csv-parse agrees with the strict reader field for field.
    const loose = parse(bytes, { bom: true }) as string[][];
    expect(loose).toEqual(records);
  });

  it('sums each code for the month: billable minutes round each answered call up (125 s → 3)', async () => {
    const summaryBytes = (await object(usageSummaryKey('acme', '2026-06'))) as Buffer;
    const records = strictRfc4180(summaryBytes);
    expect(records[0]).toEqual([...SUMMARY_COLUMNS]);
    const summary = await csvOf(usageSummaryKey('acme', '2026-06'));
    const byCode = Object.fromEntries(summary.filter((s) => s.code !== '').map((s) => [s.code, s]));
    expect(byCode['0042']).toMatchObject({ code_description: 'Smith v Jones', calls: '1', talk_s: '125', billable_minutes: '3', first_call: '2026-06-15T10:00:00-04:00' });
    expect(byCode['0107']).toMatchObject({ calls: '1', talk_s: '61', billable_minutes: '2' });
    expect(byCode['5555']).toMatchObject({ calls: '1', talk_s: '0', billable_minutes: '0' });
    const auth = summary.find((s) => s.code_kind === 'authorization');
    expect(auth).toMatchObject({ code: '', code_description: 'Finance desk', calls: '1', billable_minutes: '1' });
    // The last row totals the calls with no code; every call of the month is counted once.
    expect(summary.at(-1)).toMatchObject({ code: '', code_kind: '' });
    expect(summary.reduce((n, s) => n + Number(s.calls), 0)).toBe(rows.length);
    expect(summaryBytes.toString('utf8')).not.toContain(AUTH_DIGITS);
  });

  it('writes an .xlsx twin of the day and of the summary with typed cells: local times as dates, numbers as numbers, codes as text', async () => {
    const day = await sheetOf(twinKey(usageDayKey('acme', DAY)));
    expect(day.header).toEqual([...USAGE_COLUMNS]);
    expect(day.rows).toHaveLength(rows.length);
    const valid = day.rows.find((r) => r.call_sid === calls.valid?.sid);
    // 10:00 in New York, as the CSV shows it (a spreadsheet has no time zones).
    expect(valid).toMatchObject({ code: '0042', talk_s: 125, attempts: 1, started_at: new Date(Date.UTC(2026, 5, 15, 10, 0, 0)) });
    expect(typeof valid?.duration_s).toBe('number');
    // A description that looks like a formula is text, never a formula.
    expect(day.rows.find((r) => r.call_sid === calls.formula1?.sid)?.code_description).toBe('=HYPERLINK("http://evil.example","click")');
    expect(day.formulas).toBe(0);
    expect(JSON.stringify(day.rows)).not.toContain(AUTH_DIGITS);
    const summary = await sheetOf(twinKey(usageSummaryKey('acme', '2026-06')));
    expect(summary.header).toEqual([...SUMMARY_COLUMNS]);
    expect(summary.rows.find((r) => r.code === '0042')).toMatchObject({ calls: 1, talk_s: 125, billable_minutes: 3, first_call: new Date(Date.UTC(2026, 5, 15, 10, 0, 0)) });
    expect(summary.rows.find((r) => r.code_kind === 'authorization')?.ref).toMatch(/^[0-9a-f]{8}$/);
  });

  it('writes the same bytes when run again, and nothing at all on the next hourly run', async () => {
    const again = await exportDays(onlyAccount('acme'), 'acme', [DAY]);
    expect(await object(usageDayKey('acme', DAY))).toEqual(bytes);
    const ledger = await env.stores.exports.days('acme');
    expect(again[0]?.sha256).toBe(ledger.get(DAY)?.sha256);
    env.clock.advance(60 * 60_000);
    const next = await runScheduledExport(onlyAccount('acme'));
    expect(next.accounts[0]?.files).toEqual([]);
  });
});

describe('which day a call lands on', () => {
  it('puts a call that spans local midnight on the day it started', async () => {
    const acct = await newAccount('midnight', NY);
    // 23:59:30 EDT on 2026-06-20, talking past midnight.
    const call = await place({ account: acct, from: 'client:zoe', to: '+12125550100', at: '2026-06-21T03:59:30.000Z', dial: { status: 'completed', talk: 120 } });
    env.clock.set('2026-06-22T05:00:00.000Z');
    await runScheduledExport(onlyAccount('midnight'));
    const first = await csvOf(usageDayKey('midnight', '2026-06-20'));
    expect(first.map((r) => r.call_sid)).toEqual([call.sid]);
    expect(first[0]).toMatchObject({ started_at: '2026-06-20T23:59:30-04:00', ended_at: '2026-06-21T00:01:33-04:00', talk_s: '120' });
    // The next day was written too, with no calls: a header and nothing else.
    expect(await csvOf(usageDayKey('midnight', '2026-06-21'))).toEqual([]);
    expect((await object(usageDayKey('midnight', '2026-06-21')))?.toString('utf8')).toBe(`\ufeff${USAGE_COLUMNS.join(',')}\r\n`);
  });

  it.each([
    {
      name: 'New York, spring forward (2026-03-08, 23 hours)',
      tz: NY,
      day: '2026-03-08',
      calls: [
        ['2026-03-08T04:59:00.000Z', '2026-03-07', '2026-03-07T23:59:00-05:00'],
        ['2026-03-08T06:30:00.000Z', '2026-03-08', '2026-03-08T01:30:00-05:00'],
        ['2026-03-08T07:30:00.000Z', '2026-03-08', '2026-03-08T03:30:00-04:00'],
        ['2026-03-09T03:59:00.000Z', '2026-03-08', '2026-03-08T23:59:00-04:00'],
        ['2026-03-09T04:00:00.000Z', '2026-03-09', '2026-03-09T00:00:00-04:00'],
      ],
      // Ends at 04:00Z; due an hour later.
      due: '2026-03-09T05:00:00.000Z',
    },
    {
      name: 'New York, fall back (2026-11-01, 25 hours)',
      tz: NY,
      day: '2026-11-01',
      calls: [
        ['2026-11-01T03:59:00.000Z', '2026-10-31', '2026-10-31T23:59:00-04:00'],
        ['2026-11-01T05:30:00.000Z', '2026-11-01', '2026-11-01T01:30:00-04:00'],
        ['2026-11-01T06:30:00.000Z', '2026-11-01', '2026-11-01T01:30:00-05:00'],
        ['2026-11-02T04:59:00.000Z', '2026-11-01', '2026-11-01T23:59:00-05:00'],
      ],
      due: '2026-11-02T06:00:00.000Z',
    },
    {
      name: 'London, clocks go forward (2026-03-29, 23 hours)',
      tz: LONDON,
      day: '2026-03-29',
      calls: [
        ['2026-03-29T00:30:00.000Z', '2026-03-29', '2026-03-29T00:30:00+00:00'],
        ['2026-03-29T01:30:00.000Z', '2026-03-29', '2026-03-29T02:30:00+01:00'],
        ['2026-03-29T22:59:00.000Z', '2026-03-29', '2026-03-29T23:59:00+01:00'],
        ['2026-03-29T23:00:00.000Z', '2026-03-30', '2026-03-30T00:00:00+01:00'],
      ],
      due: '2026-03-30T00:00:00.000Z',
    },
    {
      name: 'London, clocks go back (2026-10-25, 25 hours)',
      tz: LONDON,
      day: '2026-10-25',
      calls: [
        ['2026-10-24T23:30:00.000Z', '2026-10-25', '2026-10-25T00:30:00+01:00'],
        ['2026-10-25T00:30:00.000Z', '2026-10-25', '2026-10-25T01:30:00+01:00'],
        ['2026-10-25T01:30:00.000Z', '2026-10-25', '2026-10-25T01:30:00+00:00'],
        ['2026-10-25T23:59:00.000Z', '2026-10-25', '2026-10-25T23:59:00+00:00'],
      ],
      due: '2026-10-26T01:00:00.000Z',
    },
  ])('$name: each call on its local day, written once the day is due', async ({ tz, day, calls, due }) => {
    const account = `dst-${day}`;
    const acct = await newAccount(account, tz);
    const placed: { sid: string; day: string; local: string }[] = [];
    for (const [at, localDay, local] of calls as [string, string, string][]) {
      const p = await place({ account: acct, from: 'client:zoe', to: tz === NY ? '+12125550100' : '+442079460018', at, dial: { status: 'completed', talk: 10 } });
      placed.push({ sid: p.sid, day: localDay, local });
    }
    env.clock.set(new Date(Date.parse(due) - 1000).toISOString());
    await runScheduledExport(onlyAccount(account));
    expect(await object(usageDayKey(account, day))).toBeUndefined();
    env.clock.set(due);
    const run = await runScheduledExport(onlyAccount(account));
    expect(run.accounts[0]?.files.map((f) => f.day).filter((d) => d !== undefined)).toContain(day);
    for (const d of new Set(placed.map((p) => p.day))) {
      if (d > day) continue; // not due yet
      const rows = await csvOf(usageDayKey(account, d));
      const expected = placed.filter((p) => p.day === d);
      expect(rows.map((r) => r.call_sid)).toEqual(expected.map((p) => p.sid));
      expect(rows.map((r) => r.started_at)).toEqual(expected.map((p) => p.local));
    }
  });
});

describe('a day that changes after it was written', () => {
  it('is written again when a late status callback lands', async () => {
    const acct = await newAccount('late', NY);
    // 23:30 EDT: still talking when the day is exported at 05:05Z.
    const call = await place({ account: acct, from: 'client:zoe', to: '+12125550100', at: '2026-06-16T03:30:00.000Z', dial: { status: 'completed', talk: 7000 }, leaveOpen: true });
    env.clock.set('2026-06-16T05:05:00.000Z');
    await runScheduledExport(onlyAccount('late'));
    const before = await csvOf(usageDayKey('late', '2026-06-15'));
    expect(before[0]).toMatchObject({ call_sid: call.sid, started_at: '2026-06-15T23:30:00-04:00', ended_at: '', duration_s: '', talk_s: '', outcome: '' });
    const beforeSha = (await env.stores.exports.days('late')).get('2026-06-15')?.sha256;

    await finish(call, { at: '2026-06-16T05:27:00.000Z' });
    env.clock.set('2026-06-16T06:05:00.000Z');
    const run = await runScheduledExport(onlyAccount('late'));
    expect(run.accounts[0]?.files.map((f) => f.key)).toEqual([usageDayKey('late', '2026-06-15'), usageSummaryKey('late', '2026-06')]);
    const after = await csvOf(usageDayKey('late', '2026-06-15'));
    expect(after[0]).toMatchObject({ call_sid: call.sid, outcome: 'completed', talk_s: '7000', ended_at: '2026-06-16T01:27:00-04:00' });
    expect((await env.stores.exports.days('late')).get('2026-06-15')?.sha256).not.toBe(beforeSha);
    const summary = await csvOf(usageSummaryKey('late', '2026-06'));
    expect(summary[0]).toMatchObject({ talk_s: '7000', billable_minutes: '117' });
  });

  it('is written again, however old, when a call of it is tagged', async () => {
    const acct = await newAccount('tagold', NY, {}, [], [accountCode('0042', 'Smith v Jones')]);
    const call = await place({ account: acct, from: 'client:zoe', to: '+12125550100', at: '2026-04-01T15:00:00.000Z', dial: { status: 'completed', talk: 90 } });
    await exportDays(onlyAccount('tagold'), 'tagold', ['2026-04-01']);
    expect((await csvOf(usageDayKey('tagold', '2026-04-01')))[0]).toMatchObject({ code: '', code_status: 'none' });

    // Two months on: far outside the days an hourly run checks by itself.
    env.clock.set('2026-06-10T12:00:00.000Z');
    const tagged = await tagCall(
      { calls: env.stores.calls, codes: env.stores.codes, accounts: env.stores.accounts, exports: env.stores.exports, now: env.clock },
      call.sid,
      '0042',
      'dana',
    );
    expect(tagged).toMatchObject({ ok: true, changed: true, day: '2026-04-01' });
    env.clock.advance(10 * 60_000);
    const run = await runScheduledExport(onlyAccount('tagold'));
    expect(run.accounts[0]?.files.map((f) => f.key)).toContain(usageDayKey('tagold', '2026-04-01'));
    expect((await csvOf(usageDayKey('tagold', '2026-04-01')))[0]).toMatchObject({ code: '0042', code_description: 'Smith v Jones', code_status: 'tagged' });
    expect(await csvOf(usageSummaryKey('tagold', '2026-04'))).toEqual([expect.objectContaining({ code: '0042', calls: '1', talk_s: '90', billable_minutes: '2' })]);
    // Written once: the next run leaves it alone.
    env.clock.advance(60 * 60_000);
    expect((await runScheduledExport(onlyAccount('tagold'))).accounts[0]?.files).toEqual([]);
  });

  it('keeps a webhook that lands while a call is being tagged: the tag reads again and wins second', async () => {
    const acct = await newAccount('race', NY, {}, [], [accountCode('0042', 'Smith v Jones')]);
    // The dial result is in; the status callback (with Twilio's duration) lands while the call is tagged.
    const open = await place({ account: acct, from: 'client:zoe', to: '+12125550100', at: '2026-06-15T16:00:00.000Z', dial: { status: 'completed', talk: 40 }, leaveOpen: true });
    await voice(signedEvent('/voice/dial-complete', { ...open.params, DialCallStatus: 'completed', DialCallDuration: '40' }));
    let interfered = false;
    const racing: CallStore = {
      get: (sid) => env.stores.calls.get(sid),
      async put(state, options) {
        if (!interfered) {
          interfered = true;
          await voice(signedEvent('/voice/status', { ...open.params, CallStatus: 'completed', CallDuration: '777' }));
        }
        return env.stores.calls.put(state, options);
      },
    };
    const result = await tagCall({ calls: racing, codes: env.stores.codes, accounts: env.stores.accounts, exports: env.stores.exports, now: env.clock }, open.sid, '0042', 'dana');
    expect(result.ok).toBe(true);
    const stored = (await env.stores.calls.get(open.sid))?.state;
    expect(stored).toMatchObject({ code: '0042', codeStatus: 'tagged', taggedBy: 'dana', durationS: 777, statusReceived: true });
  });
});

describe('one exporter per account', () => {
  it('skips an account another exporter holds, and refuses an on-demand export of it, until the lock lapses', async () => {
    await newAccount('locked', NY);
    env.clock.set('2026-06-15T12:00:00.000Z');
    expect(await env.stores.exports.acquire('locked', 'someone-else', env.clock().toISOString(), '2026-06-15T12:15:00.000Z')).toBe(true);
    expect((await runScheduledExport(onlyAccount('locked'))).accounts[0]?.status).toBe('locked');
    await expect(exportDays(onlyAccount('locked'), 'locked', ['2026-06-14'])).rejects.toBeInstanceOf(ExportLockedError);
    env.clock.set('2026-06-15T12:16:00.000Z');
    expect((await exportDays(onlyAccount('locked'), 'locked', ['2026-06-14'])).map((f) => f.kind)).toEqual(['usage', 'summary']);
  });
});

describe('a day and its .xlsx twin, written from one read', () => {
  it('fails whole, without waiting on the other file, when one of the two uploads fails', async () => {
    const acct = await newAccount('twinfail', NY);
    for (let i = 0; i < 5; i++) {
      await place({ account: acct, from: 'client:zoe', to: '+12125550100', at: `2026-06-15T1${i}:00:00.000Z`, dial: { status: 'completed', talk: 10 + i } });
    }
    env.clock.set('2026-06-16T05:05:00.000Z');
    const real = s3ExportFiles(s3, BUCKET);
    let reads = 0;
    const usage: UsageSource = {
      callsOfDay: (account, day) => {
        reads++;
        return env.stores.calls.callsOfDay(account, day);
      },
      changedSince: (a, d, since) => env.stores.calls.changedSince(a, d, since),
      hasCalls: (a, d) => env.stores.calls.hasCalls(a, d),
    };
    const failing = {
      put: async (key: string, body: AsyncIterable<Uint8Array>, meta: { contentType: string; fileName: string }) => {
        if (!key.endsWith('.xlsx')) return real.put(key, body, meta);
        // The twin's upload dies after its first bytes, as a dropped connection would.
        for await (const _ of body) break;
        throw new Error('the twin upload failed');
      },
    };
    const deps = { ...onlyAccount('twinfail'), usage, files: failing };
    await expect(exportDays(deps, 'twinfail', ['2026-06-15'])).rejects.toThrow('the twin upload failed');
    // The day was read once for both files, and is not marked written: the next run writes it again.
    expect(reads).toBe(1);
    expect((await env.stores.exports.days('twinfail')).has('2026-06-15')).toBe(false);
    const written = await exportDays(onlyAccount('twinfail'), 'twinfail', ['2026-06-15']);
    expect(written.map((f) => f.kind)).toEqual(['usage', 'summary']);
    expect(written[0]?.rows).toBe(5);
  });
});

describe('the export handler', () => {
  it('fails the invocation when an account failed, after exporting the others', async () => {
    const healthy = await newAccount('healthy', NY);
    await newAccount('broken', NY);
    await place({ account: healthy, from: 'client:zoe', to: '+12125550100', at: '2026-06-15T15:00:00.000Z', dial: { status: 'completed', talk: 1 } });
    const usage: UsageSource = {
      callsOfDay: (account, day): AsyncIterable<StoredCall> => {
        if (account === 'broken') throw new Error('the table is on fire');
        return env.stores.calls.callsOfDay(account, day);
      },
      changedSince: (a, d, s) => env.stores.calls.changedSince(a, d, s),
      hasCalls: async (account, day) => account === 'broken' || env.stores.calls.hasCalls(account, day),
    };
    env.clock.set('2026-06-16T05:05:00.000Z');
    const handler = makeExportHandler({
      ...exporter({ usage }),
      accounts: { listAccounts: async () => ['broken', 'healthy'], getSettings: (a) => env.stores.accounts.getSettings(a) },
    });
    const err = await handler({}, { awsRequestId: 'req-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportFailedError);
    expect((err as ExportFailedError).accounts).toEqual(['broken']);
  });

  it('starts no day when the invocation is nearly out of time; the next run carries on', async () => {
    const acct = await newAccount('short', NY);
    await place({ account: acct, from: 'client:zoe', to: '+12125550100', at: '2026-06-15T15:00:00.000Z', dial: { status: 'completed', talk: 1 } });
    env.clock.set('2026-06-16T05:05:00.000Z');
    const handler = makeExportHandler({ ...exporter(), accounts: { listAccounts: async () => ['short'], getSettings: (a) => env.stores.accounts.getSettings(a) } });
    const short = await handler({}, { awsRequestId: 'req-2', getRemainingTimeInMillis: () => 10_000 });
    expect(short.accounts[0]).toMatchObject({ status: 'stopped', files: [] });
    const later = await handler({}, { awsRequestId: 'req-3', getRemainingTimeInMillis: () => 800_000 });
    expect(later.accounts[0]?.files.map((f) => f.key)).toEqual([usageDayKey('short', '2026-06-15'), usageSummaryKey('short', '2026-06')]);
  });

  it('writes a month across invocations that each have time for a few days, asking for the next at once, and ends with the files one run writes', async () => {
    const acct = await newAccount('monthly', NY);
    const days = Array.from({ length: 30 }, (_, i) => `2026-04-${String(i + 1).padStart(2, '0')}`);
    for (const [i, day] of days.entries()) {
      await place({ account: acct, from: 'client:zoe', to: '+12125550100', at: `${day}T15:00:00.000Z`, dial: { status: 'completed', talk: 30 + i } });
    }
    env.clock.set('2026-05-01T06:05:00.000Z');
    let continuations = 0;
    const handler = makeExportHandler(onlyAccount('monthly'), async () => void continuations++);
    const written = new Map<string, string>();
    let invocations = 0;
    for (let asked = continuations - 1; continuations > asked && invocations < 40; invocations++) {
      asked = continuations;
      // Time for four days: the run asks before each day, and the fifth question finds it short.
      let questions = 0;
      const run = await handler({}, { awsRequestId: `req-m${invocations}`, getRemainingTimeInMillis: () => (questions++ < 4 ? 800_000 : 10_000) });
      for (const f of run.accounts[0]?.files ?? []) written.set(f.key, f.sha256);
    }
    expect(invocations).toBe(8);
    expect(continuations).toBe(7);
    const once = await exportDays(onlyAccount('monthly'), 'monthly', days);
    expect(new Map(once.map((f) => [f.key, f.sha256]))).toEqual(written);
    for (const day of days) expect(written.has(usageDayKey('monthly', day)), day).toBe(true);
    expect(written.has(usageSummaryKey('monthly', '2026-04'))).toBe(true);
  });
});
