/**
 * The import function end to end: objects put into the bucket (s3rver), the bucket's own
 * ObjectCreated events handed to the real handler, DynamoDB = dynalite. Reports, merge,
 * replace, deletes, settings and users, unknown accounts, idempotency and crash recovery, and
 * the SQS entry point with partial batch failures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountCodeKey } from '../../functions/adapters/code-key.ts';
import type { CodeChange, CodeStore } from '../../functions/core/ports.ts';
import { handleS3Event, makeImportHandler, type S3Event } from '../../functions/handlers/import.ts';
import { MAX_REPORTED_ERRORS, reportTimestamp, type ImportCodeStore, type ImportReport } from '../../functions/services/importer.ts';
import { crlf, settingsJson, startImportHarness, type ImportHarness } from './support/bucket.ts';

const REPORT_FIELDS = ['actor', 'created', 'deleted', 'errorCount', 'errors', 'file', 'finishedAt', 'mode', 'rows', 'startedAt', 'status', 'unchanged', 'updated', 'versionId'];

let h: ImportHarness;
beforeEach(async () => {
  h = await startImportHarness();
});
afterEach(async () => {
  await h?.close();
});

async function only(reports: Promise<ImportReport[]>): Promise<ImportReport> {
  const list = await reports;
  expect(list).toHaveLength(1);
  return list[0] as ImportReport;
}

async function applied(key: string, body: string | Uint8Array): Promise<ImportReport> {
  const report = await only(h.upload(key, body));
  expect(report.errors).toEqual([]);
  expect(report.status).toBe('applied');
  return report;
}

async function rejected(key: string, body: string | Uint8Array): Promise<ImportReport> {
  const report = await only(h.upload(key, body));
  expect(report.status).toBe('rejected');
  return report;
}

async function withAccount(account = 'acme'): Promise<void> {
  await applied(`imports/${account}/settings.json`, settingsJson(account));
}

/** Code → description of every stored code, for compact comparisons. */
async function descriptions(account = 'acme'): Promise<Record<string, string | undefined>> {
  return Object.fromEntries((await h.codes(account)).map((c) => [c.code ?? c.ref ?? c.key, c.description]));
}

describe('the import report', () => {
  it('is written to results/<account>/<name>.<UTC timestamp>.json with exactly the fields of docs/data-model.md', async () => {
    await withAccount();
    const report = await applied('imports/acme/codes/Q1 clients+partners.csv', 'code,description\n1234,Acme\n5678,Globex\n');
    expect(Object.keys(report).sort()).toEqual(REPORT_FIELDS);
    expect(report).toEqual({
      file: 'imports/acme/codes/Q1 clients+partners.csv',
      versionId: null,
      status: 'applied',
      mode: 'merge',
      rows: 2,
      created: 2,
      updated: 0,
      unchanged: 0,
      deleted: 0,
      errorCount: 0,
      errors: [],
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      finishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      // Uploaded without a name and (locally) without an AWS principal.
      actor: 'unknown',
    });
    expect(Date.parse(report.finishedAt)).toBeGreaterThanOrEqual(Date.parse(report.startedAt));

    const key = `results/acme/Q1_clients_partners.${reportTimestamp(new Date(report.startedAt))}.json`;
    expect(key).toMatch(/^results\/acme\/Q1_clients_partners\.\d{8}T\d{6}\.\d{3}Z\.json$/);
    expect((await h.reportKeys('acme')).filter((k) => !k.includes('/settings.'))).toEqual([key]);
    expect(await h.readReport(key)).toEqual(report);
  });

  it('lists the first 1,000 bad rows with line, column, value and message, and counts them all', async () => {
    await withAccount();
    const lines = ['code,description'];
    for (let i = 0; i < 1500; i++) lines.push(`12a${i},bad row ${i}`);
    const report = await rejected('imports/acme/codes/bad.csv', crlf(lines));
    expect(Object.keys(report).sort()).toEqual(REPORT_FIELDS);
    expect(report).toMatchObject({ status: 'rejected', mode: 'merge', rows: 1500, errorCount: 1500, created: 0, updated: 0, unchanged: 0, deleted: 0 });
    expect(report.errors).toHaveLength(MAX_REPORTED_ERRORS);
    for (const e of report.errors) expect(Object.keys(e).sort()).toEqual(['column', 'line', 'message', 'value']);
    expect(report.errors[0]).toEqual({ line: 2, column: 'code', value: '12a0', message: 'must be 4-8 digits (0-9) and nothing else; leading zeros are kept' });
    expect(report.errors[999]).toMatchObject({ line: 1001, value: '12a999' });

    const [key] = (await h.reportKeys('acme')).filter((k) => k.includes('/bad.'));
    expect(await h.readReport(key as string)).toEqual(report);
  });
});

describe('merge files (codes/)', () => {
  it('counts created, updated and unchanged codes on a re-import with changes, and applies action=delete rows', async () => {
    await withAccount();
    const first = await applied(
      'imports/acme/codes/clients.csv',
      crlf([
        'code,description,enabled,caller_ids,kind,level',
        '1001,Acme,,+14155550100,,',
        '1002,Globex,,,,',
        '1003,Initech,,,,',
        '1004,Umbrella,yes,,,',
        '1005,Hooli,,,,',
        '7654321,Finance,,,authorization,2',
      ]),
    );
    expect(first).toMatchObject({ rows: 6, created: 6, updated: 0, unchanged: 0, deleted: 0 });

    const second = await applied(
      'imports/acme/codes/clients.csv',
      crlf([
        'code,description,enabled,caller_ids,action',
        '1001,Acme,,+14155550199,', // caller ID changed: updated
        '1002,Globex,,,', // unchanged
        '1003,Initech Ltd,,,', // description changed: updated
        '1004,Umbrella,true,,', // same as before (yes = true): unchanged
        '1005,,,,delete', // deleted
        '9999,,,,delete', // not stored: unchanged
        '7654321,,,,delete', // an authorization code, deleted without saying its kind
        '2001,Pied Piper,no,,', // created
      ]),
    );
    expect(second).toMatchObject({ rows: 8, created: 1, updated: 2, unchanged: 3, deleted: 2 });
    expect(await descriptions()).toEqual({ '1001': 'Acme', '1002': 'Globex', '1003': 'Initech Ltd', '1004': 'Umbrella', '2001': 'Pied Piper' });
    // The caller-ID index follows the code: the old number no longer tags calls.
    expect(await h.storage.stores.codes.codeForCallerId('acme', '+14155550100')).toBeUndefined();
    expect((await h.storage.stores.codes.codeForCallerId('acme', '+14155550199'))?.code).toBe('1001');
  });

  it('leaves every stored code untouched when one row of a file is bad', async () => {
    await withAccount();
    await applied('imports/acme/codes/base.csv', crlf(['code,description,caller_ids', '1001,Acme,+14155550100', '1002,Globex,', '1003,Initech,']));
    const before = await h.scanCodesTable();
    const codesBefore = await h.codes('acme');

    const lines = ['code,description,caller_ids,action', '1001,Acme renamed,+14155550111,', '1002,,,delete'];
    for (let i = 0; i < 1200; i++) lines.push(`${3000 + i},new ${i},,`); // more than two apply chunks
    lines.push('12345678901,too long,,');
    const report = await rejected('imports/acme/codes/changes.csv', crlf(lines));
    expect(report).toMatchObject({ rows: 1203, errorCount: 1, created: 0, updated: 0, deleted: 0 });
    expect(report.errors).toEqual([{ line: 1204, column: 'code', value: '12345678901', message: expect.stringContaining('4-8 digits') }]);

    expect(await h.scanCodesTable()).toEqual(before);
    expect(await h.codes('acme')).toEqual(codesBefore);
  });
});

describe('replace files (codes-replace/)', () => {
  it('makes the file the whole code list: codes it does not name are removed, caller-ID entries with them', async () => {
    await withAccount();
    await applied(
      'imports/acme/codes/base.csv',
      crlf(['code,description,kind,caller_ids', '1111,One,,', '2222,Two,,', '33333333,Secret,authorization,', '4444,Four,,+14155550144']),
    );
    const report = await applied('imports/acme/codes-replace/all.csv', crlf(['code,description', '2222,Two (renamed)', '5555,Five']));
    expect(report).toMatchObject({ mode: 'replace', rows: 2, created: 1, updated: 1, unchanged: 0, deleted: 3 });
    expect(await descriptions()).toEqual({ '2222': 'Two (renamed)', '5555': 'Five' });
    expect(await h.storage.stores.codes.codeForCallerId('acme', '+14155550144')).toBeUndefined();
    // Nothing but the two codes is left in the table (no orphaned caller-ID entries).
    expect((await h.scanCodesTable()).map((i) => i.sk?.S)).toEqual(expect.arrayContaining([accountCodeKey('2222'), accountCodeKey('5555')]));
    expect(await h.scanCodesTable()).toHaveLength(2);
  });

  it('rejects a replace file with delete rows, changing nothing', async () => {
    await withAccount();
    await applied('imports/acme/codes/base.csv', 'code\n1111\n2222\n');
    const before = await h.scanCodesTable();
    const report = await rejected('imports/acme/codes-replace/all.csv', 'code,action\n1111,\n2222,delete\n');
    expect(report.mode).toBe('replace');
    expect(report.errors).toEqual([{ line: 3, column: 'action', value: 'delete', message: expect.stringMatching(/^a replace file is the whole code list/) }]);
    expect(await h.scanCodesTable()).toEqual(before);
  });

  it('rejects a replace file with no rows rather than delete every code', async () => {
    await withAccount();
    await applied('imports/acme/codes/base.csv', 'code\n1111\n2222\n');
    const before = await h.scanCodesTable();
    const headerOnly = await rejected('imports/acme/codes-replace/all.csv', '\uFEFFcode,description\r\n\r\n,\r\n');
    expect(headerOnly).toMatchObject({ mode: 'replace', rows: 0, errorCount: 1 });
    expect(headerOnly.errors[0]?.message).toMatch(/would delete every code/);
    const empty = await rejected('imports/acme/codes-replace/empty.csv', new Uint8Array(0));
    expect(empty.errors[0]?.message).toMatch(/the file is empty/);
    expect(await h.scanCodesTable()).toEqual(before);
  });
});

describe('settings.json and accounts', () => {
  it('creates the account, then updates it, then reports an identical upload as unchanged', async () => {
    expect(await h.storage.stores.accounts.getSettings('globex')).toBeUndefined();
    const created = await applied('imports/globex/settings.json', settingsJson('globex'));
    expect(created).toMatchObject({ mode: 'replace', rows: 1, created: 1, updated: 0, unchanged: 0 });
    expect((await h.storage.stores.accounts.getSettings('globex'))?.codeLength).toEqual({ min: 4, max: 8 });
    expect(await h.storage.stores.accounts.listAccounts()).toEqual(['globex']);

    const updated = await applied('imports/globex/settings.json', settingsJson('globex', { maxAttempts: 5 }));
    expect(updated).toMatchObject({ created: 0, updated: 1, unchanged: 0 });
    expect((await h.storage.stores.accounts.getSettings('globex'))?.maxAttempts).toBe(5);

    // The same bytes uploaded again are a new upload, and get a report of their own.
    const again = await applied('imports/globex/settings.json', settingsJson('globex', { maxAttempts: 5 }));
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 1 });
    expect((await h.reportKeys('globex')).filter((k) => k.includes('/settings.'))).toHaveLength(3);
  });

  it("rejects a settings.json uploaded under another account's prefix, creating neither account", async () => {
    const report = await rejected('imports/initech/settings.json', settingsJson('globex'));
    expect(report.errors).toEqual([{ line: 0, column: 'account', value: 'globex', message: expect.stringContaining('uploaded under imports/initech/') }]);
    expect(await h.reportKeys('initech')).toHaveLength(1);
    expect(await h.storage.stores.accounts.getSettings('initech')).toBeUndefined();
    expect(await h.storage.stores.accounts.getSettings('globex')).toBeUndefined();
  });

  it('rejects invalid settings with the path of each problem', async () => {
    const report = await rejected('imports/acme/settings.json', settingsJson('acme', { colour: 'blue', maxAttempts: 12 }));
    expect(report.errors.map((e) => e.column)).toContain('maxAttempts');
    expect(report.errors.some((e) => e.message.includes('colour') || e.column.includes('colour'))).toBe(true);
    expect(report.errorCount).toBe(report.errors.length);
    expect(await h.storage.stores.accounts.getSettings('acme')).toBeUndefined();
  });

  it('rejects a codes file for an account that does not exist, saying so; the same file applies once the account exists', async () => {
    const body = 'code,description\n1234,Acme\n';
    const report = await rejected('imports/nobody/codes/first.csv', body);
    expect(report.errors).toEqual([{ line: 0, column: '', value: 'nobody', message: 'account "nobody" does not exist: upload imports/nobody/settings.json first' }]);
    expect(await h.reportKeys('nobody')).toEqual([`results/nobody/first.${reportTimestamp(new Date(report.startedAt))}.json`]);
    expect(await h.codes('nobody')).toEqual([]);

    // The admin does what the report says and uploads the very same file again.
    await applied('imports/nobody/settings.json', settingsJson('nobody'));
    const retried = await applied('imports/nobody/codes/first.csv', body);
    expect(retried).toMatchObject({ created: 1 });
    expect(await descriptions('nobody')).toEqual({ '1234': 'Acme' });
  });
});

describe('users files (users/)', () => {
  it('merges users from an Excel file and validates groups against the settings', async () => {
    await withAccount();
    const excel = readFileSync(join(import.meta.dirname, '../fixtures/csv/users-excel-de.csv'));
    const report = await applied('imports/acme/users/staff.csv', excel);
    expect(report).toMatchObject({ mode: 'merge', rows: 4, created: 3, updated: 0, unchanged: 1, deleted: 0 });
    const users = await h.storage.stores.users.getUsers('acme', ['client:alice', 'sip:bob@acme.sip.twilio.com', '+14155550199']);
    expect(users.get('client:alice')).toMatchObject({ name: 'Alice Müller', group: 'lawyers', maxAttempts: 4, calls: { international: 'required', premium: 'authorized' } });
    expect(users.get('sip:bob@acme.sip.twilio.com')).toMatchObject({ group: 'interns', calls: { default: 'optional', emergency: 'free' } });
    expect(users.get('+14155550199')).toMatchObject({ name: 'Lobby phone' });

    const bad = await rejected('imports/acme/users/more.csv', 'user,group\nclient:dave,Lawyers\nclient:erin,staff\n');
    expect(bad.errors).toEqual([{ line: 2, column: 'group', value: 'Lawyers', message: expect.stringContaining('did you mean "lawyers"') }]);
    expect((await h.storage.stores.users.getUsers('acme', ['client:erin'])).size).toBe(0);

    const changes = await applied(
      'imports/acme/users/more.csv',
      'user,name,group,action\nclient:alice,Alice Müller-Lang,lawyers,\n+14155550199,,,delete\nclient:erin,Erin,staff,\n',
    );
    expect(changes).toMatchObject({ rows: 3, created: 1, updated: 1, deleted: 1 });
    const after = [];
    for await (const u of h.storage.stores.users.listUsers('acme')) after.push(u.id);
    expect(after.sort()).toEqual(['client:alice', 'client:erin', 'sip:bob@acme.sip.twilio.com']);
  });
});

describe('idempotency', () => {
  it('applies an object version once when its event is delivered twice: one report, no second write', async () => {
    await withAccount();
    await applied('imports/acme/codes/a.csv', 'code,description\n1001,from a\n');
    const event = h.lastEvent('imports/acme/codes/a.csv');
    // Another file changes the code before the duplicate event arrives.
    await applied('imports/acme/codes/b.csv', 'code,description\n1001,from b\n');
    const reportsBefore = await h.reportKeys('acme');

    expect(await h.deliver(event)).toEqual([]);
    expect(await h.reportKeys('acme')).toEqual(reportsBefore);
    expect(await descriptions()).toEqual({ '1001': 'from b' });
    expect(h.logs.some((l) => JSON.parse(l).message === 'import already done')).toBe(true);
  });

  it('applies a rejected version once too', async () => {
    await withAccount();
    await rejected('imports/acme/codes/bad.csv', 'code\nabc\n');
    const reportsBefore = await h.reportKeys('acme');
    expect(await h.deliver(h.lastEvent('imports/acme/codes/bad.csv'))).toEqual([]);
    expect(await h.reportKeys('acme')).toEqual(reportsBefore);
  });
});

/**
 * A code store that counts `writeCodes` calls and, on call `crashOn` (0: never), writes half of
 * that call's changes and then throws, as a function killed mid-batch would leave things.
 */
function faultyStore(plan: { calls: number; crashOn: number }) {
  return (store: ImportCodeStore): ImportCodeStore => ({
    ...(store.hasCodes === undefined ? {} : { hasCodes: store.hasCodes.bind(store) }),
    getCodes: (account, keys) => store.getCodes(account, keys),
    listCodes: (account) => store.listCodes(account),
    codeForCallerId: (account, callerId) => store.codeForCallerId(account, callerId),
    async writeCodes(account: string, changes: readonly CodeChange[]) {
      plan.calls++;
      if (plan.calls === plan.crashOn) {
        await store.writeCodes(account, changes.slice(0, Math.floor(changes.length / 2)));
        throw new Error(`injected crash in writeCodes call ${plan.calls}`);
      }
      await store.writeCodes(account, changes);
    },
  });
}

function baseFile(): string {
  const lines = ['code,description,kind,level,caller_ids'];
  for (let i = 0; i < 2000; i++) {
    const code = String(10_000 + i);
    if (i % 10 === 0) lines.push(`${code},Auth ${i},authorization,${i % 4},`);
    else if (i % 7 === 0) lines.push(`${code},Client ${i},account,,+1415555${String(i).padStart(4, '0')}`);
    else lines.push(`${code},Client ${i},account,,`);
  }
  return crlf(lines);
}

/** Updates, unchanged rows, new codes and deletes, spread over every apply chunk. */
function changesFile(): string {
  const lines = ['code,description,kind,level,caller_ids,action'];
  for (let i = 0; i < 2000; i++) {
    const code = String(10_000 + i);
    if (i % 5 === 0) lines.push(`${code},,,,,delete`);
    else if (i % 10 === 0) lines.push(`${code},Auth ${i},authorization,${i % 4},,`);
    else if (i % 7 === 0) lines.push(`${code},Client ${i} v2,account,,+1415666${String(i).padStart(4, '0')},`);
    else if (i % 3 === 0) lines.push(`${code},Client ${i} v2,account,,,`);
    else lines.push(`${code},Client ${i},account,,,`);
  }
  for (let i = 0; i < 2700; i++) lines.push(`${50_000 + i},New ${i},account,,,`);
  return crlf(lines);
}

/** A replace file naming every other base code (some changed) and a few new ones. */
function replaceFile(): string {
  const lines = ['code,description,kind,level'];
  for (let i = 0; i < 2000; i += 2) {
    const code = String(10_000 + i);
    if (i % 10 === 0) lines.push(`${code},Auth ${i},authorization,${(i + 1) % 4}`);
    else lines.push(`${code},Client ${i}${i % 6 === 0 ? ' v2' : ''},account,`);
  }
  for (let i = 0; i < 300; i++) lines.push(`${60_000 + i},New ${i},account,`);
  return crlf(lines);
}

async function seed(env: ImportHarness, withBase: boolean): Promise<void> {
  await env.upload('imports/acme/settings.json', settingsJson('acme'));
  if (!withBase) return;
  const [base] = await env.upload('imports/acme/codes/base.csv', baseFile());
  expect(base).toMatchObject({ status: 'applied', created: 2000 });
}

describe('a crash half way through applying', () => {
  const cases = [
    ['a merge file with updates, deletes and new codes', true, 'imports/acme/codes/changes.csv', changesFile()],
    ['a replace file', true, 'imports/acme/codes-replace/all.csv', replaceFile()],
    // Written without reading first (the account is empty); the retry finds half of it stored.
    ['the first file of an empty account', false, 'imports/acme/codes/base.csv', baseFile()],
  ] as const;

  it.each(cases)('then a retry of the same event ends in the same state as one clean run: %s', async (_name, withBase, key, body) => {
    // The reference: the same uploads in a fresh env without faults.
    const cleanPlan = { calls: 0, crashOn: 0 };
    const clean = await startImportHarness({ codes: faultyStore(cleanPlan) });
    let reference: unknown;
    let cleanReport: ImportReport;
    try {
      await seed(clean, withBase);
      cleanPlan.calls = 0;
      cleanReport = await only(clean.upload(key, body));
      expect(cleanReport.status).toBe('applied');
      reference = await clean.scanCodesTable();
    } finally {
      await clean.close();
    }
    expect(cleanPlan.calls).toBeGreaterThanOrEqual(1);

    const plan = { calls: 0, crashOn: 0 };
    const env = await startImportHarness({ codes: faultyStore(plan) });
    try {
      await seed(env, withBase);
      const before = await env.scanCodesTable();
      const reportsBefore = await env.reportKeys('acme');
      plan.calls = 0;
      plan.crashOn = Math.ceil(cleanPlan.calls / 2);

      await expect(env.upload(key, body)).rejects.toThrow(/injected crash/);
      const half = await env.scanCodesTable();
      expect(half).not.toEqual(before); // it really stopped half way...
      expect(half).not.toEqual(reference); // ...not at the end
      expect(await env.reportKeys('acme')).toEqual(reportsBefore); // and wrote no report

      // The queue delivers the same event again; this time nothing fails.
      plan.crashOn = 0;
      const [report] = await env.deliver(env.lastEvent(key));
      expect(report).toMatchObject({ status: 'applied', rows: cleanReport.rows, errorCount: 0 });
      expect(await env.scanCodesTable()).toEqual(reference);
      expect(await env.reportKeys('acme')).toHaveLength(reportsBefore.length + 1);

      // And a third delivery changes nothing.
      expect(await env.deliver(env.lastEvent(key))).toEqual([]);
      expect(await env.scanCodesTable()).toEqual(reference);
    } finally {
      await env.close();
    }
  });
});

describe('the SQS entry point', () => {
  let q: ImportHarness;
  beforeEach(async () => {
    // Events are recorded, not imported: they reach the handler through SQS messages below.
    q = await startImportHarness({ forward: false });
  });
  afterEach(async () => {
    await q?.close();
  });

  it('returns the messages whose import threw as batch item failures and imports the others', async () => {
    const deliverNow = async (key: string, body: string) => {
      await q.upload(key, body);
      const reports = await q.deliver(q.lastEvent(key));
      expect(reports[0]?.status).toBe('applied');
    };
    for (const account of ['acme', 'broken', 'globex']) await deliverNow(`imports/${account}/settings.json`, settingsJson(account));
    await q.upload('imports/acme/codes/a.csv', 'code\n1001\n');
    // Many apply chunks of long rows, so the failure comes while the next chunk is still being
    // read from the socket: it must surface as this message's failure, not as an unhandled
    // rejection (which would take the whole Lambda batch down).
    const many = ['code,description', ...Array.from({ length: 5000 }, (_, i) => `${300_000 + i},${'Matter '.repeat(13)}${i}`)].join('\n');
    await q.upload('imports/broken/codes/b.csv', many);
    await q.upload('imports/globex/codes/g.csv', 'code\n2001\n');

    // The storage of one account's codes is down: its import throws instead of reporting.
    const down = () => Promise.reject(new Error('DynamoDB unavailable'));
    const store = q.storage.stores.codes;
    const outage: CodeStore = {
      getCodes: (account, keys) => (account === 'broken' ? down() : store.getCodes(account, keys)),
      writeCodes: (account, changes) => (account === 'broken' ? down() : store.writeCodes(account, changes)),
      listCodes: (account) => store.listCodes(account),
      codeForCallerId: (account, callerId) => store.codeForCallerId(account, callerId),
    };
    const message = (messageId: string, event: S3Event | string) => ({
      messageId,
      body: typeof event === 'string' ? event : JSON.stringify(event),
    });
    const batch = {
      Records: [
        message('m-acme', q.lastEvent('imports/acme/codes/a.csv')),
        message('m-broken', q.lastEvent('imports/broken/codes/b.csv')),
        message('m-garbled', '{"Records": [ this is not JSON'),
        message('m-globex', q.lastEvent('imports/globex/codes/g.csv')),
        message('m-test', { Event: 's3:TestEvent' }),
      ],
    };

    const result = await makeImportHandler({ ...q.deps, codes: outage })(batch);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-broken' }, { itemIdentifier: 'm-garbled' }] });
    expect((await q.codes('acme')).map((c) => c.code)).toEqual(['1001']);
    expect((await q.codes('globex')).map((c) => c.code)).toEqual(['2001']);
    expect(await q.codes('broken')).toEqual([]);
    expect(await q.reportKeys('broken')).toHaveLength(1); // settings only
    const errors = q.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'error');
    expect(errors.map((l) => l.messageId)).toEqual(['m-broken', 'm-garbled']);

    // SQS redelivers the failed message once storage is back: it is imported, the rest untouched.
    const retry = await makeImportHandler(q.deps)({ Records: [batch.Records[1] as { messageId: string; body: string }] });
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(await q.codes('broken')).toHaveLength(5000);
    expect(await q.reportKeys('broken')).toHaveLength(2);
  });
});

describe('progress', () => {
  it('tells the ledger how many rows it has applied while it runs, for whoever waits on it', async () => {
    await h.close();
    h = await startImportHarness({ forward: false });
    await h.upload('imports/acme/settings.json', settingsJson('acme'));
    await h.deliver(h.lastEvent('imports/acme/settings.json'));
    const lines = ['code,description'];
    for (let i = 0; i < 10_000; i++) lines.push(`${String(100_000 + i)},Client ${i}`);
    const key = 'imports/acme/codes/big.csv';
    await h.upload(key, `${lines.join('\n')}\n`);
    const seen: number[] = [];
    const ledger = h.deps.ledger;
    const watching = {
      ...ledger,
      get: ledger.get.bind(ledger),
      put: ledger.put.bind(ledger),
      claim: ledger.claim.bind(ledger),
      acquire: ledger.acquire.bind(ledger),
      release: ledger.release.bind(ledger),
      inProgress: ledger.inProgress.bind(ledger),
      codesGeneration: ledger.codesGeneration.bind(ledger),
      advanceCodesGeneration: ledger.advanceCodesGeneration.bind(ledger),
      async progress(account: string, objectKey: string, holder: string, rows: number) {
        await ledger.progress(account, objectKey, holder, rows);
        seen.push((await ledger.inProgress(account, objectKey))?.rows ?? -1);
      },
    };
    const [report] = await handleS3Event({ ...h.deps, ledger: watching, progressEveryMs: 0 }, h.lastEvent(key));
    expect(report).toMatchObject({ status: 'applied', created: 10_000 });
    // One report a chunk of 2,000 rows, each read back as written, counting up.
    expect(seen).toEqual([2000, 4000, 6000, 8000]);
    expect(await ledger.inProgress('acme', key)).toBeUndefined();
  });
});
