/**
 * The console's JSON API through the local stack's real handler, dynalite and s3rver: sign-in
 * and sessions, roles enforced on the server, tenant isolation, every change through the import
 * door (report and audit entry), paging and search, tagging, lockouts, reports and downloads,
 * and no authorization digits in any answer.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { addDays, usageDayKey } from '../../functions/core/usage.ts';
import { localDate } from '../../functions/core/time.ts';
import { GLOBEX_ADMIN, NY, startConsoleStack, type ConsoleStack } from '../support/console-stack.ts';
import { cliRunner } from './support/cli-io.ts';

let c: ConsoleStack;
let admin: string;
let finance: string;
let alice: string;

beforeAll(async () => {
  c = await startConsoleStack();
  admin = await c.signIn('admin@demo.test');
  finance = await c.signIn('finance@demo.test');
  alice = await c.signIn('alice@demo.test');
}, 120_000);

afterAll(async () => {
  await c?.close();
});

describe('sign-in and sessions', () => {
  it('gives the seeded users their account and role', async () => {
    expect((await c.api(admin, '/api/me')).body.user).toEqual({ email: 'admin@demo.test', account: 'demo', role: 'admin' });
    expect((await c.api(finance, '/api/me')).body.user.role).toBe('finance');
    expect((await c.api(alice, '/api/me')).body.user).toEqual({ email: 'alice@demo.test', account: 'demo', role: 'user', identity: 'client:alice' });
  });

  it('refuses a wrong password and an unknown email with the same answer', async () => {
    const wrong = await c.api(undefined, '/api/session', { method: 'POST', json: { email: 'admin@demo.test', password: 'nope-nope' } });
    const unknown = await c.api(undefined, '/api/session', { method: 'POST', json: { email: 'nobody@demo.test', password: 'nope-nope' } });
    expect(wrong).toEqual({ status: 401, body: { error: 'wrong email or password' } });
    expect(unknown).toEqual(wrong);
  });

  it('answers 401 without a token, with a made-up one, and after sign-out', async () => {
    expect((await c.api(undefined, '/api/codes')).status).toBe(401);
    expect((await c.api('made-up-token', '/api/codes')).status).toBe(401);
    const token = await c.signIn('finance@demo.test');
    expect((await c.api(token, '/api/me')).status).toBe(200);
    expect((await c.api(token, '/api/session', { method: 'DELETE' })).status).toBe(204);
    expect((await c.api(token, '/api/me')).body).toEqual({ error: 'your session has ended: sign in again' });
  });

  it('lets someone tollgate console-users add has made sign in at once, and refuses a user without an identity', async () => {
    const tollgate = cliRunner({ env: { TOLLGATE_HOME: c.home }, cwd: c.home });
    const added = await tollgate(['console-users', 'add', 'Erin@Demo.test', '--role', 'user', '--identity', 'client:erin', '--account', 'demo'], { stdin: 'erins-password\n' });
    expect(added, added.stderr).toMatchObject({ code: 0, stdout: 'added console user erin@demo.test (user of demo); they sign in at the console the local stack prints\n' });
    const token = await c.signIn('erin@demo.test', 'erins-password');
    expect((await c.api(token, '/api/me')).body.user).toEqual({ email: 'erin@demo.test', account: 'demo', role: 'user', identity: 'client:erin' });
    const refused = await tollgate(['console-users', 'add', 'frank@demo.test', '--role', 'user', '--password', 'franks-password']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/a user needs --identity/);
    expect((await tollgate(['console-users', 'list'])).stdout).toMatch(/erin@demo\.test\s+demo\s+user\s+client:erin/);
  });

  it('serves the app with a Content-Security-Policy that allows no inline script', async () => {
    const res = await fetch(`${c.url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
    expect((await fetch(`${c.url}/console/vendor/preact-htm.js`)).status).toBe(200);
    expect((await fetch(`${c.url}/`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
  });
});

describe('roles, on the server', () => {
  it('refuses every change from finance and from a user', async () => {
    for (const token of [finance, alice]) {
      expect((await c.api(token, '/api/codes', { method: 'POST', json: { code: '8888' } })).status).toBe(403);
      expect((await c.api(token, '/api/codes/A%230042', { method: 'DELETE' })).status).toBe(403);
      expect((await c.api(token, '/api/codes/upload', { method: 'POST', body: 'code\n8888\n' })).status).toBe(403);
      expect((await c.api(token, '/api/lockouts/client%3Adana', { method: 'DELETE' })).status).toBe(403);
      expect((await c.api(token, '/api/settings', { method: 'PUT', json: { settings: {} } })).status).toBe(403);
      expect((await c.api(token, '/api/users/client%3Adana', { method: 'PUT', json: { name: 'x' } })).status).toBe(403);
    }
    expect((await c.api(alice, '/api/codes/export', { method: 'POST' })).status).toBe(403);
    const refused = await c.api(finance, '/api/codes', { method: 'POST', json: { code: '8888' } });
    expect(refused.body.error).toBe('only an admin may do this; you are signed in as finance of demo');
    expect((await c.stores.codes.getCodes('demo', ['A#8888'])).size).toBe(0);
  });

  it('keeps reports, users, settings and the audit trail from a user', async () => {
    for (const path of ['/api/reports', '/api/users', '/api/settings', '/api/activity', '/api/security']) {
      expect((await c.api(alice, path)).status, path).toBe(403);
    }
  });
});

describe('tenant isolation', () => {
  it("shows each admin only their account's codes", async () => {
    const globex = await c.signIn(GLOBEX_ADMIN);
    const theirs = (await c.api(globex, '/api/codes')).body.codes.map((x: { code: string }) => x.code);
    expect(theirs).toEqual(['7777']);
    const ours = (await c.api(admin, '/api/codes?limit=200')).body.codes.map((x: { code: string }) => x.code);
    expect(ours).toContain('0042');
    expect(ours).not.toContain('7777');
  });

  it("answers 404 for another account's call, code, change and file, as if they did not exist", async () => {
    const globex = await c.signIn(GLOBEX_ADMIN);
    await c.putCall('globex', { callSid: `CA${'7'.repeat(32)}`, user: 'client:wile', caller: 'client:wile', startedAt: new Date().toISOString() });
    expect((await c.api(admin, `/api/calls/CA${'7'.repeat(32)}`)).status).toBe(404);
    expect((await c.api(admin, `/api/calls/CA${'7'.repeat(32)}/tag`, { method: 'POST', json: { code: '0042' } })).status).toBe(404);
    expect((await c.api(admin, '/api/codes/A%237777', { method: 'PUT', json: { description: 'mine now' } })).status).toBe(404);
    expect((await c.api(admin, '/api/downloads?key=exports%2Fglobex%2Fusage%2Fx.csv')).status).toBe(404);
    const ticket = Buffer.from(JSON.stringify({ key: 'imports/globex/codes/x.csv', uploadedAt: new Date().toISOString() })).toString('base64url');
    expect((await c.api(admin, `/api/changes/${ticket}`)).status).toBe(404);
    expect((await c.api(globex, '/api/codes/A%230042', { method: 'DELETE' })).status).toBe(404);
    expect((await c.stores.codes.getCodes('demo', ['A#0042'])).size).toBe(1);
  });
});

describe('codes through the one door', () => {
  it('adds, edits and deletes an account code, each with a report and an audit entry naming the admin', async () => {
    const added = await c.api(admin, '/api/codes', { method: 'POST', json: { code: '6060', description: 'Initech - audit', groups: 'lawyers' } });
    expect(added.status).toBe(200);
    expect(added.body.report).toMatchObject({ status: 'applied', created: 1, actor: 'admin@demo.test (console)' });
    expect(added.body.report.file).toMatch(/^imports\/demo\/codes\/console-add-/);
    const edited = await c.api(admin, '/api/codes/A%236060', { method: 'PUT', json: { description: 'Initech - tax', enabled: false } });
    expect(edited.body.report).toMatchObject({ status: 'applied', updated: 1 });
    const stored = (await c.stores.codes.getCodes('demo', ['A#6060'])).get('A#6060');
    expect(stored).toMatchObject({ description: 'Initech - tax', enabled: false, groups: ['lawyers'] });
    const deleted = await c.api(admin, '/api/codes/A%236060', { method: 'DELETE' });
    expect(deleted.body.report).toMatchObject({ status: 'applied', deleted: 1 });
    expect((await c.stores.codes.getCodes('demo', ['A#6060'])).size).toBe(0);
    const activity = (await c.api(admin, '/api/activity')).body.activity.filter((r: { file: string }) => /console-(add|edit|delete)/.test(r.file));
    expect(activity.map((r: { actor: string }) => r.actor)).toEqual(['admin@demo.test (console)', 'admin@demo.test (console)', 'admin@demo.test (console)']);
  });

  it('says which field is wrong, changing nothing', async () => {
    const bad = await c.api(admin, '/api/codes', { method: 'POST', json: { code: '12', description: 'too short' } });
    expect(bad.status).toBe(400);
    expect(bad.body.fields[0]).toMatchObject({ column: 'code' });
    expect((await c.stores.codes.getCodes('demo', ['A#12'])).size).toBe(0);
  });

  it('never puts an authorization code digits in an answer, an error or the audit trail', async () => {
    const added = await c.api(admin, '/api/codes', { method: 'POST', json: { kind: 'authorization', code: '918273', description: 'Partners abroad', level: 2 } });
    expect(added.body.report.status).toBe('applied');
    const badLevel = await c.api(admin, '/api/codes', { method: 'POST', json: { kind: 'authorization', code: '918274', level: 999 } });
    expect(badLevel.status).toBe(400);
    const list = await c.api(admin, '/api/codes?kind=authorization');
    const everything = JSON.stringify([added.body, badLevel.body, list.body, (await c.api(admin, '/api/activity')).body]);
    expect(everything).not.toMatch(/918273|918274/);
    const partners = list.body.codes.find((x: { description: string }) => x.description === 'Partners abroad');
    expect(partners).toMatchObject({ kind: 'authorization', code: null, level: 2 });
    expect(partners.ref).toMatch(/^[0-9a-f]{8}$/);
    const exported = await c.api(finance, '/api/codes/export', { method: 'POST' });
    expect(exported.body.key).toMatch(/^exports\/demo\/codes\/codes-demo-\d{8}T\d{9}Z\.csv$/);
    const csv = await (await fetch(exported.body.url)).text();
    expect(csv).toContain(`,${partners.ref},Partners abroad,authorization`);
    expect(csv).not.toContain('918273');
  });

  it('checks an upload first, reporting every bad line, and applies it only when asked', async () => {
    const file = 'code,description\r\n7001,Good one\r\n12,Too short\r\n7003,"=HYPERLINK(""x"")"\r\n1.2E+05,Spreadsheet\r\n';
    const check = await c.api(admin, '/api/codes/check', { method: 'POST', body: file });
    expect(check.body).toMatchObject({ status: 'rejected', rows: 4, errorCount: 2 });
    expect(check.body.errors.map((e: { line: number }) => e.line)).toEqual([3, 5]);
    expect((await c.stores.codes.getCodes('demo', ['A#7001'])).size).toBe(0);
    const rejected = await c.api(admin, '/api/codes/upload?name=clients.csv', { method: 'POST', body: file });
    expect(rejected.body).toMatchObject({ status: 'rejected', report: { errorCount: 2 } });
    expect((await c.stores.codes.getCodes('demo', ['A#7001'])).size).toBe(0);
    const good = 'code,description\r\n7001,Good one\r\n7002,Another\r\n';
    expect((await c.api(admin, '/api/codes/check', { method: 'POST', body: good })).body).toMatchObject({ status: 'valid', rows: 2, errorCount: 0 });
    const applied = await c.api(admin, '/api/codes/upload?name=clients.csv', { method: 'POST', body: good });
    expect(applied.body.report).toMatchObject({ status: 'applied', created: 2 });
    expect(applied.body.report.file).toMatch(/^imports\/demo\/codes\/clients-\d{8}T\d{9}Z\.csv$/);
  });

  it('pages through codes in order, and searches by digits and by description words', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => `${String(800000 + i)},Matter ${i % 2 === 0 ? 'even' : 'odd'} number ${i}`);
    const upload = await c.api(admin, '/api/codes/upload?name=bulk.csv', { method: 'POST', body: `code,description\r\n${rows.join('\r\n')}\r\n` });
    expect(upload.body.report.created).toBe(120);
    const seen: string[] = [];
    let after = '';
    for (let page = 0; page < 10; page++) {
      const res = await c.api(admin, `/api/codes?q=80&limit=50${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      seen.push(...res.body.codes.map((x: { code: string }) => x.code));
      if (res.body.next === null) break;
      after = res.body.next;
    }
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => String(800000 + i)));
    const odd = await c.api(admin, '/api/codes?q=ODD&limit=200');
    expect(odd.body.codes.map((x: { code: string }) => x.code)).toEqual(Array.from({ length: 60 }, (_, i) => String(800001 + 2 * i)));
    const words = await c.api(admin, '/api/codes?q=number%20119%20matter');
    expect(words.body.codes.map((x: { code: string }) => x.code)).toEqual(['800119']);
    // Through the word index: pages in order, by the start of a word, accents folded.
    const pagedWords: string[] = [];
    let wordAfter = '';
    for (let page = 0; page < 10; page++) {
      const res = await c.api(admin, `/api/codes?q=numb&limit=25${wordAfter ? `&after=${encodeURIComponent(wordAfter)}` : ''}`);
      pagedWords.push(...res.body.codes.map((x: { code: string }) => x.code));
      if (res.body.next === null) break;
      wordAfter = res.body.next;
    }
    expect(pagedWords).toEqual(Array.from({ length: 120 }, (_, i) => String(800000 + i)));
    expect((await c.api(admin, '/api/codes?q=umber')).body.codes).toEqual([]);
    await c.api(admin, '/api/codes', { method: 'POST', json: { code: '800900', description: 'Société Générale Müller' } });
    expect((await c.api(admin, '/api/codes?q=societe%20MULLER')).body.codes.map((x: { code: string }) => x.code)).toEqual(['800900']);
    const disabled = await c.api(admin, '/api/codes?status=disabled');
    expect(disabled.body.codes.map((x: { code: string }) => x.code)).toEqual(['9000']);
  });
});

describe('calls, tagging, lockouts and reports', () => {
  const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
  const aliceCall = `CA${'a'.repeat(32)}`;
  const danaCall = `CA${'d'.repeat(32)}`;
  const oldCall = `CA${'0'.repeat(31)}1`;

  beforeAll(async () => {
    await c.putCall('demo', { callSid: aliceCall, startedAt: threeDaysAgo.toISOString() });
    await c.putCall('demo', { callSid: danaCall, user: 'client:dana', caller: 'client:dana', startedAt: threeDaysAgo.toISOString(), attempts: 3, codeStatus: 'invalid' });
    await c.putCall('demo', { callSid: oldCall, startedAt: new Date(Date.now() - 20 * 86_400_000).toISOString() });
  });

  it('shows a user only their own calls, and lets them tag their own untagged call within selfTagDays', async () => {
    const day = localDate(threeDaysAgo, NY);
    const mine = await c.api(alice, `/api/calls?date=${day}`);
    expect(mine.body.calls.map((x: { call_sid: string }) => x.call_sid)).toEqual([aliceCall]);
    expect((await c.api(alice, `/api/calls/${danaCall}`)).status).toBe(404);
    const all = await c.api(finance, `/api/calls?date=${day}`);
    expect(all.body.calls.map((x: { call_sid: string }) => x.call_sid).sort()).toEqual([aliceCall, danaCall].sort());
    expect((await c.api(finance, `/api/calls/${aliceCall}/tag`, { method: 'POST', json: { code: '0042' } })).status).toBe(403);
    const tagged = await c.api(alice, `/api/calls/${aliceCall}/tag`, { method: 'POST', json: { code: '0042' } });
    expect(tagged.body).toMatchObject({ changed: true, call: { code: '0042', code_status: 'tagged', tagged_by: 'alice@demo.test (console)' } });
    const again = await c.api(alice, `/api/calls/${aliceCall}/tag`, { method: 'POST', json: { code: '1001' } });
    expect(again.status).toBe(403);
    expect((await c.api(alice, `/api/calls/${oldCall}/tag`, { method: 'POST', json: { code: '0042' } })).status).toBe(403);
    const retag = await c.api(admin, `/api/calls/${aliceCall}/tag`, { method: 'POST', json: { code: '1001' } });
    expect(retag.body.call).toMatchObject({ code: '1001', tagged_by: 'admin@demo.test (console)' });
  });

  it('lists lockouts and unlocks a caller, audited', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await c.stores.lockouts.put('demo', 'client:dana', { windowStart: new Date().toISOString(), failures: 10, lockedUntil: until });
    const locks = await c.api(finance, '/api/lockouts');
    expect(locks.body.lockouts).toEqual([{ user: 'client:dana', lockedUntil: until, accountWide: false }]);
    const unlocked = await c.api(admin, '/api/lockouts/client%3Adana', { method: 'DELETE' });
    expect(unlocked.body).toEqual({ cleared: true, user: 'client:dana' });
    expect((await c.api(finance, '/api/lockouts')).body.lockouts).toEqual([]);
    const audit = (await c.api(admin, '/api/activity')).body.activity.find((r: { file: string }) => r.file === 'lockouts/client:dana');
    expect(audit).toMatchObject({ actor: 'admin@demo.test (console)', deleted: 1 });
    const security = await c.api(admin, '/api/security?days=7');
    expect(security.body.failedAttempts).toContainEqual({ user: 'client:dana', failed: 3, calls: 1 });
  });

  it("totals a month per code, user and class, and hands out the month's files as links", async () => {
    const day = localDate(threeDaysAgo, NY);
    await c.stack.exports.runNow();
    const report = await c.api(finance, `/api/reports?month=${day.slice(0, 7)}`);
    expect(report.status).toBe(200);
    const tagged = report.body.perCode.find((r: { code: string }) => r.code === '1001');
    expect(tagged).toMatchObject({ calls: 1, talkS: 120, billableMinutes: 2 });
    expect(report.body.perUser).toContainEqual({ user: 'client:dana', calls: 1, talkS: 120, billableMinutes: 2 });
    expect(report.body.perClass.find((r: { class: string }) => r.class === 'national').calls).toBeGreaterThanOrEqual(2);
    const file = report.body.files.find((f: { key: string }) => f.key === usageDayKey('demo', day));
    expect(file, `the usage file of ${day}`).toBeDefined();
    const link = await c.api(finance, `/api/downloads?key=${encodeURIComponent(file.key)}`);
    const res = await fetch(link.body.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(aliceCall);
    // Anything outside the account's exports is not a file to hand out.
    expect((await c.api(finance, `/api/downloads?key=${encodeURIComponent(usageDayKey('demo', addDays(day, 400)))}`)).status).toBe(404);
    const s3 = makeS3Client({ endpoint: c.stack.s3Endpoint });
    expect((await s3.send(new GetObjectCommand({ Bucket: c.stack.bucket, Key: file.key }))).ContentLength).toBe(file.size);
    s3.destroy();
  });
});

describe('settings and users', () => {
  it('checks settings, showing each problem and the difference, then applies them through the door', async () => {
    const { settings, schema } = (await c.api(admin, '/api/settings')).body;
    expect(schema.properties.maxAttempts.description).toMatch(/code entries/i);
    const bad = await c.api(admin, '/api/settings/check', { method: 'POST', json: { settings: { ...settings, maxAttempts: 42 } } });
    expect(bad.body.ok).toBe(false);
    expect(bad.body.problems[0].path).toBe('maxAttempts');
    const good = await c.api(admin, '/api/settings/check', { method: 'POST', json: { settings: { ...settings, maxAttempts: 4 } } });
    expect(good.body).toEqual({ ok: true, problems: [], diff: [{ key: 'maxAttempts', before: settings.maxAttempts, after: 4 }] });
    const applied = await c.api(admin, '/api/settings', { method: 'PUT', json: { settings: { ...settings, maxAttempts: 4 } } });
    expect(applied.body.report).toMatchObject({ status: 'applied', file: 'imports/demo/settings.json', actor: 'admin@demo.test (console)' });
    expect((await c.stores.accounts.getSettings('demo'))?.maxAttempts).toBe(4);
    const { versions } = (await c.api(finance, '/api/settings')).body;
    expect(versions[0]).toMatchObject({ actor: 'admin@demo.test (console)', settings: { maxAttempts: 4 } });
    // The first start's seed is the version before: reverting is applying it again.
    expect(versions[1].settings.maxAttempts).toBe(settings.maxAttempts);
    const revert = await c.api(admin, '/api/settings/check', { method: 'POST', json: { settings: versions[1].settings } });
    expect(revert.body.diff).toEqual([{ key: 'maxAttempts', before: 4, after: settings.maxAttempts }]);
    expect((await c.api(admin, '/api/settings', { method: 'PUT', json: { settings: { ...settings, account: 'globex' } } })).status).toBe(400);
  });

  it('lists users with the class-of-service matrix, and edits one through the door', async () => {
    const res = await c.api(finance, '/api/users');
    expect(res.body.users.map((u: { user: string }) => u.user)).toContain('client:carol');
    const interns = res.body.matrix.find((r: { group: string | null }) => r.group === 'interns');
    expect(interns.treatments).toMatchObject({ emergency: 'free', international: 'blocked', premium: 'blocked' });
    const edited = await c.api(admin, '/api/users/client%3Acarol', { method: 'PUT', json: { name: 'Carol Diaz (associate)', group: 'lawyers' } });
    expect(edited.body.report).toMatchObject({ status: 'applied', updated: 1 });
    expect((await c.stores.users.getUsers('demo', ['client:carol'])).get('client:carol')).toMatchObject({ name: 'Carol Diaz (associate)', group: 'lawyers' });
  });
});
