/**
 * Storage outages end to end (docs/settings.md emergency, §6 fallback and "never silent"): the voice
 * handler as the local stack mounts it — same HTTP adapter, same handler, the deployed
 * function's DynamoDB timeouts — over a dynalite this suite stops in the middle of calls and
 * starts again. Nothing is mocked: the outage is a closed port.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileAlerts } from '../../functions/adapters/alerts.ts';
import { makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores, type DynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { createTables } from '../../functions/adapters/dynamodb/tables.ts';
import type { CallStore } from '../../functions/core/ports.ts';
import { parseSettings } from '../../functions/core/settings.ts';
import { DEFAULT_PROMPTS } from '../../functions/core/prompts.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { startDynalite, type RunningServer } from '../../local/emulators.ts';
import { LOCAL_TABLES } from '../../local/stack.ts';
import { newAccountSid, until, type AlertLine } from './support/e2e-stack.ts';
import type { FakeTwilio } from './support/twilio.ts';
import { startVoiceServer, type VoiceServer } from './support/voice-server.ts';
import { newCallSid } from './support/voice.ts';

const LONDON = '+442079460018';
const NEW_YORK = '+12125550100';
const SID = newAccountSid();

let home: string;
let dynamo: RunningServer | undefined;
let dynamoPort: number;
let client: DynamoDBClient;
let stores: DynamoStores;
let voice: VoiceServer;
let twilio: FakeTwilio;

function alertSink() {
  return fileAlerts(join(home, 'alerts.log'), silentLogger);
}

async function alerts(): Promise<AlertLine[]> {
  const text = await readFile(join(home, 'alerts.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AlertLine);
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tollgate-voice-outage-'));
  dynamo = await startDynalite({ path: join(home, 'dynamodb') });
  dynamoPort = Number(new URL(dynamo.endpoint).port);
  // What the deployed voice function uses: short attempts, one retry (functions/handlers/voice.ts).
  client = makeDynamoClient({ endpoint: dynamo.endpoint, connectionTimeoutMs: 500, requestTimeoutMs: 1_500, maxAttempts: 2 });
  await createTables(client, LOCAL_TABLES);
  stores = makeDynamoStores({ client, tables: LOCAL_TABLES });
  const parsed = parseSettings({
    account: 'acme',
    twilioAccountSids: [SID],
    homeCountry: 'US',
    timeZone: 'America/New_York',
    callerId: '+14155550100',
    calls: { default: 'free', international: 'required' },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  await stores.accounts.putSettings(parsed.value);
  await stores.codes.writeCodes('acme', [{ put: { key: 'A#0042', kind: 'account', code: '0042', enabled: true } }]);

  voice = await startVoiceServer(stores, { accountSid: SID, alerts: alertSink(), pepper: 'outage-pepper' });
  twilio = voice.twilio;
});

afterAll(async () => {
  await voice?.close();
  client?.destroy();
  await dynamo?.close();
  await rm(home, { recursive: true, force: true });
});

describe('with storage stopped in the middle of calls', () => {
  let atPrompt: { sid: string; common: Record<string, string> };
  let dialling: { sid: string; common: Record<string, string> };
  let outageEmergencySid: string;

  it('works normally before the outage', async () => {
    // A completed call warms the account's settings in this container, as a busy one would be.
    const warm = await twilio.call({ from: 'client:alice', to: NEW_YORK });
    expect(warm.dial?.number).toBe(NEW_YORK);
    atPrompt = { sid: newCallSid(), common: {} };
    atPrompt.common = twilio.common(atPrompt.sid, 'client:alice', LONDON);
    expect((await twilio.post('/voice/incoming', atPrompt.common)).heard?.gather).toBeDefined();
    dialling = { sid: newCallSid(), common: {} };
    dialling.common = twilio.common(dialling.sid, 'client:bob', NEW_YORK);
    expect((await twilio.post('/voice/incoming', dialling.common)).heard?.dial?.number).toBe(NEW_YORK);

    await dynamo?.close();
    dynamo = undefined;
  });

  it('apologises and hangs up when a code step cannot reach storage', async () => {
    const reply = await twilio.post('/voice/code?step=1', { ...atPrompt.common, CallStatus: 'in-progress', Digits: '0042', FinishedOnKey: '#' });
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^text\/xml\b/);
    expect(reply.heard).toEqual({ says: [DEFAULT_PROMPTS.error], hangup: true });
  });

  it('apologises and hangs up when a new call cannot be started', async () => {
    const reply = await twilio.post('/voice/incoming', twilio.common(newCallSid(), 'client:carol', LONDON));
    expect(reply.status).toBe(200);
    expect(reply.heard).toEqual({ says: [DEFAULT_PROMPTS.error], hangup: true });
  });

  it('answers the dial result of a call in progress with a hang-up, never silence', async () => {
    const reply = await twilio.post('/voice/dial-complete', { ...dialling.common, CallStatus: 'in-progress', DialCallStatus: 'completed', DialCallDuration: '12' });
    expect(reply.status).toBe(200);
    expect(reply.heard?.hangup).toBe(true);
  });

  it('still dials 911 at once for a known account, and raises the alert', async () => {
    outageEmergencySid = newCallSid();
    const started = performance.now();
    const reply = await twilio.post('/voice/incoming', twilio.common(outageEmergencySid, 'client:alice', '911'));
    const ms = performance.now() - started;
    expect(reply.status).toBe(200);
    expect(reply.heard?.dial).toMatchObject({ number: '911', callerId: '+14155550100' });
    // The record cannot wait on storage: the answer goes out within the side-work budget.
    expect(ms).toBeLessThan(2_000);
    const alert = await until('the emergency alert', 30_000, async () => (await alerts()).find((a) => a.callSid === outageEmergencySid));
    expect(alert).toMatchObject({ kind: 'emergency', account: 'acme', user: 'client:alice', destination: '911' });
  });

  it('still dials 911 and 112 for a request it cannot verify, alerting once a minute for the Account SID', async () => {
    const sids: string[] = [];
    for (const to of ['911', '112']) {
      const sid = newCallSid();
      sids.push(sid);
      const reply = await twilio.post('/voice/incoming', twilio.common(sid, 'client:alice', to), { token: 'rotated-away' });
      expect(reply.status, to).toBe(200);
      expect(reply.heard?.dial?.number, to).toBe(to);
      expect(reply.heard?.dial?.callerId, to).toMatch(/^\+[1-9][0-9]+$/);
    }
    expect(await until('the alert', 30_000, async () => (await alerts()).find((a) => a.callSid === sids[0]))).toMatchObject({ verified: false });
    // The second unverified request of the same Account SID within the minute is folded into the next alert.
    expect((await alerts()).some((a) => a.callSid === sids[1])).toBe(false);
  });

  it("dials a number that is an emergency number somewhere (999) when the account's country cannot be looked up", async () => {
    const stranger = twilio.as(newAccountSid());
    const reply = await stranger.post('/voice/incoming', stranger.common(newCallSid(), 'sip:guest@example.sip.twilio.com', '999'));
    expect(reply.status).toBe(200);
    expect(reply.heard?.dial?.number).toBe('999');
  });

  it('dials 911 from the fallback URL and apologises for anything else', async () => {
    const emergency = await twilio.post('/voice/fallback', { ...twilio.common(newCallSid(), 'client:alice', '911'), ErrorCode: '11205' });
    expect(emergency.status).toBe(200);
    expect(emergency.heard?.dial?.number).toBe('911');
    const other = await twilio.post('/voice/fallback', { ...twilio.common(newCallSid(), 'client:alice', LONDON), ErrorCode: '11205' });
    expect(other.status).toBe(200);
    expect(other.heard).toEqual({ says: [DEFAULT_PROMPTS.error], hangup: true });
    // Unsigned too: Twilio's fallback request is answered whatever else is broken.
    const unsigned = await twilio.post('/voice/fallback', twilio.common(newCallSid(), 'client:alice', '911'), { signature: null });
    expect(unsigned.heard?.dial?.number).toBe('911');
  });

  it('records the emergency call answered during the outage from its callbacks once storage is back', async () => {
    dynamo = await startDynalite({ path: join(home, 'dynamodb'), port: dynamoPort });
    await until('storage to answer', 30_000, async () => ((await stores.accounts.listAccounts().catch(() => undefined)) === undefined ? undefined : true));
    const common = twilio.common(outageEmergencySid, 'client:alice', '911');
    const done = await twilio.post('/voice/dial-complete', { ...common, CallStatus: 'in-progress', DialCallStatus: 'completed', DialCallDuration: '240' });
    expect(done.heard?.hangup).toBe(true);
    expect((await twilio.post('/voice/status', { ...common, CallStatus: 'completed', CallDuration: '250' })).status).toBe(200);
    const state = (await stores.calls.get(outageEmergencySid))?.state;
    expect(state).toMatchObject({ destinationClass: 'emergency', codeStatus: 'exempt', outcome: 'completed', talkS: 240, durationS: 250 });
  });
});

describe('with the emergency record slower than the emergency answer', () => {
  it('still raises the alert when the callbacks record the call before the answer’s own write lands', async () => {
    // A fault no emulator produces on cue: the emergency answer's first write held back past the
    // side-work budget until the callbacks have come and gone. Everything else is real storage.
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = true;
    let heldSettled = false;
    let readsAfterRelease = 0;
    let released = false;
    const slowCalls: CallStore = {
      async get(callSid) {
        const out = await stores.calls.get(callSid);
        if (released) readsAfterRelease++;
        return out;
      },
      async put(state, options) {
        if (!(holding && state.destinationClass === 'emergency')) return stores.calls.put(state, options);
        holding = false;
        await held;
        try {
          return await stores.calls.put(state, options);
        } finally {
          heldSettled = true;
        }
      },
    };
    const slow = await startVoiceServer({ ...stores, calls: slowCalls }, { accountSid: SID, alerts: alertSink(), pepper: 'outage-pepper', emergencySideWorkMs: 50 });
    try {
      const sid = newCallSid();
      const common = slow.twilio.common(sid, 'client:alice', '911');
      const answer = await slow.twilio.post('/voice/incoming', common);
      expect(answer.heard?.dial?.number).toBe('911');
      // The dial failed at once (say 911 is not enabled on the number): both callbacks follow.
      expect((await slow.twilio.post('/voice/dial-complete', { ...common, CallStatus: 'in-progress', DialCallStatus: 'failed' })).heard?.hangup).toBe(true);
      expect((await slow.twilio.post('/voice/status', { ...common, CallStatus: 'completed', CallDuration: '2' })).status).toBe(200);
      expect((await stores.calls.get(sid))?.state).toMatchObject({ destinationClass: 'emergency', codeStatus: 'exempt', outcome: 'failed', durationS: 2 });

      released = true;
      release();
      await until('the held write to settle and the call to be read again', 30_000, () => (heldSettled && readsAfterRelease > 0 ? true : undefined));
      const raised = await until('the emergency alert', 30_000, async () => {
        const mine = (await alerts()).filter((a) => a.callSid === sid);
        return mine.length > 0 ? mine : undefined;
      });
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({ kind: 'emergency', account: 'acme', destination: '911' });
    } finally {
      release();
      await slow.close();
    }
  });
});
