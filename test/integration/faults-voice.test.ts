/**
 * DynamoDB faults in the middle of calls (docs/call-flow.md "never silent", emergency; §9 one record per
 * call; §11 nothing half-applied): throttling, requests that never get an answer, and writes
 * that land but whose answer is lost, injected at the SDK's HTTP boundary of the client the
 * voice function uses (support/faults.ts) — the stores, the SDK's retry, the voice pipeline and
 * dynalite behind it are all real. The client has the deployed voice function's settings
 * (handlers/voice.ts): 500 ms to connect, 1.5 s per attempt, two attempts.
 *
 * What must hold: a caller hears a prompt, a dial, or the apology and a hang-up — never
 * silence; 911 is dialled whatever storage does; a call's item is always a whole revision, the
 * one before the failed webhook or the one after it; and every call still ends as one usage
 * record once storage answers again.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countRequests, makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores, type DynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { DEFAULT_PROMPTS, resolvePrompts } from '../../functions/core/prompts.ts';
import { parseSettings, type Settings } from '../../functions/core/settings.ts';
import type { Alert } from '../../functions/services/voice.ts';
import { makeStorageEnv, startDynalite, type StorageEnv } from './support/dynamo.ts';
import { newAccountSid, until } from './support/e2e-stack.ts';
import { injectFaults, tablesOf, type Attempt, type Fault, type FaultInjector } from './support/faults.ts';
import type { FakeTwilio } from './support/twilio.ts';
import { startVoiceServer, type VoiceServer } from './support/voice-server.ts';
import { newCallSid } from './support/voice.ts';

const LONDON = '+442079460018';
const NEW_YORK = '+12125550100';
const SID = newAccountSid();

let env: StorageEnv;
let closeDynalite: () => Promise<void>;
let voiceClient: DynamoDBClient;
let voiceStores: DynamoStores;
let faults: FaultInjector;
let voice: VoiceServer;
let twilio: FakeTwilio;
let settings: Settings;
const alerts: Alert[] = [];

beforeAll(async () => {
  const dynalite = await startDynalite();
  closeDynalite = () => dynalite.close();
  // The test's own reads and setup go through a client no fault touches.
  env = await makeStorageEnv(dynalite.endpoint);
  voiceClient = makeDynamoClient({ endpoint: dynalite.endpoint, connectionTimeoutMs: 500, requestTimeoutMs: 1_500, maxAttempts: 2 });
  voiceStores = makeDynamoStores({ client: voiceClient, tables: env.tables });
  faults = await injectFaults(voiceClient);

  const parsed = parseSettings({
    account: 'acme',
    twilioAccountSids: [SID],
    homeCountry: 'US',
    timeZone: 'America/New_York',
    callerId: '+14155550100',
    calls: { default: 'free', international: 'required' },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  settings = parsed.value;
  await env.stores.accounts.putSettings(settings);
  await env.stores.codes.writeCodes('acme', [{ put: { key: 'A#0042', kind: 'account', code: '0042', enabled: true, description: 'Smith v Jones' } }]);

  voice = await startVoiceServer(voiceStores, { accountSid: SID, alerts: { raise: async (a) => void alerts.push(a) }, pepper: 'faults-pepper' });
  twilio = voice.twilio;

  // A first call warms the container (settings cached), as on a busy account.
  const warm = await twilio.call({ from: 'client:warm', to: NEW_YORK });
  expect(warm.dial?.number).toBe(NEW_YORK);
});

afterAll(async () => {
  await voice?.close();
  await faults?.close();
  voiceClient?.destroy();
  await env?.close();
  await closeDynalite?.();
});

beforeEach(() => {
  faults.plan = () => undefined;
  faults.reset();
});

/** The stored item of a call, read past every fault. */
const stored = (callSid: string) => env.stores.calls.get(callSid);

/** Faults on writes to the calls table (call state and lockout records). */
const callWrite = (a: Attempt) => a.command === 'PutItem' && tablesOf(a).includes(env.tables.calls);

/** A fault for the first `n` attempts that match, then none. */
function first(n: number, match: (a: Attempt) => boolean, fault: Fault): (a: Attempt) => Fault | undefined {
  let left = n;
  return (a) => {
    if (left <= 0 || !match(a)) return undefined;
    left--;
    return fault;
  };
}

const everything = (fault: Fault) => () => fault;

/** A call started normally and waiting at its code prompt. */
async function atPrompt(from: string): Promise<{ sid: string; common: Record<string, string> }> {
  const sid = newCallSid();
  const common = twilio.common(sid, from, LONDON);
  const reply = await twilio.post('/voice/incoming', common);
  expect(reply.heard?.gather).toBeDefined();
  // The attempts a test looks at are the ones after this.
  faults.reset();
  return { sid, common };
}

const code = (call: { common: Record<string, string> }, digits: string, step = 1) =>
  twilio.post(`/voice/code?step=${step}`, { ...call.common, CallStatus: 'in-progress', Digits: digits, FinishedOnKey: '#' });
const dialComplete = (call: { common: Record<string, string> }, seconds: number) =>
  twilio.post('/voice/dial-complete', { ...call.common, CallStatus: 'in-progress', DialCallStatus: 'completed', DialCallDuration: String(seconds) });
const status = (call: { common: Record<string, string> }, seconds: number) =>
  twilio.post('/voice/status', { ...call.common, CallStatus: 'completed', CallDuration: String(seconds) });

const APOLOGY = { says: [DEFAULT_PROMPTS.error], hangup: true };

describe('a throttled request the SDK retries', () => {
  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException'] as const)(
    'goes unnoticed by the caller when a write is throttled once (%s), and the call is saved once',
    async (error) => {
      faults.plan = first(1, (a) => callWrite(a) && a.attempt === 1, { kind: 'throttle', error });
      const counter = countRequests(voiceClient);
      try {
        const run = await twilio.call({ from: 'client:alice', to: LONDON, keys: ['0042#'], answer: { status: 'completed', talkS: 42 }, callDuration: 50 });
        expect(run.dial?.number).toBe(LONDON);
        expect(run.replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
        expect((await stored(run.callSid))?.state).toMatchObject({ codeStatus: 'valid', code: '0042', outcome: 'completed', talkS: 42, durationS: 50, attempts: 1 });
        // The SDK sent the throttled write again: one more attempt than commands.
        const puts = faults.attempts('PutItem');
        expect(puts.filter((a) => a.fault === 'throttle')).toHaveLength(1);
        expect(puts.filter((a) => a.attempt === 2)).toHaveLength(1);
        expect(counter.byOperation.get('PutItem')).toBe(puts.length - 1);
      } finally {
        counter.detach();
      }
    },
  );

  it('goes unnoticed when the code step’s one read is throttled once', async () => {
    faults.plan = first(1, (a) => a.command === 'BatchGetItem' && a.attempt === 1, { kind: 'throttle', error: 'ThrottlingException' });
    const run = await twilio.call({ from: 'client:bob', to: LONDON, keys: ['0042#'] });
    expect(run.dial?.number).toBe(LONDON);
    expect(faults.attempts('BatchGetItem').map((a) => [a.attempt, a.fault])).toContainEqual([2, undefined]);
  });
});

describe('throttling that outlasts the SDK’s retries', () => {
  it('apologises at a code step, keeps the call at its last saved revision, and records the call from its status callback once storage recovers', async () => {
    const call = await atPrompt('client:carol');
    const before = await stored(call.sid);
    faults.plan = everything({ kind: 'throttle' });
    const reply = await code(call, '0042');
    expect(reply.status).toBe(200);
    expect(reply.heard).toEqual(APOLOGY);
    expect(faults.log.every((a) => a.fault === 'throttle')).toBe(true);
    expect(faults.log.some((a) => a.attempt === 2)).toBe(true);
    // Not a half-written state: exactly the revision the prompt left.
    expect(await stored(call.sid)).toEqual(before);

    faults.plan = () => undefined;
    expect((await status(call, 14)).status).toBe(200);
    expect((await stored(call.sid))?.state).toMatchObject({ phase: 'ended', statusReceived: true, durationS: 14, attempts: 0, codeStatus: 'none' });
    expect((await stored(call.sid))?.revision).toBe((before?.revision ?? 0) + 1);
  });

  it('apologises for a call it cannot start and stores nothing; the status callback still leaves the call’s one record', async () => {
    const sid = newCallSid();
    const common = twilio.common(sid, 'client:dave', LONDON);
    faults.plan = everything({ kind: 'throttle', error: 'ThrottlingException' });
    expect((await twilio.post('/voice/incoming', common)).heard).toEqual(APOLOGY);
    expect(await stored(sid)).toBeUndefined();
    // While storage is still throttled the status callback fails loudly (Twilio logs the 500)…
    expect((await status({ common }, 3)).status).toBe(500);
    expect(await stored(sid)).toBeUndefined();

    faults.plan = () => undefined;
    expect((await status({ common }, 3)).status).toBe(200);
    expect((await stored(sid))?.state).toMatchObject({ callSid: sid, phase: 'ended', statusReceived: true, durationS: 3, destination: LONDON });
  });

  it('ends a dialled call with a hang-up when its dial result cannot be saved; the status callback completes the record', async () => {
    const call = await atPrompt('client:erin');
    expect((await code(call, '0042')).heard?.dial?.number).toBe(LONDON);
    const dialling = await stored(call.sid);
    faults.plan = (a) => (callWrite(a) ? { kind: 'throttle' } : undefined);
    const reply = await dialComplete(call, 61);
    expect(reply.heard?.hangup).toBe(true);
    expect(await stored(call.sid)).toEqual(dialling);

    faults.plan = () => undefined;
    expect((await status(call, 70)).status).toBe(200);
    expect((await stored(call.sid))?.state).toMatchObject({ phase: 'ended', statusReceived: true, outcome: 'completed', durationS: 70, code: '0042' });
  });

  it('still dials 911 at once while every request is throttled, raises the alert, and records the call from its callbacks afterwards', async () => {
    const sid = newCallSid();
    const common = twilio.common(sid, 'client:frank', '911');
    const alerted = alerts.length;
    faults.plan = everything({ kind: 'throttle' });
    const started = performance.now();
    const reply = await twilio.post('/voice/incoming', common);
    expect(reply.heard?.dial).toMatchObject({ number: '911', callerId: '+14155550100' });
    expect(performance.now() - started).toBeLessThan(2_000);
    const alert = await until('the emergency alert', 30_000, () => alerts.slice(alerted).find((a) => a.callSid === sid));
    expect(alert).toMatchObject({ kind: 'emergency', account: 'acme', destination: '911' });

    faults.plan = () => undefined;
    expect((await dialComplete({ common }, 300)).heard?.hangup).toBe(true);
    expect((await status({ common }, 310)).status).toBe(200);
    expect((await stored(sid))?.state).toMatchObject({ destinationClass: 'emergency', codeStatus: 'exempt', outcome: 'completed', talkS: 300, durationS: 310 });
  });
});

describe('a request that never gets an answer', () => {
  it('is sent again after the request timeout, and the call goes on', async () => {
    const call = await atPrompt('client:gina');
    faults.plan = first(1, callWrite, { kind: 'timeout' });
    const started = performance.now();
    const reply = await code(call, '0042');
    const ms = performance.now() - started;
    expect(reply.heard?.dial?.number).toBe(LONDON);
    expect(ms).toBeGreaterThanOrEqual(1_400);
    expect(faults.attempts('PutItem').map((a) => [a.attempt, a.fault])).toEqual([
      [1, 'timeout'],
      [2, undefined],
    ]);
    expect((await stored(call.sid))?.state).toMatchObject({ phase: 'dialling', codeStatus: 'valid', step: 1 });
  });

  it('ends in the apology well within Twilio’s 15 s when every attempt times out, leaving the call as it was', async () => {
    const call = await atPrompt('client:hank');
    const before = await stored(call.sid);
    faults.plan = (a) => (callWrite(a) ? { kind: 'timeout' } : undefined);
    const started = performance.now();
    const reply = await code(call, '0042');
    const ms = performance.now() - started;
    expect(reply.heard).toEqual(APOLOGY);
    expect(ms).toBeLessThan(8_000);
    expect(faults.attempts('PutItem').map((a) => a.fault)).toEqual(['timeout', 'timeout']);
    expect(await stored(call.sid)).toEqual(before);
  });
});

describe('a write that lands but whose answer is lost', () => {
  it('answers the code step as if the answer had come, writes one revision, and counts the wrong code toward the lockout once', async () => {
    const call = await atPrompt('client:ivy');
    const before = await stored(call.sid);
    faults.plan = first(1, (a) => callWrite(a) && String((a.input.Item as Record<string, { S?: string }> | undefined)?.pk?.S) === call.sid, { kind: 'lost-response' });
    const reply = await code(call, '9999');
    // The retry prompt, not the apology: the write had landed.
    expect(reply.heard?.gather?.prompt).toContain(resolvePrompts(settings.prompts, settings.codeLength).invalidCode);
    expect(
      faults
        .attempts('PutItem')
        .map((a) => [a.attempt, a.fault])
        .slice(0, 2),
    ).toEqual([
      [1, 'lost-response'],
      [2, undefined],
    ]);
    const after = await stored(call.sid);
    expect(after?.revision).toBe((before?.revision ?? 0) + 1);
    expect(after?.state).toMatchObject({ step: 1, attempts: 1, phase: 'prompting' });
    expect((await env.stores.lockouts.get('acme', 'client:ivy'))?.failures).toBe(1);
  });

  it('counts a wrong code once when the lockout record’s write lands but its answer is lost', async () => {
    const call = await atPrompt('client:jack');
    faults.plan = first(1, (a) => callWrite(a) && String((a.input.Item as Record<string, { S?: string }> | undefined)?.pk?.S).startsWith('LOCK#'), { kind: 'lost-response' });
    const reply = await code(call, '9999');
    expect(reply.heard?.gather).toBeDefined();
    expect(faults.log.some((a) => a.fault === 'lost-response')).toBe(true);
    expect((await env.stores.lockouts.get('acme', 'client:jack'))?.failures).toBe(1);
  });

  it('raises the emergency alert once when the emergency call’s write lands but its answer is lost', async () => {
    const sid = newCallSid();
    const common = twilio.common(sid, 'client:kim', '911');
    faults.plan = first(1, callWrite, { kind: 'lost-response' });
    expect((await twilio.post('/voice/incoming', common)).heard?.dial?.number).toBe('911');
    await until('the emergency call to be saved', 30_000, async () => (await stored(sid)) ?? undefined);
    const raised = await until('the emergency alert', 30_000, () => {
      const mine = alerts.filter((a) => a.callSid === sid);
      return mine.length > 0 ? mine : undefined;
    });
    expect(faults.log.some((a) => a.fault === 'lost-response')).toBe(true);
    expect(raised).toHaveLength(1);
    expect((await stored(sid))?.revision).toBe(1);
  });

  it('records a status callback once when its write lands but its answer is lost, and a repeat changes nothing', async () => {
    const call = await atPrompt('client:liam');
    expect((await code(call, '0042')).heard?.dial).toBeDefined();
    expect((await dialComplete(call, 20)).heard?.hangup).toBe(true);
    const before = await stored(call.sid);
    faults.plan = first(1, callWrite, { kind: 'lost-response' });
    expect((await status(call, 25)).status).toBe(200);
    const after = await stored(call.sid);
    expect(after?.revision).toBe((before?.revision ?? 0) + 1);
    expect(after?.state).toMatchObject({ statusReceived: true, durationS: 25, talkS: 20 });
    expect((await status(call, 25)).status).toBe(200);
    expect(await stored(call.sid)).toEqual(after);
  });
});

describe('a callback that never arrives (Twilio gave up on it)', () => {
  it('still ends a dialled call as one record from its status callback alone', async () => {
    const call = await atPrompt('client:mia');
    expect((await code(call, '0042')).heard?.dial?.number).toBe(LONDON);
    expect((await status(call, 95)).status).toBe(200);
    expect((await stored(call.sid))?.state).toMatchObject({
      phase: 'ended',
      statusReceived: true,
      dialCompleted: false,
      outcome: 'completed',
      durationS: 95,
      talkS: 0,
      code: '0042',
    });
  });

  it('still ends a dialled call as one record from its dial result alone, timed by the clock', async () => {
    const call = await atPrompt('client:noah');
    expect((await code(call, '0042')).heard?.dial?.number).toBe(LONDON);
    expect((await dialComplete(call, 33)).heard?.hangup).toBe(true);
    const state = (await stored(call.sid))?.state;
    expect(state).toMatchObject({ phase: 'ended', statusReceived: false, dialCompleted: true, outcome: 'completed', talkS: 33, code: '0042' });
    expect(state?.durationS).toBeGreaterThanOrEqual(0);
    expect(state?.endedAt).toBeDefined();
  });
});
