/**
 * docs/call-flow.md "Rules for every webhook" and §10 end to end through the local stack's HTTP server:
 * signatures, refusals, Twilio's retries, callbacks in either order, lockout across calls, the
 * fallback route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePrompts, type Prompts } from '../../functions/core/prompts.ts';
import type { CallState } from '../../functions/core/callflow.ts';
import { newCallSid } from './support/voice.ts';
import { newAccountSid, startE2eStack, until, type AccountFixture, type E2eStack } from './support/e2e-stack.ts';
import type { FakeTwilio, Reply } from './support/twilio.ts';

const LONDON = '+442079460018';
const NEW_YORK = '+12125550100';

let e2e: E2eStack;
let acme: AccountFixture;
let guarded: AccountFixture;
let twilio: FakeTwilio;
let P: Prompts;

beforeAll(async () => {
  e2e = await startE2eStack();
  acme = await e2e.addAccount('acme', {
    settings: {
      callerId: '+14155550100',
      calls: { default: 'free', international: 'required' },
      lockout: { failures: 100, windowMinutes: 15, lockMinutes: 60 },
    },
    codes: [e2e.accountCode('0042', { description: 'Smith v Jones' })],
  });
  guarded = await e2e.addAccount('guarded', {
    settings: {
      homeCountry: 'US',
      timeZone: 'America/Denver',
      callerId: '+17205550100',
      maxAttempts: 3,
      calls: { default: 'free', international: 'required', directory: 'optional' },
      lockout: { failures: 5, windowMinutes: 15, lockMinutes: 60 },
    },
    codes: [e2e.accountCode('0042', { description: 'General' })],
  });
  twilio = acme.twilio;
  P = resolvePrompts(acme.settings.prompts, acme.settings.codeLength);
});

afterAll(async () => {
  await e2e?.close();
});

function expectPlainRefusal(reply: Reply, status: number): void {
  expect(reply.status, reply.body).toBe(status);
  expect(reply.contentType).toMatch(/^text\/plain\b/);
  expect(reply.body).not.toContain('<Response');
}

/** Start a required call and leave it at its first prompt. */
async function callAtPrompt(fixture: AccountFixture = acme, from = 'client:alice'): Promise<{ sid: string; common: Record<string, string> }> {
  const sid = newCallSid();
  const common = fixture.twilio.common(sid, from, LONDON);
  const first = await fixture.twilio.post('/voice/incoming', common);
  expect(first.heard?.gather?.prompt).toBe(P.accountCode);
  return { sid, common };
}

describe('signatures and refusals (docs/call-flow.md)', () => {
  it('refuses a request signed with the wrong token with 403 plain text, and stores nothing', async () => {
    const sid = newCallSid();
    const reply = await twilio.post('/voice/incoming', twilio.common(sid, 'client:alice', LONDON), { token: 'not-the-token' });
    expectPlainRefusal(reply, 403);
    expect(reply.body).toMatch(/signature/i);
    expect(await e2e.record(sid)).toBeUndefined();
  });

  it('refuses a request without X-Twilio-Signature with 403, and stores nothing', async () => {
    const sid = newCallSid();
    expectPlainRefusal(await twilio.post('/voice/incoming', twilio.common(sid, 'client:alice', LONDON), { signature: null }), 403);
    expect(await e2e.record(sid)).toBeUndefined();
  });

  it('refuses a signature made for another URL or over other fields', async () => {
    const sid = newCallSid();
    const params = twilio.common(sid, 'client:alice', LONDON);
    // Signed for the address the server listens on rather than the public URL Twilio calls.
    expectPlainRefusal(await twilio.post('/voice/incoming', params, { signedUrl: `${e2e.stack.httpUrl}/voice/incoming` }), 403);
    const tampered = twilio.prepare('/voice/incoming', { ...params, To: NEW_YORK });
    expectPlainRefusal(await twilio.send({ ...tampered, body: new URLSearchParams(params).toString() }), 403);
    expect(await e2e.record(sid)).toBeUndefined();
  });

  it('refuses a correctly signed request from an Account SID no account lists with 403', async () => {
    const stranger = twilio.as(newAccountSid());
    const sid = newCallSid();
    const reply = await stranger.post('/voice/incoming', stranger.common(sid, 'client:alice', LONDON));
    expectPlainRefusal(reply, 403);
    expect(reply.body).toMatch(/account/i);
    expect(await e2e.record(sid)).toBeUndefined();
  });

  it('still dials 911 for a request it cannot verify, and raises an unverified emergency alert', async () => {
    const sid = newCallSid();
    const reply = await twilio.post('/voice/incoming', twilio.common(sid, 'client:alice', '911'), { signature: null });
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^text\/xml\b/);
    expect(reply.heard?.dial?.number).toBe('911');
    const alert = await until('the emergency alert', 30_000, async () => (await e2e.alerts()).find((a) => a.callSid === sid));
    // The caller ID the dial carried (the account's, from settings in memory, or the deployment's), never the unverified From.
    expect(alert).toMatchObject({ kind: 'emergency', verified: false, destination: '911', user: 'client:alice' });
    expect(alert?.callerId).toBe(reply.heard?.dial?.callerId);
  });

  it('verifies a query string with an apostrophe against the raw query as received (twilio-node issue 1183)', async () => {
    for (const [query, wire] of [
      ["step=1&x=O'Brien", 'raw'],
      ['step=1&x=O%27Brien', 'fetch'],
    ] as const) {
      const { sid, common } = await callAtPrompt();
      const reply = await twilio.post(`/voice/code?${query}`, { ...common, CallStatus: 'in-progress', Digits: '0042', FinishedOnKey: '#' }, { wire });
      expect(reply.status, `${query}: ${reply.body}`).toBe(200);
      expect(reply.heard?.dial?.number).toBe(LONDON);
      expect(await e2e.record(sid)).toMatchObject({ codeStatus: 'valid', step: 1, attempts: 1 });
    }
  });

  it('answers 404 for unknown paths, 405 for GET, 413 for a body over 64 KB and 400 for a missing CallSid', async () => {
    const sid = newCallSid();
    expectPlainRefusal(await twilio.post('/voice/nowhere', twilio.common(sid, 'client:alice', LONDON)), 404);
    expectPlainRefusal(await twilio.post('/elsewhere', twilio.common(sid, 'client:alice', LONDON)), 404);

    const get = await fetch(`${e2e.stack.httpUrl}/voice/incoming`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(get.headers.get('content-type')).toMatch(/^text\/plain\b/);

    const big = await twilio.post('/voice/incoming', { ...twilio.common(sid, 'client:alice', LONDON), Padding: 'x'.repeat(70 * 1024) });
    expectPlainRefusal(big, 413);

    const { CallSid: _dropped, ...noSid } = twilio.common(sid, 'client:alice', LONDON);
    const missing = await twilio.post('/voice/incoming', noSid);
    expectPlainRefusal(missing, 400);
    expect(missing.body).toMatch(/CallSid/);

    const { common } = await callAtPrompt();
    expectPlainRefusal(await twilio.post('/voice/code?step=first', { ...common, Digits: '0042' }), 400);
    expect(await e2e.record(sid)).toBeUndefined();
  });

  it('answers the health check with the public URL', async () => {
    const res = await fetch(`${e2e.stack.httpUrl}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', publicUrl: e2e.stack.publicUrl, accounts: expect.arrayContaining(['acme', 'guarded']) });
  });
});

describe("Twilio's retries (docs/call-flow.md idempotent)", () => {
  it('answers the same code step delivered twice with the same TwiML and counts the attempt once', async () => {
    const { sid, common } = await callAtPrompt(acme, 'client:retry-1');
    const wrong = twilio.prepare(`${e2e.stack.publicUrl}/voice/code?step=1`, { ...common, CallStatus: 'in-progress', Digits: '9999', FinishedOnKey: '#' });
    const first = await twilio.send(wrong);
    const again = await twilio.send(wrong);
    expect(first.status).toBe(200);
    expect(again.body).toBe(first.body);
    expect(first.heard?.gather?.prompt).toBe(`${P.invalidCode} ${P.accountCode}`);
    expect(await e2e.record(sid)).toMatchObject({ step: 1, attempts: 1, phase: 'prompting' });
    expect(await e2e.stores.lockouts.get('acme', 'client:retry-1')).toMatchObject({ failures: 1 });

    const right = twilio.prepare(`${e2e.stack.publicUrl}/voice/code?step=2`, { ...common, CallStatus: 'in-progress', Digits: '0042', FinishedOnKey: '#' });
    const dial = await twilio.send(right);
    expect((await twilio.send(right)).body).toBe(dial.body);
    expect(dial.heard?.dial?.number).toBe(LONDON);
    // A late retry of the earlier step replays what the call says now, and changes nothing.
    expect((await twilio.send(wrong)).heard?.dial?.number).toBe(LONDON);
    expect(await e2e.record(sid)).toMatchObject({ step: 2, attempts: 2, codeStatus: 'valid', code: '0042' });
    expect(await e2e.stores.lockouts.get('acme', 'client:retry-1')).toMatchObject({ failures: 1 });
  });

  it('answers the same code step delivered several times at once with one TwiML and counts it once', async () => {
    const { sid, common } = await callAtPrompt(acme, 'client:retry-2');
    const wrong = twilio.prepare('/voice/code?step=1', { ...common, CallStatus: 'in-progress', Digits: '9999', FinishedOnKey: '#' });
    const replies = await Promise.all(Array.from({ length: 5 }, () => twilio.send(wrong)));
    expect(new Set(replies.map((r) => `${r.status} ${r.body}`)).size).toBe(1);
    expect(replies[0]?.heard?.gather?.action).toBe(`${e2e.stack.publicUrl}/voice/code?step=2`);
    expect(await e2e.record(sid)).toMatchObject({ step: 1, attempts: 1 });
    expect(await e2e.stores.lockouts.get('acme', 'client:retry-2')).toMatchObject({ failures: 1 });

    const right = twilio.prepare('/voice/code?step=2', { ...common, CallStatus: 'in-progress', Digits: '0042', FinishedOnKey: '#' });
    const dials = await Promise.all(Array.from({ length: 5 }, () => twilio.send(right)));
    expect(new Set(dials.map((r) => r.body)).size).toBe(1);
    expect(dials[0]?.heard?.dial?.number).toBe(LONDON);
    expect(await e2e.record(sid)).toMatchObject({ step: 2, attempts: 2, codeStatus: 'valid' });
  });

  it('answers a repeated first webhook with the same prompt and starts the call once', async () => {
    const sid = newCallSid();
    const incoming = twilio.prepare('/voice/incoming', twilio.common(sid, 'client:alice', LONDON));
    const replies = await Promise.all([twilio.send(incoming), twilio.send(incoming), twilio.send(incoming)]);
    expect(new Set(replies.map((r) => r.body)).size).toBe(1);
    expect(replies[0]?.heard?.gather?.action).toBe(`${e2e.stack.publicUrl}/voice/code?step=1`);
    expect(await e2e.record(sid)).toMatchObject({ step: 0, attempts: 0, phase: 'prompting' });
  });
});

describe('one usage record per call, whatever order the callbacks arrive in (docs/call-flow.md, docs/data-model.md)', () => {
  const since = new Date(Date.now() - 60_000);

  async function onlyRecord(sid: string): Promise<CallState> {
    const mine = (await e2e.records('acme', since)).filter((r) => r.callSid === sid);
    expect(mine).toHaveLength(1);
    return mine[0] as CallState;
  }

  for (const order of ['dial-first', 'status-first', 'together'] as const) {
    it(`completes an answered call once with the dial result and the status callback (${order})`, async () => {
      const run = await twilio.call({ from: 'client:alice', to: LONDON, keys: ['0042#'], answer: { status: 'completed', talkS: 95 }, callDuration: 104, order });
      expect(run.dialComplete?.heard?.hangup).toBe(true);
      expect(run.statusReply.status).toBe(200);
      expect(run.statusReply.body).toMatch(/<Response\/>$/);
      expect(await onlyRecord(run.callSid)).toMatchObject({
        outcome: 'completed',
        talkS: 95,
        durationS: 104,
        codeStatus: 'valid',
        attempts: 1,
        dialCompleted: true,
        statusReceived: true,
      });
    });

    it(`records a busy dialled party as busy, not completed (${order})`, async () => {
      const run = await twilio.call({ from: 'client:alice', to: NEW_YORK, answer: { status: 'busy' }, callDuration: 12, order });
      expect(await onlyRecord(run.callSid)).toMatchObject({ outcome: 'busy', talkS: 0, durationS: 12, codeStatus: 'none' });
    });
  }

  it('records a caller who hangs up at the prompt as abandoned', async () => {
    const run = await twilio.call({ from: 'client:alice', to: LONDON, keys: [], callDuration: 5 });
    expect(run.abandoned).toBe(true);
    expect(run.dialComplete).toBeUndefined();
    expect(await onlyRecord(run.callSid)).toMatchObject({ outcome: 'abandoned', codeStatus: 'none', attempts: 0, talkS: 0, durationS: 5, statusReceived: true });
  });

  it('records a caller who hangs up at the retry prompt as abandoned, with the attempt made', async () => {
    const run = await twilio.call({ from: 'client:alice', to: LONDON, keys: ['9999#'], callDuration: 9 });
    expect(await onlyRecord(run.callSid)).toMatchObject({ outcome: 'abandoned', attempts: 1, durationS: 9 });
  });

  it('keeps the first status when Twilio repeats the status callback', async () => {
    const run = await twilio.call({ from: 'client:alice', to: NEW_YORK, answer: { status: 'completed', talkS: 20 }, callDuration: 25 });
    const repeat = await twilio.post('/voice/status', { ...twilio.common(run.callSid, 'client:alice', NEW_YORK), CallStatus: 'completed', CallDuration: '999' });
    expect(repeat.status).toBe(200);
    expect(await onlyRecord(run.callSid)).toMatchObject({ outcome: 'completed', talkS: 20, durationS: 25 });
  });
});

describe('lockout across calls (docs/call-flow.md)', () => {
  const user = 'client:mallory';
  const GP = () => resolvePrompts(guarded.settings.prompts, guarded.settings.codeLength);

  it('locks code entry after lockout.failures wrong codes over several calls, alerts, and lets emergency and free calls through', async () => {
    const since = new Date(Date.now() - 60_000);
    // Three wrong codes: the call hangs up; two failures short of the lock.
    const first = await guarded.twilio.call({ from: user, to: LONDON, keys: ['1111#', '2222#', '3333#'] });
    expect(first.hungUp).toBe(true);
    expect(await e2e.record(first.callSid)).toMatchObject({ outcome: 'blocked', codeStatus: 'invalid', attempts: 3 });

    // The fifth wrong code locks: the caller hears it and the call ends.
    const second = await guarded.twilio.call({ from: user, to: LONDON, keys: ['4444#', '5555#', '0042#'] });
    expect(second.heard).toHaveLength(3);
    expect(second.heard.at(-1)).toEqual({ says: [GP().lockedOut], hangup: true });
    expect(await e2e.record(second.callSid)).toMatchObject({ codeStatus: 'locked-out', outcome: 'blocked', attempts: 2 });
    const lockAlert = await until('the lockout alert', 30_000, async () => (await e2e.alerts()).find((a) => a.kind === 'lockout' && a.callSid === second.callSid));
    expect(lockAlert).toMatchObject({ account: 'guarded', user, verified: true });
    expect(JSON.stringify(lockAlert)).not.toMatch(/5555|4444/);

    // The next call that needs a code hears it at once, even with the right code ready.
    const third = await guarded.twilio.call({ from: user, to: LONDON, keys: ['0042#'] });
    expect(third.heard).toEqual([{ says: [GP().lockedOut], hangup: true }]);
    expect(await e2e.record(third.callSid)).toMatchObject({ codeStatus: 'locked-out', outcome: 'blocked', attempts: 0 });

    // An optional call goes through untagged.
    const optional = await guarded.twilio.call({ from: user, to: '411' });
    expect(optional.dial?.number).toBe('411');
    expect(await e2e.record(optional.callSid)).toMatchObject({ codeStatus: 'locked-out', outcome: 'completed' });

    // Emergency and free calls still work.
    const emergency = await guarded.twilio.call({ from: user, to: '911' });
    expect(emergency.heard).toHaveLength(1);
    expect(emergency.dial).toMatchObject({ number: '911', callerId: '+17205550100' });
    const free = await guarded.twilio.call({ from: user, to: NEW_YORK });
    expect(free.dial?.number).toBe(NEW_YORK);
    expect(await e2e.record(free.callSid)).toMatchObject({ codeStatus: 'none', outcome: 'completed' });
    const emergencyRecord = await until('the emergency record', 30_000, async () => {
      const r = await e2e.record(emergency.callSid);
      return r?.outcome === undefined ? undefined : r;
    });
    expect(emergencyRecord).toMatchObject({ destinationClass: 'emergency', codeStatus: 'exempt', outcome: 'completed' });
    const emergencyAlert = await until('the emergency alert', 30_000, async () => (await e2e.alerts()).find((a) => a.kind === 'emergency' && a.callSid === emergency.callSid));
    expect(emergencyAlert).toMatchObject({ account: 'guarded', user, destination: '911', verified: true });

    // Another user of the account is not affected.
    const other = await guarded.twilio.call({ from: 'client:nina', to: LONDON, keys: ['0042#'] });
    expect(other.dial?.number).toBe(LONDON);

    // Every one of those calls has exactly one usage record.
    const sids = [first, second, third, optional, emergency, free, other].map((r) => r.callSid);
    const records = (await e2e.records('guarded', since)).filter((r) => sids.includes(r.callSid));
    expect(records.map((r) => r.callSid).sort()).toEqual([...sids].sort());
  });
});

describe('lockout under parallel calls (docs/call-flow.md)', () => {
  // Each failure is counted against the record as stored (a conditional write, retried on
  // conflict); an unconditional write of a count read earlier stored 18 failures in 6 parallel
  // calls as 4, and the lock never came — a brute-force route.
  it('counts every wrong code typed in parallel calls of one user toward the lock', async () => {
    const parallel = await e2e.addAccount('parallel', {
      settings: { homeCountry: 'US', timeZone: 'UTC', calls: { default: 'required' }, lockout: { failures: 10, windowMinutes: 15, lockMinutes: 60 } },
    });
    await Promise.all(Array.from({ length: 6 }, () => parallel.twilio.call({ from: 'client:brute', to: NEW_YORK, keys: ['1111#', '2222#', '3333#'] })));
    const next = await parallel.twilio.call({ from: 'client:brute', to: NEW_YORK, keys: ['0042#'] });
    expect(next.heard[0]?.says).toEqual([resolvePrompts(parallel.settings.prompts, parallel.settings.codeLength).lockedOut]);
  });
});

describe('the fallback URL (docs/call-flow.md)', () => {
  it('dials emergency numbers and apologises and hangs up for anything else', async () => {
    const sid = newCallSid();
    const emergency = await twilio.post('/voice/fallback', { ...twilio.common(sid, 'client:alice', '911'), ErrorCode: '11200' });
    expect(emergency.status).toBe(200);
    expect(emergency.contentType).toMatch(/^text\/xml\b/);
    expect(emergency.heard?.dial?.number).toBe('911');
    const other = await twilio.post('/voice/fallback', { ...twilio.common(newCallSid(), 'client:alice', LONDON), ErrorCode: '11200' });
    expect(other.heard).toEqual({ says: [P.error], hangup: true });
  });
});
