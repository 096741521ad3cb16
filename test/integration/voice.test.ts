import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countRequests } from '../../functions/adapters/dynamodb/client.ts';
import { accountCodeKey, authorizationCodeKey, codeRef } from '../../functions/adapters/code-key.ts';
import type { Settings } from '../../functions/core/settings.ts';
import type { CodeItem } from '../../functions/core/ports.ts';
import type { Alert, HttpEvent, HttpResult } from '../../functions/services/voice.ts';
import { dynaliteEnv, type StorageEnv } from './support/dynamo.ts';
import { AUTH_TOKEN, BASE_URL, hear, newCallSid, signedEvent } from './support/voice.ts';
import { testSettings } from '../support/settings.ts';
import { testVoiceApp } from '../support/voice-app.ts';

const SID = `AC${'a1'.repeat(16)}`;
const PEPPER = 'test-pepper';

const settingsOf = (doc: Record<string, unknown>): Settings => testSettings({ twilioAccountSids: [SID], ...doc });

const account = (digits: string, extra: Partial<CodeItem> = {}): CodeItem => ({ key: accountCodeKey(digits), kind: 'account', code: digits, enabled: true, ...extra });
const authorization = (digits: string, level: number, extra: Partial<CodeItem> = {}): CodeItem => {
  const key = authorizationCodeKey(PEPPER, 'acme', digits);
  return { key, kind: 'authorization', ref: codeRef(key), enabled: true, level, ...extra };
};

describe('voice webhooks against dynalite', () => {
  let env: StorageEnv;
  let app: (e: HttpEvent) => Promise<HttpResult>;
  let alerts: Alert[];

  beforeAll(async () => {
    env = await dynaliteEnv();
  });
  afterAll(async () => env.close());

  async function setup(doc: Record<string, unknown>, codes: CodeItem[] = []): Promise<void> {
    await env.stores.accounts.putSettings(settingsOf(doc));
    if (codes.length > 0)
      await env.stores.codes.writeCodes(
        'acme',
        codes.map((put) => ({ put })),
      );
    alerts = [];
    app = testVoiceApp(env.stores, {
      token: AUTH_TOKEN,
      pepper: async () => PEPPER,
      alerts: { raise: async (a) => void alerts.push(a) },
      publicBaseUrl: BASE_URL,
      now: env.clock,
    });
  }

  const call = (callSid: string, from: string, to: string) => ({
    CallSid: callSid,
    AccountSid: SID,
    From: from,
    To: to,
    CallStatus: 'in-progress',
    Direction: 'inbound',
    ApiVersion: '2010-04-01',
  });

  beforeEach(() => env.clock.set('2026-06-15T14:00:00.000Z'));

  it("speaks to each caller in their user's language and voice, on every step of the call", async () => {
    await setup({ calls: { default: 'required' }, prompts: { language: 'en-US', 'fr-CA': { invalidCode: 'Non.' } } }, [account('0042')]);
    await env.stores.users.putUsers('acme', [
      { id: 'client:lucia', language: 'es-US' },
      { id: 'client:marc', language: 'fr-CA' },
    ]);
    const lucia = call(newCallSid(), 'client:lucia', '+12125550100');
    const first = await app(signedEvent('/voice/incoming', lucia));
    expect(first.body).toContain('<Say voice="Polly.Lupe" language="es-US">Marque su código de cuenta de 4 a 6 dígitos y luego la tecla numeral.</Say>');
    const wrong = await app(signedEvent('/voice/code?step=1', { ...lucia, Digits: '9999', FinishedOnKey: '#' }));
    expect(hear(wrong).gather?.prompt).toBe('Ese código no fue aceptado. Inténtelo de nuevo. Marque su código de cuenta de 4 a 6 dígitos y luego la tecla numeral.');
    expect(wrong.body).toContain('voice="Polly.Lupe" language="es-US"');
    expect((await env.stores.calls.get(lucia.CallSid))?.state.language).toBe('es-US');
    const marc = call(newCallSid(), 'client:marc', '+12125550100');
    await app(signedEvent('/voice/incoming', marc));
    const marcWrong = await app(signedEvent('/voice/code?step=1', { ...marc, Digits: '9999', FinishedOnKey: '#' }));
    expect(hear(marcWrong).gather?.prompt).toBe('Non. Veuillez entrer votre code de compte de 4 à 6 chiffres, puis le carré.');
    expect(marcWrong.body).toContain('voice="Polly.Chantal" language="fr-CA"');
    const alice = await app(signedEvent('/voice/incoming', call(newCallSid(), 'client:alice', '+12125550100')));
    expect(alice.body).toContain('<Say voice="Polly.Joanna" language="en-US">Please enter your 4 to 6 digit account code, then press pound.</Say>');
  });

  it('prompts for a required code, re-prompts after a wrong one, dials on the right one, and records one usage row', async () => {
    await setup({ calls: { default: 'required' }, callerId: '+14155550100' }, [account('0042', { description: 'Smith v Jones' })]);
    const sid = newCallSid();
    const base = call(sid, 'client:alice', '+12125550100');
    const counter = countRequests(env.client);
    const first = hear(await app(signedEvent('/voice/incoming', base)));
    expect(first.gather?.action).toBe(`${BASE_URL}/voice/code?step=1`);
    const wrong = hear(await app(signedEvent('/voice/code?step=1', { ...base, Digits: '9999', FinishedOnKey: '#' })));
    expect(wrong.gather?.action).toBe(`${BASE_URL}/voice/code?step=2`);
    expect(wrong.gather?.prompt).toMatch(/not accepted/);
    const right = hear(await app(signedEvent('/voice/code?step=2', { ...base, Digits: '0042', FinishedOnKey: '#' })));
    expect(right.dial).toMatchObject({ number: '+12125550100', callerId: '+14155550100', action: `${BASE_URL}/voice/dial-complete` });
    const done = hear(await app(signedEvent('/voice/dial-complete', { ...base, DialCallStatus: 'completed', DialCallDuration: '125' })));
    expect(done.hangup).toBe(true);
    const status = await app(signedEvent('/voice/status', { ...base, CallStatus: 'completed', CallDuration: '140' }));
    expect(status.statusCode).toBe(200);
    counter.detach();
    // Cold: the SID's account (a read), then its settings with the caller's records (one batch
    // read) and the state's first write; each code step one batch read and one write; the
    // wrong code also counts toward the caller's lockout and the account-wide throttle (a read
    // and a conditional write each); the callbacks reuse the state this process holds.
    expect(Object.fromEntries(counter.byOperation)).toEqual({ GetItem: 3, BatchGetItem: 3, PutItem: 7 });
    const stored = await env.stores.calls.get(sid);
    expect(stored?.state).toMatchObject({ codeStatus: 'valid', code: '0042', codeDescription: 'Smith v Jones', outcome: 'completed', talkS: 125, durationS: 140, attempts: 2 });
  });

  it("starts a caller's next call with one write and no read, within the settings' 30 seconds", async () => {
    await setup({ calls: { default: 'required' } }, [account('0042')]);
    const first = call(newCallSid(), 'client:alice', '+12125550100');
    expect(hear(await app(signedEvent('/voice/incoming', first))).gather).toBeDefined();
    const counter = countRequests(env.client);
    const second = call(newCallSid(), 'client:alice', '+12125550100');
    expect(hear(await app(signedEvent('/voice/incoming', second))).gather).toBeDefined();
    expect(Object.fromEntries(counter.byOperation)).toEqual({ PutItem: 1 });
    // Past the TTL the caller's user record and lockouts are read again.
    env.clock.advance(31_000);
    await app(signedEvent('/voice/incoming', call(newCallSid(), 'client:alice', '+12125550100')));
    counter.detach();
    expect(counter.byOperation.get('BatchGetItem')).toBeGreaterThanOrEqual(1);
  });

  it("costs six requests for a coded call on a cold container that knows the SID's account from the token secret (AWS)", async () => {
    await setup({ calls: { default: 'required' } }, [account('0042')]);
    const cold = testVoiceApp(env.stores, { token: AUTH_TOKEN, accountOf: async (sid) => (sid === SID ? 'acme' : undefined), publicBaseUrl: BASE_URL, now: env.clock });
    const base = call(newCallSid(), 'client:alice', '+12125550100');
    const counter = countRequests(env.client);
    expect(hear(await cold(signedEvent('/voice/incoming', base))).gather).toBeDefined();
    expect(hear(await cold(signedEvent('/voice/code?step=1', { ...base, Digits: '0042', FinishedOnKey: '#' }))).dial).toBeDefined();
    await cold(signedEvent('/voice/dial-complete', { ...base, DialCallStatus: 'completed', DialCallDuration: '30' }));
    await cold(signedEvent('/voice/status', { ...base, CallStatus: 'completed', CallDuration: '35' }));
    counter.detach();
    // The settings and the caller's records in one read, then the state's writes; the code step reads the code and the lockouts.
    expect(Object.fromEntries(counter.byOperation)).toEqual({ BatchGetItem: 2, PutItem: 4 });
    expect((await env.stores.calls.get(base.CallSid))?.state).toMatchObject({ code: '0042', outcome: 'completed' });
  });

  it('locks code entry on every container at once, whatever a container remembers of the caller', async () => {
    await setup({ calls: { default: 'required' }, lockout: { failures: 2, windowMinutes: 15, lockMinutes: 60 } }, [account('0042')]);
    const other = testVoiceApp(env.stores, { token: AUTH_TOKEN, pepper: async () => PEPPER, alerts: { raise: async () => undefined }, publicBaseUrl: BASE_URL, now: env.clock });
    // This container has seen gina start a call: it remembers her as not locked out.
    const warm = call(newCallSid(), 'client:gina', '+12125550100');
    expect(hear(await app(signedEvent('/voice/incoming', warm))).gather).toBeDefined();
    // Another container counts two wrong codes: gina is locked out.
    const guessing = call(newCallSid(), 'client:gina', '+12125550100');
    await other(signedEvent('/voice/incoming', guessing));
    await other(signedEvent('/voice/code?step=1', { ...guessing, Digits: '1111', FinishedOnKey: '#' }));
    await other(signedEvent('/voice/code?step=2', { ...guessing, Digits: '2222', FinishedOnKey: '#' }));
    // The container that counted tells her at once on her next call.
    const told = hear(await other(signedEvent('/voice/incoming', call(newCallSid(), 'client:gina', '+12125550100'))));
    expect(told.gather).toBeUndefined();
    expect(told.hangup).toBe(true);
    // This one still prompts from its copy, but the code step reads the lockout: the right code is refused.
    const next = call(newCallSid(), 'client:gina', '+12125550100');
    expect(hear(await app(signedEvent('/voice/incoming', next))).gather).toBeDefined();
    const refused = hear(await app(signedEvent('/voice/code?step=1', { ...next, Digits: '0042', FinishedOnKey: '#' })));
    expect(refused.dial).toBeUndefined();
    expect(refused.hangup).toBe(true);
    expect((await env.stores.calls.get(next.CallSid))?.state).toMatchObject({ codeStatus: 'locked-out' });
    // And its copy is now the lockout it read: her next call there is told at once.
    const after = hear(await app(signedEvent('/voice/incoming', call(newCallSid(), 'client:gina', '+12125550100'))));
    expect(after.gather).toBeUndefined();
  });

  it('answers GET /health without storage, as the HTTP API routes it in AWS', async () => {
    await setup({});
    const res = await app({ rawPath: '/health', headers: { host: 'abc.execute-api.us-east-1.amazonaws.com' }, requestContext: { http: { method: 'GET' } } });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok', publicUrl: BASE_URL });
    expect((await app({ rawPath: '/health', requestContext: { http: { method: 'POST' } } })).statusCode).toBe(405);
  });

  it('refuses a bad signature with 403 and stores nothing', async () => {
    await setup({ calls: { default: 'required' } });
    const sid = newCallSid();
    const res = await app(signedEvent('/voice/incoming', call(sid, 'client:alice', '+12125550100'), { token: 'wrong' }));
    expect(res.statusCode).toBe(403);
    expect(await env.stores.calls.get(sid)).toBeUndefined();
  });

  it('dials 911 for a request it cannot verify, and raises an alert', async () => {
    await setup({ calls: { default: 'blocked' } });
    const sid = newCallSid();
    const res = hear(await app(signedEvent('/voice/incoming', call(sid, 'client:alice', '911'), { signature: null })));
    expect(res.dial?.number).toBe('911');
    expect(alerts.map((a) => [a.kind, a.verified])).toEqual([['emergency', false]]);
  });

  it('dials an authorization-coded call tagged with the description, never the digits', async () => {
    await setup({ calls: { default: 'free', international: 'authorized' }, levels: { international: 1 } }, [authorization('778899', 2, { description: 'Finance desk' })]);
    const sid = newCallSid();
    const base = call(sid, 'client:alice', '+442079460018');
    expect(hear(await app(signedEvent('/voice/incoming', base))).gather).toBeDefined();
    const dial = hear(await app(signedEvent('/voice/code?step=1', { ...base, Digits: '778899' })));
    expect(dial.dial?.number).toBe('+442079460018');
    const stored = await env.stores.calls.get(sid);
    expect(stored?.state.codeDescription).toBe('Finance desk');
    expect(JSON.stringify(stored)).not.toContain('778899');
  });
});
