/**
 * The usage log's pure parts (docs/data-model.md): a record → its CSV row, per-code totals → the monthly
 * summary, the bucket keys, which days an hourly run writes, and after-call tagging.
 */
import { testCall } from '../support/call-fixtures.ts';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { CallState } from '../../functions/core/callflow.ts';
import type { StoredCode } from '../../functions/core/codes.ts';
import { csvField } from '../../functions/core/csv-write.ts';
import { parseSettings, type Settings } from '../../functions/core/settings.ts';
import { toLocalIso, utcOffsetMinutes } from '../../functions/core/time.ts';
import { tagRecord } from '../../functions/core/tagging.ts';
import {
  addDays,
  billableMinutes,
  daysOfMonth,
  daysToProbe,
  endOfLocalDay,
  lastDueDay,
  localIsoFormatter,
  planExport,
  summaryHeader,
  summaryLine,
  TotalsBuilder,
  USAGE_COLUMNS,
  usageDayKey,
  usageHeader,
  usageLine,
  usageSummaryKey,
  usageValues,
  type CodeTotals,
  type UsageRecord,
  type WrittenDay,
} from '../../functions/core/usage.ts';

const NY = 'America/New_York';
const LONDON = 'Europe/London';

function record(extra: Partial<UsageRecord> = {}): UsageRecord {
  return testCall({
    entryPoint: 'acme.sip.twilio.com',
    outcome: 'completed',
    startedAt: '2026-06-15T14:00:00.000Z',
    endedAt: '2026-06-15T14:02:20.000Z',
    durationS: 140,
    talkS: 125,
    ...extra,
  });
}

const row = (r: CallState, tz = NY) => Object.fromEntries(USAGE_COLUMNS.map((c, i) => [c, usageValues(r, tz)[i]]));

describe('a usage row', () => {
  it('has the columns of docs/data-model.md in order, after a byte-order mark, with CRLF', () => {
    expect(usageHeader()).toBe(
      '\ufeffcall_sid,account,direction,started_at,ended_at,duration_s,talk_s,user,caller,destination,destination_class,code,code_description,code_kind,code_status,attempts,outcome,entry_point\r\n',
    );
  });

  it('carries the call with times in the account zone and its UTC offset', () => {
    expect(row(record())).toEqual({
      call_sid: 'CA0123456789abcdef0123456789abcdef',
      account: 'acme',
      direction: 'outbound',
      started_at: '2026-06-15T10:00:00-04:00',
      ended_at: '2026-06-15T10:02:20-04:00',
      duration_s: '140',
      talk_s: '125',
      user: 'client:alice',
      caller: 'client:alice',
      destination: '+442079460018',
      destination_class: 'international',
      code: '0042',
      code_description: 'Smith v Jones',
      code_kind: 'account',
      code_status: 'valid',
      attempts: '1',
      outcome: 'completed',
      entry_point: 'acme.sip.twilio.com',
    });
    expect(row(record(), LONDON).started_at).toBe('2026-06-15T15:00:00+01:00');
    expect(row(record({ startedAt: '2026-01-15T14:00:00.000Z' }), LONDON).started_at).toBe('2026-01-15T14:00:00+00:00');
  });

  it('keeps the leading zeros of a code: it is text from end to end', () => {
    expect(usageLine(record({ code: '0042' }), NY).split(',')[11]).toBe('0042');
  });

  it('never writes the digits of an authorization code, only its description and kind', () => {
    // The record holds none; even a corrupted one that did would not leak them.
    const r = row(record({ codeKind: 'authorization', code: '778899', codeRef: 'a1b2c3d4', codeDescription: 'Finance desk' }));
    expect(r).toMatchObject({ code: '', code_description: 'Finance desk', code_kind: 'authorization' });
    expect(usageLine(record({ codeKind: 'authorization', code: '778899', codeRef: 'a1b2c3d4' }), NY)).not.toContain('778899');
  });

  it('writes a call that has not ended with empty ended_at, duration_s, talk_s and outcome', () => {
    const { outcome: _o, endedAt: _e, durationS: _d, talkS: _t, ...rest } = record();
    const r = row({ ...rest, phase: 'dialling' } as CallState);
    expect(r).toMatchObject({ ended_at: '', duration_s: '', talk_s: '', outcome: '', code: '0042', started_at: '2026-06-15T10:00:00-04:00' });
  });

  it('writes talk_s 0 for an ended call that was never answered', () => {
    const { talkS: _t, ...rest } = record({ outcome: 'busy' });
    expect(row(rest as CallState).talk_s).toBe('0');
  });

  it('neutralises fields a spreadsheet would run as formulas, but not E.164 numbers or plain numbers', () => {
    const r = record({
      caller: '+14155550100',
      destination: '-2+3',
      codeDescription: '=HYPERLINK("http://evil.example","click")',
      user: '@SUM(A1)',
      entryPoint: '+cmd|calc',
    });
    const fields = parse(usageLine(r, NY), { relax_quotes: false })[0] as string[];
    expect(fields[8]).toBe('+14155550100');
    expect(fields[9]).toBe("'-2+3");
    expect(fields[12]).toBe('\'=HYPERLINK("http://evil.example","click")');
    expect(fields[7]).toBe("'@SUM(A1)");
    expect(fields[17]).toBe("'+cmd|calc");
    expect(csvField('\tx', { formulaSafe: true })).toBe("'\tx");
    expect(csvField('\rx', { formulaSafe: true })).toBe('"\'\rx"');
    expect(csvField('-5', { formulaSafe: true })).toBe('-5');
    expect(csvField('+14155550100;+14155550101', { formulaSafe: true })).toBe('+14155550100;+14155550101');
  });

  it('quotes commas, quotes and line breaks the RFC 4180 way', () => {
    const line = usageLine(record({ codeDescription: 'Halvorsen, "Cardenas"\r\n& Webb' }), NY);
    expect(line).toContain('"Halvorsen, ""Cardenas""\r\n& Webb"');
    expect(line.endsWith('\r\n')).toBe(true);
  });
});

describe('the fast local time formatter', () => {
  it.each(['America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Santiago', 'Pacific/Chatham', 'UTC'])(
    'writes exactly what toLocalIso writes in %s through 2026, densely around each offset change',
    (tz) => {
      const format = localIsoFormatter(tz);
      const check = (t: number) => {
        const want = toLocalIso(new Date(t), tz);
        if (format(t) !== want) expect(`${new Date(t).toISOString()} → ${format(t)}`).toBe(`${new Date(t).toISOString()} → ${want}`);
      };
      const from = Date.parse('2026-01-01T00:00:00.000Z');
      const to = Date.parse('2027-01-01T00:00:00.000Z');
      // Through the year at an odd step (so every minute and second of the hour comes up)…
      for (let t = from; t < to; t += 4_033_017) check(t);
      // …and every 31.7 s for three hours either side of each change of offset.
      for (let h = from; h < to; h += 3_600_000) {
        if (utcOffsetMinutes(new Date(h), tz) === utcOffsetMinutes(new Date(h + 3_600_000), tz)) continue;
        for (let t = h - 3 * 3_600_000; t < h + 4 * 3_600_000; t += 31_700) check(t);
      }
    },
  );

  it('falls back to Intl for historic offsets with seconds (New York before 1883)', () => {
    const t = Date.parse('1880-06-01T12:00:00.000Z');
    expect(localIsoFormatter(NY)(t)).toBe(toLocalIso(new Date(t), NY));
  });
});

describe('billable minutes', () => {
  it.each([
    [0, 0],
    [1, 1],
    [59, 1],
    [60, 1],
    [61, 2],
    [125, 3],
    [3600, 60],
  ])('%i s of talk → %i minutes', (talk, minutes) => expect(billableMinutes(talk)).toBe(minutes));

  it('counts nothing for an unanswered call', () => expect(billableMinutes(undefined)).toBe(0));

  it.each([
    [125, 360, 6],
    [360, 360, 6],
    [361, 360, 12],
    [125, 90, 3],
    [80, 90, 1.5],
    [1, 3600, 60],
  ])('%i s of talk in increments of %i s → %f minutes', (talk, increment, minutes) => expect(billableMinutes(talk, increment)).toBe(minutes));
});

describe('per-code totals and the summary', () => {
  const calls = [
    record({ callSid: 'CA1', code: '0042', talkS: 125, startedAt: '2026-06-02T14:00:00.000Z' }),
    record({ callSid: 'CA2', code: '0042', talkS: 60, startedAt: '2026-06-20T14:00:00.000Z', codeDescription: 'Smith v Jones (appeal)' }),
    record({ callSid: 'CA3', code: '0042', talkS: 0, outcome: 'busy', startedAt: '2026-06-10T14:00:00.000Z' }),
    record({ callSid: 'CA4', code: '00777', codeDescription: 'Pro bono', talkS: 30, startedAt: '2026-06-05T14:00:00.000Z' }),
    record({ callSid: 'CA5', codeKind: 'authorization', code: undefined, codeRef: 'a1b2c3d4', codeDescription: 'Finance desk', talkS: 200, startedAt: '2026-06-07T14:00:00.000Z' }),
    record({ callSid: 'CA6', codeKind: undefined, code: undefined, codeDescription: undefined, codeStatus: 'none', talkS: 10, startedAt: '2026-06-08T14:00:00.000Z' }),
  ];

  it('adds each code up: calls, talk seconds, billable minutes (125 s → 3), first and last call', () => {
    const b = new TotalsBuilder();
    for (const c of calls) b.add(c);
    const byKey = Object.fromEntries(b.list().map((t) => [t.key, t]));
    expect(byKey['A:0042']).toMatchObject({ code: '0042', calls: 3, talkS: 185, billableMinutes: 4, description: 'Smith v Jones (appeal)' });
    expect(byKey['A:0042']?.firstCall).toBe(Date.parse('2026-06-02T14:00:00.000Z'));
    expect(byKey['A:0042']?.lastCall).toBe(Date.parse('2026-06-20T14:00:00.000Z'));
    expect(byKey['Z:a1b2c3d4']).toMatchObject({ code: '', kind: 'authorization', description: 'Finance desk', billableMinutes: 4 });
    expect(byKey['']).toMatchObject({ code: '', kind: '', calls: 1, billableMinutes: 1 });
  });

  it('lists account codes by their digits as text, then authorization codes, then the calls with no code', () => {
    const b = new TotalsBuilder();
    for (const c of calls) b.add(c);
    expect(b.list().map((t) => t.key)).toEqual(['A:0042', 'A:00777', 'Z:a1b2c3d4', '']);
  });

  it('gives the same totals whatever order the days are merged in', () => {
    const days = calls.map((c) => {
      const b = new TotalsBuilder();
      b.add(c);
      return b.list();
    });
    const merge = (order: CodeTotals[][]) => {
      const b = new TotalsBuilder();
      for (const day of order) for (const t of day) b.merge(t);
      return b.list();
    };
    expect(merge([...days].reverse())).toEqual(merge(days));
  });

  it('writes the summary header and rows of docs/data-model.md', () => {
    const b = new TotalsBuilder();
    b.add(calls[0] as CallState);
    const [t] = b.list();
    expect(summaryHeader()).toBe('\ufeffcode,code_description,code_kind,calls,talk_s,billable_minutes,first_call,last_call,ref\r\n');
    expect(summaryLine(t as CodeTotals, NY)).toBe('0042,Smith v Jones,account,1,125,3,2026-06-02T10:00:00-04:00,2026-06-02T10:00:00-04:00,\r\n');
  });

  it('rounds each call up to the billing increment, and tells two authorization codes of one description apart by ref', () => {
    const b = new TotalsBuilder(360);
    const auth = (callSid: string, codeRef: string, talkS: number) =>
      record({ callSid, code: undefined, codeKind: 'authorization', codeRef, codeDescription: 'Partners', talkS, startedAt: '2026-06-03T14:00:00.000Z' });
    b.add(calls[0] as CallState);
    b.add(auth('CA7', 'a1b2c3d4', 100));
    b.add(auth('CA8', '9f8e7d6c', 400));
    const lines = b.list().map((t) => summaryLine(t, NY));
    expect(lines[0]).toMatch(/^0042,Smith v Jones,account,1,125,6,/);
    expect(
      lines
        .filter((l) => l.includes(',Partners,authorization,'))
        .map((l) =>
          l
            .split(',')
            .slice(4, 6)
            .concat(l.trim().split(',').at(-1) ?? ''),
        ),
    ).toEqual(
      expect.arrayContaining([
        ['100', '6', 'a1b2c3d4'],
        ['400', '12', '9f8e7d6c'],
      ]),
    );
  });
});

describe('where the files go', () => {
  it('puts a day and its month summary under exports/<account>/usage/YYYY/MM/', () => {
    expect(usageDayKey('acme', '2026-03-08')).toBe('exports/acme/usage/2026/03/usage-2026-03-08.csv');
    expect(usageSummaryKey('acme', '2026-03')).toBe('exports/acme/usage/2026/03/summary-2026-03.csv');
    expect(() => usageDayKey('acme', '2026-02-30')).toThrow(RangeError);
  });

  it('knows the days of a month', () => {
    expect(daysOfMonth('2028-02')).toHaveLength(29);
    expect(daysOfMonth('2026-02').at(-1)).toBe('2026-02-28');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });
});

describe('when a day is due', () => {
  it.each([
    // New York, spring forward: 2026-03-08 has 23 hours and ends at 04:00Z.
    [NY, '2026-03-08', '2026-03-09T04:00:00.000Z'],
    // New York, fall back: 2026-11-01 has 25 hours and ends at 05:00Z.
    [NY, '2026-11-01', '2026-11-02T05:00:00.000Z'],
    [LONDON, '2026-03-29', '2026-03-29T23:00:00.000Z'],
    [LONDON, '2026-10-25', '2026-10-26T00:00:00.000Z'],
  ])('%s %s ends at %s, and is due exportDelayMinutes later', (tz, day, end) => {
    expect(endOfLocalDay(day, tz).toISOString()).toBe(end);
    const endMs = Date.parse(end);
    expect(lastDueDay(new Date(endMs + 60 * 60_000 - 1000), tz, 60)).toBe(addDays(day, -1));
    expect(lastDueDay(new Date(endMs + 60 * 60_000), tz, 60)).toBe(day);
    expect(lastDueDay(new Date(endMs), tz, 0)).toBe(day);
  });
});

describe('what an hourly run writes', () => {
  const base = {
    timeZone: NY,
    exportDelayMinutes: 60,
    lookbackDays: 35,
    recheckDays: 3,
    firstCallDay: undefined,
  };
  const mark = (watermark: string, changedAt?: string): WrittenDay => ({ watermark, ...(changedAt === undefined ? {} : { changedAt }) });

  it('writes nothing for an account that never had a call', () => {
    expect(planExport({ ...base, now: new Date('2026-06-16T06:00:00Z'), written: new Map() })).toEqual({ write: [], rewrite: [], recheck: [] });
  });

  it('writes every due day from the first call on, empty days included', () => {
    const plan = planExport({ ...base, now: new Date('2026-06-16T06:00:00Z'), written: new Map(), firstCallDay: '2026-06-12' });
    expect(plan.write).toEqual(['2026-06-12', '2026-06-13', '2026-06-14', '2026-06-15']);
  });

  it('writes the days before one written on demand, from the first call on', () => {
    const written = new Map([['2026-06-14', mark('2026-06-15T05:00:00.000Z')]]);
    const plan = planExport({ ...base, now: new Date('2026-06-16T06:00:00Z'), written, firstCallDay: '2026-06-12' });
    expect(plan.write).toEqual(['2026-06-12', '2026-06-13', '2026-06-15']);
  });

  it('looks for the first call only before the earliest written day, within the look-back', () => {
    const now = new Date('2026-06-16T06:00:00Z');
    expect(daysToProbe(now, NY, 60, undefined, 3)).toEqual(['2026-06-13', '2026-06-14', '2026-06-15']);
    expect(daysToProbe(now, NY, 60, '2026-06-14', 3)).toEqual(['2026-06-13']);
    expect(daysToProbe(now, NY, 60, '2026-01-01', 35)).toEqual([]);
  });

  it('does not write a day before it is due', () => {
    // 2026-06-15 ends at 04:00Z; with a 60-minute delay it is due at 05:00Z.
    const plan = planExport({ ...base, now: new Date('2026-06-16T04:59:59Z'), written: new Map(), firstCallDay: '2026-06-15' });
    expect(plan.write).toEqual([]);
  });

  it('looks back no further than lookbackDays', () => {
    const written = new Map([['2026-01-01', mark('2026-01-02T06:00:00.000Z')]]);
    const plan = planExport({ ...base, now: new Date('2026-06-16T06:00:00Z'), written, lookbackDays: 3 });
    expect(plan.write).toEqual(['2026-06-13', '2026-06-14', '2026-06-15']);
  });

  it('rewrites a day whose change was counted after its read, whatever the reporter clock said', () => {
    const written = new Map([['2026-05-01', { watermark: '2026-05-02T05:00:00.000Z', changedAt: '2026-05-01T00:00:00.000Z', changes: 2, changesWritten: 1 }]]);
    const plan = planExport({ ...base, now: new Date('2026-06-16T06:00:00Z'), written, lookbackDays: 1 });
    expect(plan.rewrite).toEqual(['2026-05-01']);
    const settled = new Map([['2026-05-01', { watermark: '2026-05-02T05:00:00.000Z', changedAt: '2026-05-01T00:00:00.000Z', changes: 2, changesWritten: 2 }]]);
    expect(planExport({ ...base, now: new Date('2026-06-16T06:00:00Z'), written: settled, lookbackDays: 1 }).rewrite).toEqual([]);
  });

  it('rechecks recent written days against their watermark, and rewrites any day reported changed', () => {
    const written = new Map([
      ['2026-05-01', mark('2026-05-02T05:00:00.000Z', '2026-06-10T12:00:00.000Z')],
      ['2026-05-02', mark('2026-05-03T05:00:00.000Z', '2026-05-02T23:00:00.000Z')],
      ['2026-06-13', mark('2026-06-14T05:00:00.000Z')],
      ['2026-06-14', mark('2026-06-15T05:00:00.000Z')],
    ]);
    const plan = planExport({ ...base, now: new Date('2026-06-16T06:00:00Z'), written, firstCallDay: undefined, lookbackDays: 3 });
    expect(plan.rewrite).toEqual(['2026-05-01']);
    expect(plan.recheck).toEqual([
      { day: '2026-06-13', since: '2026-06-14T05:00:00.000Z' },
      { day: '2026-06-14', since: '2026-06-15T05:00:00.000Z' },
    ]);
    expect(plan.write).toEqual(['2026-06-15']);
  });
});

describe('after-call tagging', () => {
  const parsed = parseSettings({
    account: 'acme',
    twilioAccountSids: [`AC${'a'.repeat(32)}`],
    homeCountry: 'US',
    timeZone: NY,
    codeLength: { min: 4, max: 6 },
    groups: { lawyers: {} },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const settings: Settings = parsed.value;
  const ctx = { settings, by: 'dana', now: new Date('2026-06-20T12:00:00Z') };
  const code = (extra: Partial<StoredCode> = {}): StoredCode => ({ kind: 'account', code: '0107', description: 'Birchwood Estate', enabled: true, ...extra });
  const untagged = record({ code: undefined, codeDescription: undefined, codeKind: undefined, codeStatus: 'skipped', group: 'lawyers' });

  it('tags an ended call: code, description, kind, status tagged, and who and when', () => {
    const result = tagRecord(untagged, '0107', code(), ctx);
    expect(result).toMatchObject({
      ok: true,
      changed: true,
      state: { code: '0107', codeDescription: 'Birchwood Estate', codeKind: 'account', codeStatus: 'tagged', taggedBy: 'dana', taggedAt: '2026-06-20T12:00:00.000Z' },
    });
  });

  it('changes nothing when the call already carries the code', () => {
    const result = tagRecord(record({ code: '0107', codeDescription: 'Birchwood Estate' }), '0107', code(), ctx);
    expect(result).toMatchObject({ ok: true, changed: false });
  });

  it.each([
    ['a code that does not exist', undefined, 'not-found'],
    ['a disabled code', code({ enabled: false }), 'disabled'],
    ['a code that had expired on the day of the call', code({ expires: '2026-06-14' }), 'expired'],
    ['a code for other users', code({ users: ['client:bob'] }), 'not-allowed'],
    ['a code for another group', code({ groups: ['interns'] }), 'not-allowed'],
  ])('refuses %s', (_what, lookup, reason) => {
    expect(tagRecord(untagged, '0107', lookup, ctx)).toMatchObject({ ok: false, reason });
  });

  it('accepts a code that expired after the call: the call happened while it was good', () => {
    expect(tagRecord(untagged, '0107', code({ expires: '2026-06-15' }), ctx)).toMatchObject({ ok: true });
  });

  it('accepts a code allowed for the call user group', () => {
    expect(tagRecord(untagged, '0107', code({ groups: ['lawyers'] }), ctx)).toMatchObject({ ok: true });
  });

  it('refuses a code of the wrong length without repeating the digits', () => {
    const result = tagRecord(untagged, '12', undefined, ctx);
    expect(result).toMatchObject({ ok: false, reason: 'format' });
    expect(JSON.stringify(result)).not.toContain('"12"');
  });

  it('accepts any code of the right length when the call was tracking only (validate: false)', () => {
    expect(tagRecord({ ...untagged, validate: false }, '5555', undefined, ctx)).toMatchObject({ ok: true, state: { code: '5555', codeKind: 'account', codeStatus: 'tagged' } });
  });

  it('refuses a call that has not ended', () => {
    expect(tagRecord({ ...untagged, phase: 'dialling', outcome: undefined }, '0107', code(), ctx)).toMatchObject({ ok: false, reason: 'in-progress' });
  });

  it('refuses to replace an authorization code: it records who authorized the call', () => {
    const authorized = record({ code: undefined, codeKind: 'authorization', codeRef: 'a1b2c3d4', codeDescription: 'Finance desk' });
    expect(tagRecord(authorized, '0107', code(), ctx)).toMatchObject({ ok: false, reason: 'authorization' });
  });
});
