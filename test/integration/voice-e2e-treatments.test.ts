/**
 * docs/settings.md, docs/call-flow.md end to end: calls placed through the local stack's HTTP server as Twilio
 * places them (signed form posts, the TwiML followed), and the usage record each one leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePrompts, type Prompts } from '../../functions/core/prompts.ts';
import type { CallState } from '../../functions/core/callflow.ts';
import { readTwiml } from '../../cli/twiml-reader.ts';
import { startE2eStack, until, type AccountFixture, type E2eStack } from './support/e2e-stack.ts';
import type { CallRun, CallScript } from './support/twilio.ts';

const SDK_APP = `AP${'5d'.repeat(16)}`;
const NO_CODES_APP = `AP${'c0'.repeat(16)}`;
const SIP = { SipDomain: 'acme.sip.twilio.com', SipDomainSid: `SD${'1'.repeat(32)}` };
const SDK = { ApplicationSid: SDK_APP };

const LONDON = '+442079460018';
const NEW_YORK = '+12125550100';
const PREMIUM = '+19005550100';

let e2e: E2eStack;
let acme: AccountFixture;
let lenient: AccountFixture;
let tracking: AccountFixture;
let P: Prompts;

beforeAll(async () => {
  e2e = await startE2eStack();
  acme = await e2e.addAccount('acme', {
    settings: {
      callerId: '+14155550100',
      codeLength: { min: 4, max: 6 },
      maxAttempts: 3,
      gatherTimeoutSeconds: 6,
      calls: { default: 'free', directory: 'optional', international: 'required', premium: 'authorized' },
      levels: { premium: 2 },
      groups: { staff: {}, partners: {}, interns: { calls: { international: 'blocked', premium: 'blocked' } } },
      defaultGroup: 'staff',
      entryPoints: {
        'acme.sip.twilio.com': { callerId: '+14155550111' },
        [NO_CODES_APP]: { codes: false },
        '+14155550100': { forwardTo: 'sip:reception@acme.sip.twilio.com' },
        '+14155550199': {},
      },
      // Lockout has its own suite; here no number of wrong codes locks anyone.
      lockout: { failures: 100, windowMinutes: 15, lockMinutes: 60 },
    },
    codes: [
      e2e.accountCode('0042', { description: 'Smith v Jones', callerIds: ['+12125550142'] }),
      e2e.accountCode('1111', { description: 'Old matter', expires: '2020-12-31' }),
      e2e.accountCode('2222', { description: 'Bob only', users: ['client:bob'] }),
      e2e.accountCode('3333', { description: 'Partners only', groups: ['partners'] }),
      e2e.accountCode('4444', { description: 'Disabled', enabled: false }),
      e2e.authorizationCode('acme', '778899', 2, { description: 'Finance desk' }),
      e2e.authorizationCode('acme', '5555', 1, { description: 'Front desk' }),
    ],
    users: [
      { id: 'client:alice', group: 'staff', callerId: '+14155550122' },
      { id: 'client:bob', group: 'staff' },
      { id: 'client:pat', group: 'partners' },
      { id: 'client:ivan', group: 'interns' },
      { id: 'sip:dave@acme.sip.twilio.com', group: 'staff', callerId: '+14155550133' },
    ],
  });
  lenient = await e2e.addAccount('lenient', {
    settings: {
      homeCountry: 'US',
      timeZone: 'America/Los_Angeles',
      callerId: '+13105550100',
      maxAttempts: 2,
      proceedAfterMaxAttempts: true,
      calls: { default: 'required', premium: 'authorized' },
    },
    codes: [e2e.accountCode('0042', { description: 'General' })],
  });
  tracking = await e2e.addAccount('tracking', {
    settings: {
      homeCountry: 'US',
      timeZone: 'America/Chicago',
      callerId: '+13125550100',
      codeLength: { min: 4, max: 4 },
      validate: false,
      calls: { default: 'required', directory: 'optional', premium: 'authorized' },
    },
    codes: [e2e.authorizationCode('tracking', '7788', 0, { description: 'Premium line' })],
  });
  P = resolvePrompts(acme.settings.prompts, acme.settings.codeLength);
});

afterAll(async () => {
  await e2e?.close();
});

async function recordOf(run: CallRun): Promise<CallState> {
  const state = await e2e.record(run.callSid);
  if (state === undefined) throw new Error(`no usage record for ${run.callSid}`);
  return state;
}

/** Every webhook of the call answered 200, TwiML as text/xml. */
function expectAllTwiml(run: CallRun): void {
  for (const reply of run.replies) {
    expect(reply.status, `${reply.path}: ${reply.body}`).toBe(200);
    expect(reply.contentType).toMatch(/^text\/xml\b/);
    expect(reply.body).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?><Response/);
  }
}

const call = (fixture: AccountFixture, script: CallScript) => fixture.twilio.call(script);

describe('docs/settings.md treatments, through the local stack', () => {
  it('free: dials at once with the account caller ID, and records no code, the talk time and the call duration', async () => {
    const run = await call(acme, { from: 'client:guest', to: NEW_YORK, extra: SDK, answer: { status: 'completed', talkS: 125 }, callDuration: 140 });
    expectAllTwiml(run);
    expect(run.heard).toHaveLength(1);
    expect(run.says).toEqual([]);
    expect(run.dial).toEqual({ number: NEW_YORK, callerId: '+14155550100', action: `${e2e.stack.publicUrl}/voice/dial-complete` });
    expect(run.replies[0]?.body).toContain('answerOnBridge="true"');
    expect(run.dialComplete?.heard?.hangup).toBe(true);
    const record = await recordOf(run);
    expect(record).toMatchObject({
      account: 'acme',
      direction: 'outbound',
      user: 'client:guest',
      caller: 'client:guest',
      destination: NEW_YORK,
      destinationClass: 'national',
      treatment: 'free',
      codeStatus: 'none',
      attempts: 0,
      outcome: 'completed',
      talkS: 125,
      durationS: 140,
      entryPoint: SDK_APP,
    });
    expect(record).not.toHaveProperty('code');
    expect(record).not.toHaveProperty('codeKind');
  });

  it('optional: prompts "or press # to continue" and dials tagged with a valid code', async () => {
    const run = await call(acme, { from: 'client:alice', to: '411', extra: SDK, keys: ['0042#'] });
    expectAllTwiml(run);
    const [prompt] = readTwiml(run.replies[0]?.body ?? '');
    expect(prompt).toMatchObject({
      verb: 'Gather',
      action: `${e2e.stack.publicUrl}/voice/code?step=1`,
      finishOnKey: '#',
      timeout: 6,
      actionOnEmptyResult: true,
      numDigits: undefined,
      prompts: [{ verb: 'Say', text: P.optionalCode }],
    });
    expect(P.optionalCode).toMatch(/press pound now to continue/);
    expect(run.replies[0]?.body).toContain('input="dtmf"');
    expect(run.dial).toMatchObject({ number: '411', callerId: '+14155550122' });
    expect(await recordOf(run)).toMatchObject({
      destinationClass: 'directory',
      treatment: 'optional',
      codeStatus: 'valid',
      code: '0042',
      codeDescription: 'Smith v Jones',
      codeKind: 'account',
      attempts: 1,
      outcome: 'completed',
      talkS: 30,
      durationS: 40,
    });
  });

  it('optional: a lone # dials untagged and records skipped', async () => {
    const run = await call(acme, { from: 'client:alice', to: '411', extra: SDK, keys: ['#'] });
    expectAllTwiml(run);
    expect(run.says).toEqual([P.optionalCode]);
    expect(run.dial?.number).toBe('411');
    const record = await recordOf(run);
    expect(record).toMatchObject({ codeStatus: 'skipped', attempts: 1, outcome: 'completed' });
    expect(record).not.toHaveProperty('code');
  });

  it('optional: silence (the Gather times out) dials untagged and records skipped', async () => {
    const run = await call(acme, { from: 'client:alice', to: '411', extra: SDK, keys: [''] });
    expect(run.dial?.number).toBe('411');
    const record = await recordOf(run);
    expect(record).toMatchObject({ codeStatus: 'skipped', attempts: 1, outcome: 'completed' });
    expect(record).not.toHaveProperty('code');
  });

  it('optional: after the last failed attempt it dials untagged and records invalid', async () => {
    const run = await call(acme, { from: 'client:alice', to: '411', extra: SDK, keys: ['9999#', '9998#', '9997#'] });
    expectAllTwiml(run);
    expect(run.heard.map((h) => h.gather?.action.replace(e2e.stack.publicUrl, ''))).toEqual(['/voice/code?step=1', '/voice/code?step=2', '/voice/code?step=3', undefined]);
    expect(run.heard[1]?.says).toEqual([`${P.invalidCode} ${P.optionalCode}`]);
    expect(run.dial?.number).toBe('411');
    const record = await recordOf(run);
    expect(record).toMatchObject({ codeStatus: 'invalid', attempts: 3, outcome: 'completed' });
    expect(record).not.toHaveProperty('code');
  });

  it('required: dials tagged with a valid code', async () => {
    const run = await call(acme, { from: 'client:alice', to: LONDON, extra: SDK, keys: ['0042#'], answer: { status: 'completed', talkS: 61 }, callDuration: 75 });
    expectAllTwiml(run);
    expect(run.heard[0]?.gather?.prompt).toBe(P.accountCode);
    expect(run.dial).toMatchObject({ number: LONDON, callerId: '+14155550122' });
    expect(await recordOf(run)).toMatchObject({
      destinationClass: 'international',
      treatment: 'required',
      codeStatus: 'valid',
      code: '0042',
      codeDescription: 'Smith v Jones',
      codeKind: 'account',
      attempts: 1,
      outcome: 'completed',
      talkS: 61,
      durationS: 75,
    });
  });

  it('required: re-prompts after a lone # (a failed attempt), then dials on a valid code', async () => {
    const run = await call(acme, { from: 'client:alice', to: LONDON, extra: SDK, keys: ['#', '0042#'] });
    // A lone # entered nothing: the caller is told so, not that a code was refused.
    expect(run.heard[1]?.gather?.prompt).toBe(`${P.noCode} ${P.accountCode}`);
    expect(run.dial?.number).toBe(LONDON);
    expect(await recordOf(run)).toMatchObject({ codeStatus: 'valid', code: '0042', attempts: 2, outcome: 'completed' });
  });

  it('required: re-prompts after a wrong code, then dials on the right one', async () => {
    const run = await call(acme, { from: 'client:alice', to: LONDON, extra: SDK, keys: ['9999#', '0042#'] });
    expect(run.says).toEqual([P.accountCode, `${P.invalidCode} ${P.accountCode}`]);
    expect(run.dial?.number).toBe(LONDON);
    expect(await recordOf(run)).toMatchObject({ codeStatus: 'valid', code: '0042', attempts: 2 });
  });

  it('required: hangs up after the third failure (silence counts) and records blocked', async () => {
    const run = await call(acme, { from: 'client:alice', to: LONDON, extra: SDK, keys: ['9999#', '', '12345#'], callDuration: 33 });
    expectAllTwiml(run);
    expect(run.dial).toBeUndefined();
    expect(run.dialComplete).toBeUndefined();
    expect(run.hungUp).toBe(true);
    expect(run.heard.at(-1)?.says).toEqual([P.tooManyAttempts]);
    const record = await recordOf(run);
    expect(record).toMatchObject({ treatment: 'required', codeStatus: 'invalid', attempts: 3, outcome: 'blocked', talkS: 0, durationS: 33 });
    expect(record).not.toHaveProperty('code');
  });

  it('required with proceedAfterMaxAttempts: dials untagged after the last failure and records invalid', async () => {
    const run = await call(lenient, { from: 'client:lee', to: NEW_YORK, keys: ['9999#', '8888#'] });
    expectAllTwiml(run);
    expect(run.heard).toHaveLength(3);
    expect(run.dial).toMatchObject({ number: NEW_YORK, callerId: '+13105550100' });
    const record = await recordOf(run);
    expect(record).toMatchObject({ treatment: 'required', codeStatus: 'invalid', attempts: 2, outcome: 'completed' });
    expect(record).not.toHaveProperty('code');
  });

  it('authorized: dials tagged with the code description, and the digits are stored nowhere', async () => {
    const run = await call(acme, { from: 'client:alice', to: PREMIUM, extra: SDK, keys: ['778899#'] });
    expectAllTwiml(run);
    expect(run.heard[0]?.gather?.prompt).toBe(P.authorizationCode);
    expect(run.dial).toMatchObject({ number: PREMIUM });
    const record = await recordOf(run);
    expect(record).toMatchObject({
      destinationClass: 'premium',
      treatment: 'authorized',
      codeStatus: 'valid',
      codeKind: 'authorization',
      codeDescription: 'Finance desk',
      codeRef: expect.stringMatching(/^[0-9a-f]{8}$/),
      attempts: 1,
      outcome: 'completed',
    });
    expect(record).not.toHaveProperty('code');
    expect(JSON.stringify(await e2e.stores.calls.get(run.callSid))).not.toContain('778899');
  });

  it('authorized: a lone # and silence count as failed attempts', async () => {
    const run = await call(acme, { from: 'client:alice', to: PREMIUM, extra: SDK, keys: ['#', '', '778899#'] });
    expect(run.heard.slice(1, 3).map((h) => h.gather?.prompt)).toEqual([`${P.noCode} ${P.authorizationCode}`, `${P.noCode} ${P.authorizationCode}`]);
    expect(run.dial?.number).toBe(PREMIUM);
    expect(await recordOf(run)).toMatchObject({ codeStatus: 'valid', codeKind: 'authorization', attempts: 3 });
  });

  it('authorized: never proceeds after the last failure, even where required calls do', async () => {
    const run = await call(lenient, { from: 'client:lee', to: PREMIUM, keys: ['0042#', '9999#'] });
    expect(run.dial).toBeUndefined();
    expect(run.hungUp).toBe(true);
    expect(await recordOf(run)).toMatchObject({ treatment: 'authorized', codeStatus: 'invalid', attempts: 2, outcome: 'blocked' });
  });

  it('blocked: says "not permitted", hangs up, and records not-permitted', async () => {
    const run = await call(acme, { from: 'client:ivan', to: LONDON, extra: SDK, callDuration: 4 });
    expectAllTwiml(run);
    expect(run.heard).toHaveLength(1);
    expect(run.heard[0]).toEqual({ says: [P.notPermitted], hangup: true });
    expect(await recordOf(run)).toMatchObject({ treatment: 'blocked', codeStatus: 'none', attempts: 0, outcome: 'not-permitted', talkS: 0, durationS: 4 });
  });
});

describe('docs/settings.md emergency calls', () => {
  it('dials emergency numbers at once, in any form, for a caller whose calls all need a code', async () => {
    for (const to of ['911', '112', 'sip:911@acme.sip.twilio.com']) {
      const run = await call(lenient, { from: 'client:lee', to });
      expectAllTwiml(run);
      expect(run.heard, to).toHaveLength(1);
      expect(run.says, to).toEqual([]);
      expect(run.dial, to).toMatchObject({ number: to.startsWith('sip:') ? '911' : to, callerId: '+13105550100' });
      const record = await until(`the record of ${to}`, 5_000, async () => {
        const state = await e2e.record(run.callSid);
        return state?.outcome === undefined ? undefined : state;
      });
      expect(record, to).toMatchObject({ destinationClass: 'emergency', treatment: 'free', codeStatus: 'exempt', attempts: 0, outcome: 'completed' });
    }
  });

  it('dials 911 for a user whose international calls are blocked', async () => {
    const run = await call(acme, { from: 'client:ivan', to: '911', extra: SDK });
    expect(run.dial).toMatchObject({ number: '911', callerId: '+14155550100' });
  });
});

describe('docs/call-flow.md code checks', () => {
  /** The words after one wrong entry of `keys` on a call that needs a code. */
  async function refusal(from: string, to: string, keys: string): Promise<{ says: readonly string[]; record: CallState }> {
    const run = await call(acme, { from, to, extra: SDK, keys: [keys] });
    expect(run.abandoned).toBe(true);
    return { says: run.heard[1]?.says ?? [], record: await recordOf(run) };
  }

  it('refuses expired, disabled, other users’ and other groups’ codes, and an authorization code at an account prompt, in the words it uses for no code at all', async () => {
    const notFound = await refusal('client:alice', LONDON, '9999#');
    expect(notFound.says).toEqual([`${P.invalidCode} ${P.accountCode}`]);
    for (const keys of ['1111#', '4444#', '2222#', '3333#', '778899#']) {
      const refused = await refusal('client:alice', LONDON, keys);
      expect(refused.says, keys).toEqual(notFound.says);
      // Hung up at the second prompt: abandoned, one failed attempt, no tag.
      expect(refused.record, keys).toMatchObject({ codeStatus: 'none', attempts: 1, outcome: 'abandoned' });
      expect(refused.record).not.toHaveProperty('code');
    }
  });

  it('accepts a code restricted to users or groups for the user and the group it names', async () => {
    const bob = await call(acme, { from: 'client:bob', to: LONDON, extra: SDK, keys: ['2222#'] });
    expect(await recordOf(bob)).toMatchObject({ codeStatus: 'valid', code: '2222', codeDescription: 'Bob only' });
    const pat = await call(acme, { from: 'client:pat', to: LONDON, extra: SDK, keys: ['3333#'] });
    expect(await recordOf(pat)).toMatchObject({ codeStatus: 'valid', code: '3333', codeDescription: 'Partners only' });
  });

  it('refuses an account code and a code below the class level at an authorization prompt, in the same words', async () => {
    const notFound = await refusal('client:alice', PREMIUM, '9999#');
    expect(notFound.says).toEqual([`${P.invalidCode} ${P.authorizationCode}`]);
    for (const keys of ['0042#', '5555#']) {
      const refused = await refusal('client:alice', PREMIUM, keys);
      expect(refused.says, keys).toEqual(notFound.says);
      expect(refused.record, keys).toMatchObject({ codeStatus: 'none', attempts: 1 });
    }
  });

  it('with validate false accepts any code of the right length (unvalidated), asks for a fixed length with numDigits, and still counts a short one as a failure', async () => {
    const run = await call(tracking, { from: 'client:tess', to: NEW_YORK, keys: ['12#', '9876'] });
    expectAllTwiml(run);
    expect(run.heard[0]?.gather?.numDigits).toBe('4');
    expect(run.heard[0]?.gather?.prompt).toBe('Please enter your 4 digit account code, then press pound.');
    expect(run.heard[1]?.says[0]).toMatch(/^That code was not accepted/);
    expect(run.dial).toMatchObject({ number: NEW_YORK, callerId: '+13125550100' });
    expect(await recordOf(run)).toMatchObject({ codeStatus: 'unvalidated', code: '9876', codeKind: 'account', attempts: 2, outcome: 'completed' });
  });

  it('with validate false still checks authorization codes', async () => {
    const run = await call(tracking, { from: 'client:tess', to: PREMIUM, keys: ['9876', '7788'] });
    expect(run.heard[1]?.says[0]).toMatch(/^That code was not accepted/);
    expect(run.dial?.number).toBe(PREMIUM);
    const record = await recordOf(run);
    expect(record).toMatchObject({ codeStatus: 'valid', codeKind: 'authorization', codeDescription: 'Premium line', attempts: 2 });
    expect(record).not.toHaveProperty('code');
  });

  it('dials at once through an entry point with codes false, where blocked stays blocked', async () => {
    const free = await call(acme, { from: 'client:alice', to: LONDON, extra: { ApplicationSid: NO_CODES_APP } });
    expect(free.heard).toHaveLength(1);
    expect(free.dial?.number).toBe(LONDON);
    expect(await recordOf(free)).toMatchObject({ treatment: 'free', codeStatus: 'none', attempts: 0, entryPoint: NO_CODES_APP, outcome: 'completed' });
    const blocked = await call(acme, { from: 'client:ivan', to: LONDON, extra: { ApplicationSid: NO_CODES_APP } });
    expect(blocked.heard[0]).toEqual({ says: [P.notPermitted], hangup: true });
    expect(await recordOf(blocked)).toMatchObject({ outcome: 'not-permitted', entryPoint: NO_CODES_APP });
  });

  it("presents the user's caller ID, else the entry point's, else the account's", async () => {
    // Dave has his own; SIP domain calls arrive with the number in the INVITE URI.
    const dave = await call(acme, { from: 'sip:dave@acme.sip.twilio.com', to: 'sip:+12125550100@acme.sip.twilio.com', extra: SIP });
    expect(dave.dial).toMatchObject({ number: NEW_YORK, callerId: '+14155550133' });
    const guestSip = await call(acme, { from: 'sip:guest@acme.sip.twilio.com', to: 'sip:+12125550100@acme.sip.twilio.com', extra: SIP });
    expect(guestSip.dial).toMatchObject({ number: NEW_YORK, callerId: '+14155550111' });
    const guestSdk = await call(acme, { from: 'client:guest', to: NEW_YORK, extra: SDK });
    expect(guestSdk.dial).toMatchObject({ number: NEW_YORK, callerId: '+14155550100' });
    expect(await recordOf(dave)).toMatchObject({ user: 'sip:dave@acme.sip.twilio.com', entryPoint: 'acme.sip.twilio.com', destinationClass: 'national' });
  });

  it('dials other users of the account with <Client> and <Sip>, keeping the caller’s own caller ID', async () => {
    const client = await call(acme, { from: 'client:alice', to: 'client:bob', extra: SDK });
    expectAllTwiml(client);
    expect(client.dial).toEqual({ client: 'bob', action: `${e2e.stack.publicUrl}/voice/dial-complete` });
    expect(await recordOf(client)).toMatchObject({ destinationClass: 'internal', codeStatus: 'none', outcome: 'completed' });
    const sip = await call(acme, { from: 'sip:dave@acme.sip.twilio.com', to: 'sip:carol@acme.sip.twilio.com', extra: SIP });
    expect(sip.dial).toEqual({ sip: 'sip:carol@acme.sip.twilio.com', action: `${e2e.stack.publicUrl}/voice/dial-complete` });
    expect(await recordOf(sip)).toMatchObject({ destinationClass: 'internal', outcome: 'completed' });
  });
});

describe('docs/call-flow.md inbound calls', () => {
  it('tags a call from a number a code lists (caller-id) and forwards it without a prompt', async () => {
    const run = await call(acme, { from: '+12125550142', to: '+14155550100', answer: { status: 'completed', talkS: 300 }, callDuration: 310 });
    expectAllTwiml(run);
    expect(run.heard).toHaveLength(1);
    expect(run.says).toEqual([]);
    expect(run.dial).toEqual({ sip: 'sip:reception@acme.sip.twilio.com', action: `${e2e.stack.publicUrl}/voice/dial-complete` });
    expect(await recordOf(run)).toMatchObject({
      direction: 'inbound',
      entryPoint: '+14155550100',
      caller: '+12125550142',
      codeStatus: 'caller-id',
      code: '0042',
      codeDescription: 'Smith v Jones',
      codeKind: 'account',
      attempts: 0,
      outcome: 'completed',
      talkS: 300,
      durationS: 310,
    });
  });

  it('forwards a call from a number no code lists, untagged', async () => {
    const run = await call(acme, { from: '+13475550199', to: '+14155550100' });
    expect(run.dial?.sip).toBe('sip:reception@acme.sip.twilio.com');
    const record = await recordOf(run);
    expect(record).toMatchObject({ direction: 'inbound', codeStatus: 'none', outcome: 'completed' });
    expect(record).not.toHaveProperty('code');
  });

  it('tells a caller that an entry-point number without forwardTo takes no calls, and hangs up', async () => {
    const run = await call(acme, { from: '+13475550199', to: '+14155550199', callDuration: 3 });
    expectAllTwiml(run);
    expect(run.heard).toEqual([{ says: [P.noCalls], hangup: true }]);
    expect(await recordOf(run)).toMatchObject({ direction: 'inbound', entryPoint: '+14155550199', outcome: 'not-permitted', codeStatus: 'none', durationS: 3 });
  });
});
