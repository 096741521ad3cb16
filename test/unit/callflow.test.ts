import { describe, expect, it } from 'vitest';
import { CallFlowError, decide, dialTargetFor, errorActions, routeCall, type CallState, type Decision, type IncomingCall } from '../../functions/core/callflow.ts';
import { emergencyActions, emergencyNumberAnywhere, emergencyNumberFor } from '../../functions/core/emergency.ts';
import { checkCode, isCodeFormat, type CodeCheck, type StoredCode } from '../../functions/core/codes.ts';
import type { LockoutRecord } from '../../functions/core/lockout.ts';
import { DEFAULT_PROMPTS, resolvePrompts } from '../../functions/core/prompts.ts';
import type { Settings, SettingsInput, UserRecord } from '../../functions/core/settings.ts';
import type { Action, Outcome, Treatment } from '../../functions/core/types.ts';
import { EMERGENCY_CALLER_ID } from '../fixtures/twilio/forms.ts';
import { ACCOUNT_CODE, ALICE, AUTH_CODE, DOMAIN, later, NOW } from '../support/code-fixtures.ts';
import { testSettings } from '../support/settings.ts';

// ---------------------------------------------------------------------------------------
// Fixtures: one account, a fixed clock, a few callers, numbers and codes.

const SID = 'AC0123456789abcdef0123456789abcdef';
const MAIN_NUMBER = '+14155550100';
const LONDON = '+442071838750'; // international from a US account
const SF = '+14155550123'; // national

function settingsOf(patch: Partial<SettingsInput> = {}): Settings {
  return testSettings({ twilioAccountSids: [SID], callerId: MAIN_NUMBER, gatherTimeoutSeconds: 9, entryPoints: { [DOMAIN]: { codes: true } }, ...patch });
}

/** An account where every national and international call gets `treatment`. */
const withTreatment = (treatment: Treatment, patch: Partial<SettingsInput> = {}) => settingsOf({ calls: { default: treatment }, ...patch });

const AUTH_DIGITS = '918273';

interface StartOptions {
  readonly to?: string;
  readonly from?: string;
  readonly user?: UserRecord;
  readonly lockout?: LockoutRecord;
  readonly callerIdMatch?: StoredCode;
  readonly toIsUser?: boolean;
  readonly call?: Partial<IncomingCall>;
  readonly now?: Date;
}

function start(settings: Settings, options: StartOptions = {}): Decision {
  const call: IncomingCall = { callSid: 'CA0001', from: options.from ?? ALICE, to: options.to ?? LONDON, sipDomain: DOMAIN, ...options.call };
  return decide(
    undefined,
    {
      type: 'start',
      call,
      user: options.user,
      lockout: options.lockout,
      ...(options.callerIdMatch === undefined ? {} : { callerIdMatch: options.callerIdMatch }),
      ...(options.toIsUser === undefined ? {} : { toIsUser: options.toIsUser }),
      emergencyCallerId: EMERGENCY_CALLER_ID,
    },
    { settings, now: options.now ?? NOW },
  );
}

interface EnterOptions {
  readonly lookup?: StoredCode;
  readonly lockout?: LockoutRecord;
  readonly step?: number;
  readonly now?: Date;
}

/** The caller answers the outstanding gather of `d` with `digits`. */
function enter(settings: Settings, d: Decision | CallState, digits: string, options: EnterOptions = {}): Decision {
  const state = 'state' in d ? d.state : d;
  return decide(state, { type: 'code', step: options.step ?? state.step + 1, digits, lookup: options.lookup, lockout: options.lockout }, { settings, now: options.now ?? NOW });
}

/** Answer every gather with the same wrong digits until the call dials or hangs up. */
function failUntilEnd(settings: Settings, d: Decision, digits = '9999'): Decision {
  let current = d;
  for (let i = 0; i < 20 && current.state.phase === 'prompting'; i++) current = enter(settings, current, digits);
  return current;
}

const dialComplete = (state: CallState, dialCallStatus: string, dialCallDuration?: number, now = NOW) =>
  decide(state, { type: 'dial-complete', dialCallStatus, ...(dialCallDuration === undefined ? {} : { dialCallDuration }) }, { settings: settingsOf(), now });

const status = (state: CallState, callStatus: string, callDuration?: number, now = NOW) =>
  decide(state, { type: 'status', callStatus, ...(callDuration === undefined ? {} : { callDuration }) }, { settings: settingsOf(), now });

const prompts = resolvePrompts(undefined, { min: 4, max: 6 });
const HANGUP: Action = { type: 'hangup' };
const sayThenHangup = (text: string): Action[] => [{ type: 'say', text }, HANGUP];
/** A dial of a number, with the account's caller ID unless told otherwise (`null`: none). */
const dialOf = (number: string, callerId: string | null = MAIN_NUMBER): Action => ({
  type: 'dial',
  target: { kind: 'number', number },
  ...(callerId === null ? {} : { callerId }),
});

// ---------------------------------------------------------------------------------------

describe('call flow', () => {
  describe('the treatment table of docs/settings.md', () => {
    type Outcomeish = 'dial valid' | 'dial skipped' | 'dial invalid' | 'ask again' | 'hang up blocked' | '—';
    type Row = readonly [treatment: Treatment, prompt: string | undefined, onValid: Outcomeish, onSilence: Outcomeish, afterLast: Outcomeish];
    const rows: Row[] = [
      ['free', undefined, '—', '—', '—'],
      ['optional', prompts.optionalCode, 'dial valid', 'dial skipped', 'dial invalid'],
      ['required', prompts.accountCode, 'dial valid', 'ask again', 'hang up blocked'],
      ['authorized', prompts.authorizationCode, 'dial valid', 'ask again', 'hang up blocked'],
      ['blocked', undefined, '—', '—', '—'],
    ];
    const summary = (d: Decision): Outcomeish => {
      const last = d.actions.at(-1);
      if (last?.type === 'gather') return 'ask again';
      if (last?.type === 'hangup') return d.state.outcome === 'blocked' ? 'hang up blocked' : '—';
      return `dial ${d.state.codeStatus}` as Outcomeish;
    };

    it.each(rows)('%s: prompt %j, valid code → %s, # or silence → %s, last failed attempt → %s', (treatment, prompt, onValid, onSilence, afterLast) => {
      const settings = withTreatment(treatment);
      const first = start(settings);
      if (prompt === undefined) {
        expect(first.actions.some((a) => a.type === 'gather')).toBe(false);
        expect(first.actions.at(-1)?.type).toBe(treatment === 'free' ? 'dial' : 'hangup');
        if (treatment === 'blocked') expect(first.state.outcome).toBe('not-permitted');
        return;
      }
      expect(first.actions).toEqual([expect.objectContaining({ type: 'gather', prompt })]);
      const code = treatment === 'authorized' ? AUTH_CODE : ACCOUNT_CODE;
      const digits = treatment === 'authorized' ? AUTH_DIGITS : '0042';
      expect(summary(enter(settings, first, digits, { lookup: code }))).toBe(onValid);
      expect(summary(enter(settings, first, ''))).toBe(onSilence);
      expect(summary(failUntilEnd(settings, first))).toBe(afterLast);
    });

    it('required with proceedAfterMaxAttempts: the last failed attempt dials untagged', () => {
      const settings = withTreatment('required', { proceedAfterMaxAttempts: true });
      expect(failUntilEnd(settings, start(settings)).state).toMatchObject({ phase: 'dialling', codeStatus: 'invalid' });
    });
  });

  describe('starting a call', () => {
    it('dials a free call at once, without a prompt', () => {
      const d = start(withTreatment('free'));
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ phase: 'dialling', codeStatus: 'none', treatment: 'free', attempts: 0, step: 0, direction: 'outbound' });
      expect(d.changed).toBe(true);
      expect(d.effects).toEqual([]);
    });

    it('says the call is not permitted and hangs up when the class is blocked', () => {
      const d = start(withTreatment('blocked'));
      expect(d.actions).toEqual(sayThenHangup(prompts.notPermitted));
      expect(d.state).toMatchObject({ phase: 'ended', outcome: 'not-permitted', codeStatus: 'none', talkS: 0, endedAt: NOW.toISOString() });
    });

    it.each([
      ['optional', prompts.optionalCode],
      ['required', prompts.accountCode],
      ['authorized', prompts.authorizationCode],
    ] as const)('asks for a code with one gather when the class is %s', (treatment, prompt) => {
      const d = start(withTreatment(treatment));
      expect(d.actions).toEqual([{ type: 'gather', prompt, step: 1, timeoutSeconds: 9 }]);
      expect(d.state).toMatchObject({ phase: 'prompting', step: 0, attempts: 0, codeStatus: 'none', treatment });
    });

    it('records who, where and what the call is when it starts', () => {
      const d = start(withTreatment('required'), { from: 'sip:Alice@ACME.sip.twilio.com;transport=tls' });
      expect(d.state).toMatchObject({
        callSid: 'CA0001',
        account: 'acme',
        user: `sip:alice@${DOMAIN}`,
        caller: 'sip:Alice@ACME.sip.twilio.com;transport=tls',
        destination: LONDON,
        destinationClass: 'international',
        entryPoint: DOMAIN,
        startedAt: NOW.toISOString(),
        dialCompleted: false,
        statusReceived: false,
      });
    });

    it('sets numDigits only when the code length is fixed', () => {
      const fixed = start(withTreatment('required', { codeLength: { min: 5, max: 5 } }));
      expect(fixed.actions[0]).toMatchObject({ type: 'gather', numDigits: 5 });
      const ranged = start(withTreatment('required', { codeLength: { min: 4, max: 6 } }));
      expect(ranged.actions[0]).not.toHaveProperty('numDigits');
    });

    it('speaks the code length in the prompt', () => {
      const d = start(withTreatment('required', { codeLength: { min: 5, max: 5 } }));
      expect(d.actions[0]).toMatchObject({ prompt: 'Please enter your 5 digit account code, then press pound.' });
    });

    it('uses an overridden prompt text', () => {
      const d = start(withTreatment('authorized', { prompts: { authorizationCode: 'Code for {digits} digits, please.' } }));
      expect(d.actions[0]).toMatchObject({ prompt: 'Code for 4 to 6 digits, please.' });
    });

    it('treats a call to another user of the account as internal', () => {
      const settings = settingsOf({ calls: { default: 'required', internal: 'free' } });
      expect(start(settings, { to: SF, toIsUser: true }).state).toMatchObject({ destinationClass: 'internal', phase: 'dialling' });
      expect(start(settings, { to: SF }).state).toMatchObject({ destinationClass: 'national', phase: 'prompting' });
    });

    it('turns a code prompt into a free call through an entry point with codes off', () => {
      const settings = withTreatment('authorized', { entryPoints: { [DOMAIN]: { codes: false } } });
      expect(start(settings).actions).toEqual([dialOf(LONDON)]);
    });
  });

  describe('a valid code', () => {
    it('dials a required call tagged with the account code digits and description', () => {
      const settings = withTreatment('required');
      const d = enter(settings, start(settings), '0042', { lookup: ACCOUNT_CODE });
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ phase: 'dialling', codeStatus: 'valid', code: '0042', codeDescription: 'Smith v Jones', codeKind: 'account', attempts: 1, step: 1 });
      expect(d.effects).toEqual([]);
    });

    it('dials an optional call tagged with the code', () => {
      const settings = withTreatment('optional');
      const d = enter(settings, start(settings), '0042', { lookup: ACCOUNT_CODE });
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ codeStatus: 'valid', code: '0042', codeKind: 'account' });
    });

    it('dials an authorized call tagged with the code reference and description, never the digits', () => {
      const settings = withTreatment('authorized', { levels: { international: 2 } });
      const d = enter(settings, start(settings), AUTH_DIGITS, { lookup: AUTH_CODE });
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ codeStatus: 'valid', codeRef: '9f86d081', codeDescription: 'Alice international', codeKind: 'authorization' });
      expect(d.state).not.toHaveProperty('code');
      expect(JSON.stringify(d)).not.toContain(AUTH_DIGITS);
    });

    it('does not keep digits an authorization code record carries by mistake', () => {
      const settings = withTreatment('authorized');
      const d = enter(settings, start(settings), AUTH_DIGITS, { lookup: { ...AUTH_CODE, code: AUTH_DIGITS } });
      expect(d.state.codeStatus).toBe('valid');
      expect(JSON.stringify(d.state)).not.toContain(AUTH_DIGITS);
    });

    it('keeps leading zeros and ignores a trailing # in Digits', () => {
      const settings = withTreatment('required');
      const d = enter(settings, start(settings), '0042#', { lookup: ACCOUNT_CODE });
      expect(d.state).toMatchObject({ codeStatus: 'valid', code: '0042' });
    });

    it('accepts a valid code on the second attempt after a wrong one', () => {
      const settings = withTreatment('required');
      const first = enter(settings, start(settings), '1234');
      const second = enter(settings, first, '0042', { lookup: ACCOUNT_CODE });
      expect(second.actions).toEqual([dialOf(LONDON)]);
      expect(second.state).toMatchObject({ attempts: 2, step: 2, codeStatus: 'valid' });
    });
  });

  describe('an invalid code', () => {
    it('asks again, saying the code was not accepted, with the next step', () => {
      const settings = withTreatment('required');
      const d = enter(settings, start(settings), '1234');
      expect(d.actions).toEqual([{ type: 'gather', prompt: `${prompts.invalidCode} ${prompts.accountCode}`, step: 2, timeoutSeconds: 9 }]);
      expect(d.state).toMatchObject({ phase: 'prompting', attempts: 1, step: 1, codeStatus: 'none' });
      expect(d.state).not.toHaveProperty('code');
    });

    /** Scenarios that fail for each reason `checkCode` knows, and the reason they fail for. */
    const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString().slice(0, 10);
    const reasons = (kind: 'account' | 'authorization') => {
      const good = kind === 'account' ? ACCOUNT_CODE : AUTH_CODE;
      const other = kind === 'account' ? AUTH_CODE : ACCOUNT_CODE;
      const rows: [reason: string, digits: string, lookup: StoredCode | undefined][] = [
        ['format', '12', good],
        ['not-found', '1234', undefined],
        ['disabled', '0042', { ...good, enabled: false }],
        ['expired', '0042', { ...good, expires: ago(1) }],
        ['not-allowed', '0042', { ...good, users: ['client:bob'], groups: ['lawyers'] }],
        ['wrong-kind', '0042', other],
      ];
      if (kind === 'authorization') rows.push(['low-level', '0042', { ...good, level: 1 }]);
      return rows;
    };

    it.each([
      ['required', 'account'],
      ['optional', 'account'],
      ['authorized', 'authorization'],
    ] as const)('answers a %s prompt with the same words whatever the reason the code failed', (treatment, kind) => {
      const settings = withTreatment(treatment, { levels: { international: 2 } });
      const first = start(settings);
      const answers = reasons(kind).map(([reason, digits, lookup]) => {
        // The scenario really fails for the reason it names…
        const check: CodeCheck = checkCode(lookup, { kind, user: first.state.user, group: undefined, minLevel: 2, now: NOW, timeZone: settings.timeZone });
        expect(!isCodeFormat(digits, settings.codeLength) ? 'format' : check.ok ? 'ok' : check.reason).toBe(reason);
        // …and the caller cannot tell which.
        const d = enter(settings, first, digits, { lookup });
        return { reason, actions: d.actions, codeStatus: d.state.codeStatus, attempts: d.state.attempts };
      });
      for (const a of answers) expect({ ...a, reason: 'any' }).toEqual({ ...answers[0], reason: 'any' });
      expect(answers[0]?.actions).toEqual([expect.objectContaining({ type: 'gather', step: 2 })]);
    });

    it.each([['required'], ['authorized']] as const)('hangs up with the same words whatever the reason the last %s attempt failed', (treatment) => {
      const settings = withTreatment(treatment, { maxAttempts: 1, levels: { international: 2 } });
      const kind = treatment === 'authorized' ? 'authorization' : 'account';
      const endings = reasons(kind).map(([, digits, lookup]) => enter(settings, start(settings), digits, { lookup }).actions);
      for (const e of endings) expect(e).toEqual(sayThenHangup(prompts.tooManyAttempts));
    });
  });

  describe('# or silence', () => {
    it('dials an optional call untagged as skipped', () => {
      const settings = withTreatment('optional');
      const d = enter(settings, start(settings), '');
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ codeStatus: 'skipped', attempts: 1, phase: 'dialling' });
      expect(d.state).not.toHaveProperty('code');
      expect(d.state).not.toHaveProperty('codeKind');
    });

    it('treats a lone # on an optional prompt as a skip', () => {
      const settings = withTreatment('optional');
      expect(enter(settings, start(settings), '#').state.codeStatus).toBe('skipped');
    });

    it.each([
      ['required', prompts.accountCode],
      ['authorized', prompts.authorizationCode],
    ] as const)('counts as a failed attempt on a %s prompt', (treatment, prompt) => {
      const settings = withTreatment(treatment);
      const d = enter(settings, start(settings), '');
      // The caller hears that nothing was entered, not that a code was refused.
      expect(d.actions).toEqual([{ type: 'gather', prompt: `${prompts.noCode} ${prompt}`, step: 2, timeoutSeconds: 9 }]);
      expect(prompts.noCode).toBe('No code was entered. Please try again.');
      expect(d.state).toMatchObject({ attempts: 1, codeStatus: 'none' });
    });

    it('hangs up a required call after silence on every attempt', () => {
      const settings = withTreatment('required');
      const d = failUntilEnd(settings, start(settings), '');
      expect(d.actions).toEqual(sayThenHangup(prompts.noCodeNoAttempts));
      expect(prompts.noCodeNoAttempts).not.toMatch(/not accepted/);
      expect(d.state).toMatchObject({ attempts: 3, outcome: 'blocked', codeStatus: 'invalid' });
    });
  });

  describe('the last attempt', () => {
    it('dials an optional call untagged as invalid', () => {
      const settings = withTreatment('optional');
      const d = failUntilEnd(settings, start(settings));
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ codeStatus: 'invalid', attempts: 3, phase: 'dialling' });
    });

    it('hangs up after the third invalid code when proceeding is off', () => {
      const settings = withTreatment('required');
      const second = enter(settings, enter(settings, start(settings), '1111'), '2222');
      expect(second.state.phase).toBe('prompting');
      const third = enter(settings, second, '3333');
      expect(third.actions).toEqual(sayThenHangup(prompts.tooManyAttempts));
      expect(third.state).toMatchObject({ phase: 'ended', outcome: 'blocked', codeStatus: 'invalid', attempts: 3, step: 3, endedAt: NOW.toISOString(), talkS: 0 });
    });

    it('dials a required call untagged as invalid when proceeding is on', () => {
      const settings = withTreatment('required', { proceedAfterMaxAttempts: true });
      const d = failUntilEnd(settings, start(settings));
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ codeStatus: 'invalid', attempts: 3 });
      expect(d.state).not.toHaveProperty('code');
    });

    it('never proceeds with an authorized call, even where the account and user allow proceeding', () => {
      const settings = withTreatment('authorized', { proceedAfterMaxAttempts: true });
      const d = failUntilEnd(settings, start(settings, { user: { id: ALICE, proceedAfterMaxAttempts: true } }));
      expect(d.actions).toEqual(sayThenHangup(prompts.tooManyAttempts));
      expect(d.state.outcome).toBe('blocked');
    });

    it("counts to the group's maxAttempts", () => {
      const settings = settingsOf({ groups: { lawyers: { calls: { default: 'required' }, maxAttempts: 4 } } });
      const d = failUntilEnd(settings, start(settings, { user: { id: ALICE, group: 'lawyers' } }));
      expect(d.state).toMatchObject({ attempts: 4, step: 4, outcome: 'blocked' });
    });

    it('ends on the first failure when maxAttempts is 1', () => {
      const settings = withTreatment('required', { maxAttempts: 1 });
      expect(enter(settings, start(settings), '1234').actions).toEqual(sayThenHangup(prompts.tooManyAttempts));
    });
  });

  describe('validate: false', () => {
    it('accepts any code of the right length as unvalidated', () => {
      const settings = withTreatment('required', { validate: false });
      const d = enter(settings, start(settings), '777777');
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ codeStatus: 'unvalidated', code: '777777', codeKind: 'account', attempts: 1 });
    });

    it('accepts any code of the right length on an optional prompt too', () => {
      const settings = withTreatment('optional', { validate: false });
      expect(enter(settings, start(settings), '1234').state.codeStatus).toBe('unvalidated');
    });

    it.each(['123', '1234567', '12a4'])('counts %j, which is not a code of the right length, as a failure', (digits) => {
      const settings = withTreatment('required', { validate: false });
      const d = enter(settings, start(settings), digits);
      expect(d.actions[0]).toMatchObject({ type: 'gather', step: 2 });
      expect(d.state).toMatchObject({ attempts: 1, codeStatus: 'none' });
    });

    it('still validates authorization codes', () => {
      const settings = withTreatment('authorized', { validate: false });
      const d = enter(settings, start(settings), '123456');
      expect(d.actions[0]).toMatchObject({ type: 'gather' });
      expect(d.state.codeStatus).toBe('none');
    });

    it('applies a group that turns validation off', () => {
      const settings = settingsOf({ groups: { g: { calls: { default: 'required' }, validate: false } }, defaultGroup: 'g' });
      expect(enter(settings, start(settings), '5555').state.codeStatus).toBe('unvalidated');
    });
  });

  describe('code expiry in the account time zone', () => {
    const code: StoredCode = { ...ACCOUNT_CODE, expires: '2026-03-01' };
    const attempt = (timeZone: string, at: string) => {
      const settings = withTreatment('required', { timeZone });
      const now = new Date(at);
      return enter(settings, start(settings, { now }), '0042', { lookup: code, now }).state.codeStatus;
    };

    it('accepts the code on its last day, late in the evening in New York (04:00 UTC the next day)', () => {
      expect(attempt('America/New_York', '2026-03-02T04:00:00Z')).toBe('valid');
    });

    it('refuses the code once the next day has begun in New York (06:00 UTC)', () => {
      expect(attempt('America/New_York', '2026-03-02T06:00:00Z')).toBe('none');
    });

    it('refuses the code at 04:00 UTC for a London account, where the next day has begun', () => {
      expect(attempt('Europe/London', '2026-03-02T04:00:00Z')).toBe('none');
    });
  });

  describe('who may use a code', () => {
    const settings = settingsOf({ groups: { staff: { calls: { default: 'required' } }, lawyers: { calls: { default: 'required' } } }, defaultGroup: 'staff' });
    const tryCode = (lookup: StoredCode, user?: UserRecord, from = ALICE) => enter(settings, start(settings, { user, from }), '0042', { lookup }).state.codeStatus;

    it('lets a listed user use the code, matching SIP identities without case or parameters', () => {
      expect(tryCode({ ...ACCOUNT_CODE, users: ['sip:ALICE@acme.sip.twilio.com'] }, undefined, `sip:alice@${DOMAIN};transport=tls`)).toBe('valid');
    });

    it('refuses the code to a user it does not list', () => {
      expect(tryCode({ ...ACCOUNT_CODE, users: ['client:bob'] })).toBe('none');
    });

    it('lets a member of a listed group use the code, including the default group of an unknown caller', () => {
      expect(tryCode({ ...ACCOUNT_CODE, groups: ['lawyers'] }, { id: ALICE, group: 'lawyers' })).toBe('valid');
      expect(tryCode({ ...ACCOUNT_CODE, groups: ['staff'] })).toBe('valid');
    });

    it('refuses the code to a member of another group', () => {
      expect(tryCode({ ...ACCOUNT_CODE, groups: ['lawyers'] })).toBe('none');
    });

    it('lets a user in either list use the code', () => {
      expect(tryCode({ ...ACCOUNT_CODE, users: ['client:bob'], groups: ['staff'] })).toBe('valid');
      expect(tryCode({ ...ACCOUNT_CODE, users: [ALICE], groups: ['lawyers'] })).toBe('valid');
    });
  });

  describe('authorization levels', () => {
    const settings = withTreatment('authorized', { levels: { international: 2, premium: 3 } });
    it('accepts a code whose level reaches the class minimum', () => {
      expect(enter(settings, start(settings), AUTH_DIGITS, { lookup: AUTH_CODE }).state.codeStatus).toBe('valid');
    });
    it('refuses the same code for a class that needs a higher level', () => {
      expect(enter(settings, start(settings, { to: '+19002001234' }), AUTH_DIGITS, { lookup: AUTH_CODE }).state.codeStatus).toBe('none');
    });
  });

  describe('lockout', () => {
    const rules = { failures: 3, windowMinutes: 15, lockMinutes: 60 };
    const locked: LockoutRecord = { windowStart: later(-600).toISOString(), failures: 0, lockedUntil: later(1800).toISOString() };

    it.each([['required'], ['authorized']] as const)('hangs up a %s call of a locked user at once, as locked-out and blocked', (treatment) => {
      const d = start(withTreatment(treatment), { lockout: locked });
      expect(d.actions).toEqual(sayThenHangup(prompts.lockedOut));
      expect(d.state).toMatchObject({ codeStatus: 'locked-out', outcome: 'blocked', phase: 'ended', attempts: 0 });
    });

    it('dials an optional call of a locked user untagged as locked-out', () => {
      const d = start(withTreatment('optional'), { lockout: locked });
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state).toMatchObject({ codeStatus: 'locked-out', phase: 'dialling' });
    });

    it('still dials free and emergency calls of a locked user', () => {
      expect(start(withTreatment('free'), { lockout: locked }).actions).toEqual([dialOf(LONDON)]);
      expect(start(withTreatment('required'), { lockout: locked, to: '911' }).actions).toEqual([dialOf('911')]);
    });

    it('prompts as usual once the lock has run out', () => {
      const expired: LockoutRecord = { ...locked, lockedUntil: later(-1).toISOString() };
      expect(start(withTreatment('required'), { lockout: expired }).actions[0]).toMatchObject({ type: 'gather' });
    });

    it('counts a wrong code: a lockout effect with the new record, and no alert', () => {
      const settings = withTreatment('required', { lockout: rules });
      const record: LockoutRecord = { windowStart: later(-300).toISOString(), failures: 1 };
      const d = enter(settings, start(settings), '1234', { lockout: record });
      expect(d.effects).toEqual([{ type: 'lockout', user: ALICE, callSid: expect.any(String), record: { windowStart: record.windowStart, failures: 2 } }]);
    });

    it('does not count silence toward the lockout', () => {
      const settings = withTreatment('required', { lockout: rules });
      expect(enter(settings, start(settings), '').effects).toEqual([]);
    });

    it('locks the user mid-call when failures reach the limit, hangs up, and raises an alert', () => {
      const settings = withTreatment('required', { lockout: rules, maxAttempts: 5 });
      const record: LockoutRecord = { windowStart: later(-300).toISOString(), failures: 2 };
      const d = enter(settings, start(settings), '1234', { lockout: record });
      expect(d.actions).toEqual(sayThenHangup(prompts.lockedOut));
      expect(d.state).toMatchObject({ codeStatus: 'locked-out', outcome: 'blocked', attempts: 1, phase: 'ended' });
      expect(d.effects).toEqual([
        { type: 'lockout', user: ALICE, callSid: expect.any(String), record: { windowStart: NOW.toISOString(), failures: 0, lockedUntil: later(3600).toISOString() } },
        { type: 'alert', kind: 'lockout', account: 'acme', user: ALICE, callerId: MAIN_NUMBER, destination: LONDON, callSid: 'CA0001', at: NOW.toISOString() },
      ]);
    });

    it('locks mid-call on an optional prompt and dials untagged, without saying goodbye first', () => {
      const settings = withTreatment('optional', { lockout: rules });
      const d = enter(settings, start(settings), '1234', { lockout: { windowStart: later(-60).toISOString(), failures: 2 } });
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state.codeStatus).toBe('locked-out');
      expect(d.effects.map((e) => e.type)).toEqual(['lockout', 'alert']);
    });

    it('locks across calls: the failures of earlier calls count', () => {
      const settings = withTreatment('required', { lockout: rules, maxAttempts: 1 });
      let record: LockoutRecord | undefined;
      const endings: (string | undefined)[] = [];
      for (let call = 0; call < 3; call++) {
        const d = enter(settings, start(settings), '1234', { lockout: record });
        for (const e of d.effects) if (e.type === 'lockout') record = e.record;
        endings.push(d.state.codeStatus);
      }
      expect(endings).toEqual(['invalid', 'invalid', 'locked-out']);
      expect(start(settings, { lockout: record }).state.codeStatus).toBe('locked-out');
    });

    it('refuses even a valid code once another call of the same user has locked code entry', () => {
      const settings = withTreatment('required');
      const d = enter(settings, start(settings), '0042', { lookup: ACCOUNT_CODE, lockout: locked });
      expect(d.actions).toEqual(sayThenHangup(prompts.lockedOut));
      expect(d.state).toMatchObject({ codeStatus: 'locked-out', outcome: 'blocked' });
      expect(d.state).not.toHaveProperty('code');
      // Already locked and alerted: no new count, no second alert.
      expect(d.effects).toEqual([]);
    });

    it('dials an optional call untagged when another call locked the user during the prompt', () => {
      const settings = withTreatment('optional');
      const d = enter(settings, start(settings), '0042', { lookup: ACCOUNT_CODE, lockout: locked });
      expect(d.actions).toEqual([dialOf(LONDON)]);
      expect(d.state.codeStatus).toBe('locked-out');
    });
  });

  describe('emergency', () => {
    const hostile = settingsOf({
      calls: { default: 'blocked' },
      groups: { g: { calls: { default: 'blocked' } }, h: { calls: { default: 'authorized' }, maxAttempts: 1 } },
      defaultGroup: 'g',
      codeLength: { min: 14, max: 14 },
      entryPoints: { [DOMAIN]: { codes: true } },
    });
    const locked: LockoutRecord = { windowStart: NOW.toISOString(), failures: 0, lockedUntil: later(3600).toISOString() };

    it('dials 911 on the first response, exempt from codes, and raises an emergency alert', () => {
      const d = start(withTreatment('required'), { to: '911' });
      expect(d.actions).toEqual([dialOf('911')]);
      expect(d.state).toMatchObject({ destinationClass: 'emergency', codeStatus: 'exempt', phase: 'dialling', treatment: 'free' });
      expect(d.effects).toEqual([
        { type: 'alert', kind: 'emergency', account: 'acme', user: ALICE, callerId: MAIN_NUMBER, destination: '911', callSid: 'CA0001', at: NOW.toISOString() },
      ]);
    });

    it.each<readonly [string, StartOptions]>([
      ['an unknown caller whose default group is blocked', {}],
      ['a user whose own calls are blocked', { user: { id: ALICE, calls: { default: 'blocked' } } }],
      ['a user in a group that needs authorization', { user: { id: ALICE, group: 'h' } }],
      ['a locked-out user', { lockout: locked }],
      ['a locked-out user whose calls are blocked', { lockout: locked, user: { id: ALICE, calls: { default: 'blocked' } } }],
      ['a call to a number that is also listed as a user', { toIsUser: true }],
      ['a call with no entry point at all', { call: { sipDomain: undefined } }],
    ])('dials 112 at once for %s with calls.default blocked everywhere', (_who, options) => {
      const d = start(hostile, { ...options, to: '112' });
      expect(d.actions).toEqual([dialOf('112')]);
      expect(d.state.codeStatus).toBe('exempt');
      expect(d.effects).toEqual([expect.objectContaining({ type: 'alert', kind: 'emergency' })]);
    });

    it.each([
      ['+1911', 'US', '911'],
      ['+1 (911)', 'US', '911'],
      ['sip:911@acme.sip.twilio.com', 'US', '911'],
      ['sip:+1911@acme.sip.twilio.com;user=phone', 'US', '911'],
      ['999', 'GB', '999'],
      ['+44999', 'GB', '999'],
      ['+44 112', 'GB', '112'],
      ['000', 'AU', '000'],
      ['+61000', 'AU', '000'],
    ])('dials %s from a %s account as %s, the number emergency services answer', (to, homeCountry, number) => {
      const d = start(settingsOf({ homeCountry, calls: { default: 'blocked' } }), { to });
      expect(d.actions).toEqual([dialOf(number)]);
    });

    it('presents the caller ID of the user to emergency services, for call-back', () => {
      const d = start(hostile, { to: '911', user: { id: ALICE, callerId: '+14155550177' } });
      expect(d.actions).toEqual([dialOf('911', '+14155550177')]);
    });

    it('does not raise a second alert when the first webhook is retried', () => {
      const first = start(hostile, { to: '911' });
      const again = decide(
        first.state,
        { type: 'start', call: { callSid: 'CA0001', from: ALICE, to: '911' }, user: undefined, lockout: undefined, emergencyCallerId: EMERGENCY_CALLER_ID },
        { settings: hostile, now: NOW },
      );
      expect(again).toEqual({ state: first.state, actions: first.actions, effects: [], changed: false });
    });

    it('is never routed as an inbound call, even when the number is an entry point', () => {
      const settings = settingsOf({ entryPoints: { '+1911': {} } });
      expect(routeCall({ callSid: 'CA1', from: SF, to: '+1911' }, settings).kind).toBe('outbound');
    });

    it('has a storage-free answer that dials the short number, always with a caller ID', () => {
      expect(emergencyActions(emergencyNumberAnywhere('+1 911') ?? '', EMERGENCY_CALLER_ID)).toEqual([dialOf('911', EMERGENCY_CALLER_ID)]);
      expect(emergencyActions('911', MAIN_NUMBER)).toEqual([dialOf('911')]);
      expect(emergencyNumberAnywhere('sip:112@acme.sip.twilio.com')).toBe('112');
      expect(emergencyNumberAnywhere('+44999')).toBe('999');
      expect(emergencyNumberFor('+44999', { homeCountry: 'US' })).toBe('999');
    });
  });

  describe('inbound calls', () => {
    const reception = `sip:reception@${DOMAIN}`;
    const settings = settingsOf({
      calls: { default: 'authorized' },
      entryPoints: {
        [DOMAIN]: { codes: true },
        [MAIN_NUMBER]: { forwardTo: reception },
        '+14155550101': { forwardTo: '+14155550199', tagByCallerId: false },
        '+14155550102': {},
      },
    });
    const client = '+12125551234';
    const clientCode: StoredCode = { ...ACCOUNT_CODE, callerIds: [client] };
    const inbound = (to: string, callerIdMatch?: StoredCode, now = NOW) =>
      start(settings, { from: client, to, call: { sipDomain: undefined }, ...(callerIdMatch ? { callerIdMatch } : {}), now });

    it('forwards a call to the forwardTo destination without a prompt, tagged by caller ID', () => {
      const d = inbound(MAIN_NUMBER, clientCode);
      expect(d.actions).toEqual([{ type: 'dial', target: { kind: 'sip', uri: reception } }]);
      expect(d.state).toMatchObject({
        direction: 'inbound',
        entryPoint: MAIN_NUMBER,
        treatment: 'free',
        codeStatus: 'caller-id',
        code: '0042',
        codeDescription: 'Smith v Jones',
        codeKind: 'account',
        attempts: 0,
      });
      expect(d.effects).toEqual([]);
    });

    it('forwards untagged when no code lists the caller', () => {
      expect(inbound(MAIN_NUMBER).state).toMatchObject({ codeStatus: 'none', direction: 'inbound' });
    });

    it('does not tag when the entry point sets tagByCallerId: false, and dials a forwardTo number as a Number', () => {
      const d = inbound('+14155550101', clientCode);
      expect(d.actions).toEqual([{ type: 'dial', target: { kind: 'number', number: '+14155550199' } }]);
      expect(d.state.codeStatus).toBe('none');
      expect(d.state).not.toHaveProperty('code');
    });

    it.each<readonly [string, StoredCode]>([
      ['disabled', { ...clientCode, enabled: false }],
      ['expired', { ...clientCode, expires: '2026-06-14' }],
      ['an authorization code', { ...AUTH_CODE, callerIds: [client] }],
    ])('does not tag with a code that is %s', (_why, code) => {
      expect(inbound(MAIN_NUMBER, code).state.codeStatus).toBe('none');
    });

    it('tags with a code on its last day in the account time zone', () => {
      // 02:00 UTC on the 15th is still the 14th in New York.
      expect(inbound(MAIN_NUMBER, { ...clientCode, expires: '2026-06-14' }, new Date('2026-06-15T02:00:00Z')).state.codeStatus).toBe('caller-id');
    });

    it('says an entry-point number without forwardTo takes no calls, hangs up and never dials it', () => {
      const d = inbound('+14155550102', clientCode);
      expect(d.actions).toEqual(sayThenHangup(prompts.noCalls));
      expect(d.state).toMatchObject({ direction: 'inbound', outcome: 'not-permitted', codeStatus: 'none', phase: 'ended' });
      expect(d.state.dial).toBeUndefined();
      const late = dialComplete(d.state, 'completed', 30);
      expect(late.changed).toBe(false);
      expect(late.state.outcome).toBe('not-permitted');
    });

    it('treats a call to any other number as outbound', () => {
      expect(routeCall({ callSid: 'CA1', from: client, to: '+14155550199' }, settings)).toEqual({ kind: 'outbound', entryPoint: undefined, settings: undefined });
      expect(routeCall({ callSid: 'CA1', from: ALICE, to: LONDON, applicationSid: 'AP0123456789abcdef0123456789abcdef' }, settings)).toMatchObject({
        kind: 'outbound',
        entryPoint: 'AP0123456789abcdef0123456789abcdef',
      });
      expect(routeCall({ callSid: 'CA1', from: ALICE, to: `sip:${LONDON}@ACME.sip.twilio.com`, sipDomain: 'ACME.sip.twilio.com' }, settings)).toMatchObject({
        kind: 'outbound',
        entryPoint: DOMAIN,
      });
      // Where the call entered is what Twilio says, never the destination's domain.
      expect(routeCall({ callSid: 'CA1', from: client, to: `sip:${LONDON}@ACME.sip.twilio.com` }, settings)).toEqual({
        kind: 'outbound',
        entryPoint: undefined,
        settings: undefined,
      });
    });
  });

  describe('caller ID', () => {
    const settings = settingsOf({ calls: { default: 'free' }, entryPoints: { [DOMAIN]: { callerId: '+14155550111' } } });

    it("presents the user's caller ID first", () => {
      const d = start(settings, { user: { id: ALICE, callerId: '+14155550177' } });
      expect(d.actions).toEqual([dialOf(LONDON, '+14155550177')]);
    });

    it("presents the entry point's caller ID when the user has none", () => {
      expect(start(settings, { user: { id: ALICE } }).actions).toEqual([dialOf(LONDON, '+14155550111')]);
    });

    it("presents the account's caller ID when neither the user nor the entry point has one", () => {
      expect(start(settingsOf(), { call: { sipDomain: undefined }, to: LONDON }).actions).toEqual([dialOf(LONDON, MAIN_NUMBER)]);
    });

    it('leaves caller ID out when nobody sets one, so Twilio presents the caller', () => {
      const plain = settingsOf({ callerId: undefined });
      expect(start(plain).actions).toEqual([dialOf(LONDON, null)]);
    });

    it.each([
      ['client:bob', { kind: 'client', identity: 'bob' }],
      [`sip:bob@${DOMAIN}`, { kind: 'sip', uri: `sip:bob@${DOMAIN}` }],
    ] as const)('leaves caller ID out for %s', (to, target) => {
      expect(start(settings, { to, user: { id: ALICE, callerId: '+14155550177' } }).actions).toEqual([{ type: 'dial', target }]);
    });
  });

  describe('dial targets', () => {
    it.each([
      ['+442071838750', { kind: 'number', number: '+442071838750' }],
      ['4155550123', { kind: 'number', number: '+14155550123' }],
      ['(415) 555-0123', { kind: 'number', number: '+14155550123' }],
      ['411', { kind: 'number', number: '411' }],
      ['client:bob', { kind: 'client', identity: 'bob' }],
      ['sip:bob@acme.sip.twilio.com', { kind: 'sip', uri: 'sip:bob@acme.sip.twilio.com' }],
      ['SIP:bob@acme.sip.twilio.com;transport=tls', { kind: 'sip', uri: 'sip:bob@acme.sip.twilio.com;transport=tls' }],
      ['sip:+442071838750@acme.sip.twilio.com', { kind: 'number', number: '+442071838750' }],
      ['sip:4155550123@acme.sip.twilio.com', { kind: 'number', number: '+14155550123' }],
    ] as const)('dials %s as %j', (destination, target) => {
      expect(dialTargetFor(destination, { homeCountry: 'US' })).toEqual(target);
    });
  });

  describe('retried and out-of-order webhooks', () => {
    const settings = withTreatment('required', { lockout: { failures: 5, windowMinutes: 15, lockMinutes: 60 } });

    it('answers the same step twice with identical actions, counting the attempt once', () => {
      const first = enter(settings, start(settings), '1234');
      const again = decide(first.state, { type: 'code', step: 1, digits: '1234', lookup: undefined, lockout: undefined }, { settings, now: later(5) });
      expect(again.actions).toEqual(first.actions);
      expect(again.changed).toBe(false);
      expect(again.effects).toEqual([]);
      expect(again.state).toEqual(first.state);
      expect(again.state.attempts).toBe(1);
    });

    it('replays the dial for a retried step that dialled', () => {
      const dialled = enter(settings, start(settings), '0042', { lookup: ACCOUNT_CODE });
      const again = enter(settings, dialled, '0042', { lookup: ACCOUNT_CODE, step: 1 });
      expect(again.actions).toEqual(dialled.actions);
      expect(again.changed).toBe(false);
    });

    it('replays the hang-up for a retried step that hung up', () => {
      const ended = enter(settings, start(settings, {}), '1234', { step: 1 });
      const last = failUntilEnd(settings, ended);
      const again = enter(settings, last, '9999', { step: last.state.step });
      expect(again.actions).toEqual(last.actions);
      expect(again.changed).toBe(false);
    });

    it('answers a stale step with the current prompt and changes nothing', () => {
      const second = enter(settings, enter(settings, start(settings), '1111'), '2222');
      const stale = enter(settings, second, '0042', { lookup: ACCOUNT_CODE, step: 1 });
      expect(stale.actions).toEqual(second.actions);
      expect(stale.changed).toBe(false);
      expect(stale.state.codeStatus).toBe('none');
    });

    it('ignores a step from the future', () => {
      const first = start(settings);
      const future = enter(settings, first, '0042', { lookup: ACCOUNT_CODE, step: 5 });
      expect(future).toEqual({ state: first.state, actions: first.actions, effects: [], changed: false });
    });

    it('ignores step 0, which no gather ever asked for', () => {
      const first = start(settings);
      expect(enter(settings, first, '0042', { lookup: ACCOUNT_CODE, step: 0 }).changed).toBe(false);
    });

    it('replays the first answer when the first webhook is retried', () => {
      const first = start(settings);
      const again = decide(
        first.state,
        { type: 'start', call: { callSid: 'CA0001', from: ALICE, to: LONDON }, user: undefined, lockout: undefined, emergencyCallerId: EMERGENCY_CALLER_ID },
        { settings, now: later(1) },
      );
      expect(again).toEqual({ state: first.state, actions: first.actions, effects: [], changed: false });
    });

    it('ignores a code that arrives after the caller hung up', () => {
      const abandoned = status(start(settings).state, 'completed', 7).state;
      const late = enter(settings, abandoned, '0042', { lookup: ACCOUNT_CODE });
      expect(late.changed).toBe(false);
      expect(late.state.outcome).toBe('abandoned');
    });
  });

  describe('dial complete', () => {
    const dialled = () => start(withTreatment('free')).state;

    it.each<readonly [string, Outcome]>([
      ['completed', 'completed'],
      ['answered', 'completed'],
      ['busy', 'busy'],
      ['no-answer', 'no-answer'],
      ['failed', 'failed'],
      ['canceled', 'canceled'],
      ['something-new', 'failed'],
      ['constructor', 'failed'],
      ['__proto__', 'failed'],
    ])('records DialCallStatus %s as %s and hangs up', (dialCallStatus, outcome) => {
      const d = dialComplete(dialled(), dialCallStatus, 42);
      expect(d.actions).toEqual([HANGUP]);
      expect(d.state.outcome).toBe(outcome);
      expect(d.changed).toBe(true);
    });

    it('records the talk time of an answered call and the call duration so far', () => {
      const d = dialComplete(dialled(), 'completed', 42, later(50));
      expect(d.state).toMatchObject({ talkS: 42, durationS: 50, endedAt: later(50).toISOString(), phase: 'ended', dialCompleted: true });
    });

    it.each([['busy'], ['no-answer'], ['failed'], ['canceled']])('records no talk time when the dial was %s', (s) => {
      expect(dialComplete(dialled(), s, 12).state.talkS).toBe(0);
    });

    it('records no talk time when DialCallDuration is missing', () => {
      expect(dialComplete(dialled(), 'completed').state.talkS).toBe(0);
    });

    it('changes nothing when the dial result is delivered twice', () => {
      const first = dialComplete(dialled(), 'completed', 42, later(50));
      const again = dialComplete(first.state, 'busy', 0, later(60));
      expect(again).toEqual({ state: first.state, actions: [HANGUP], effects: [], changed: false });
    });

    it('ignores a dial result for a call that was never dialled', () => {
      const prompting = start(withTreatment('required')).state;
      expect(dialComplete(prompting, 'completed', 10).changed).toBe(false);
      const refused = start(withTreatment('blocked')).state;
      const d = dialComplete(refused, 'completed', 10);
      expect(d.changed).toBe(false);
      expect(d.state.outcome).toBe('not-permitted');
    });
  });

  describe('status callback', () => {
    it('records a caller who hangs up during the prompt as abandoned', () => {
      const d = status(start(withTreatment('required')).state, 'completed', 7, later(8));
      // Ended when Twilio's CallDuration says, however late the callback came.
      expect(d.state).toMatchObject({ outcome: 'abandoned', durationS: 7, talkS: 0, phase: 'ended', statusReceived: true, endedAt: later(7).toISOString() });
      expect(d.actions).toEqual([]);
    });

    it('keeps the outcome of a refused call', () => {
      const d = status(start(withTreatment('blocked')).state, 'completed', 3);
      expect(d.state).toMatchObject({ outcome: 'not-permitted', durationS: 3 });
    });

    it('keeps the dial outcome when it comes after the dial result, and sets the call duration', () => {
      const afterDial = dialComplete(start(withTreatment('free')).state, 'busy', 0, later(20)).state;
      const d = status(afterDial, 'completed', 21, later(21));
      expect(d.state).toMatchObject({ outcome: 'busy', durationS: 21, talkS: 0 });
    });

    it('sets a provisional outcome before the dial result, which the dial result then replaces', () => {
      // Twilio's CallDuration (73) is the truth, not the clock of the webhook (75 s after start).
      const first = status(start(withTreatment('free')).state, 'completed', 73, later(75));
      expect(first.state).toMatchObject({ outcome: 'completed', durationS: 73 });
      const d = dialComplete(first.state, 'no-answer', undefined, later(76));
      expect(d.changed).toBe(true);
      expect(d.state).toMatchObject({ outcome: 'no-answer', talkS: 0, durationS: 73 });
      const answered = dialComplete(first.state, 'completed', 60, later(76));
      expect(answered.state).toMatchObject({ outcome: 'completed', talkS: 60, durationS: 73 });
    });

    it('ends in the same record whichever of dial result and status comes first', () => {
      const dialled = start(withTreatment('free')).state;
      const a = status(dialComplete(dialled, 'completed', 60, later(75)).state, 'completed', 73, later(76)).state;
      const b = dialComplete(status(dialled, 'completed', 73, later(75)).state, 'completed', 60, later(76)).state;
      const { endedAt: _a, ...restA } = a;
      const { endedAt: _b, ...restB } = b;
      expect(restA).toEqual(restB);
      expect(restA).toMatchObject({ outcome: 'completed', talkS: 60, durationS: 73, dialCompleted: true, statusReceived: true, phase: 'ended' });
    });

    it('changes nothing when the status is delivered twice', () => {
      const first = status(start(withTreatment('free')).state, 'completed', 10);
      const again = status(first.state, 'completed', 99, later(100));
      expect(again.changed).toBe(false);
      expect(again.state).toEqual(first.state);
    });

    it('falls back to the clock for the duration when CallDuration is missing', () => {
      expect(status(start(withTreatment('free')).state, 'completed', undefined, later(33)).state.durationS).toBe(33);
    });

    it('records an unknown CallStatus of a dialled call as failed until the dial result says otherwise', () => {
      expect(status(start(withTreatment('free')).state, 'constructor', 1).state.outcome).toBe('failed');
    });
  });

  describe('events for a call with no state', () => {
    const ctx = { settings: settingsOf(), now: NOW };
    it.each([
      ['a code', { type: 'code', step: 1, digits: '1234', lookup: undefined, lockout: undefined }],
      ['a dial result', { type: 'dial-complete', dialCallStatus: 'completed' }],
      ['a status callback', { type: 'status', callStatus: 'completed' }],
    ] as const)('throws CallFlowError for %s', (_what, event) => {
      expect(() => decide(undefined, event, ctx)).toThrow(CallFlowError);
    });

    it('answers anything unexpected with an apology and a hang-up', () => {
      expect(errorActions(DEFAULT_PROMPTS)).toEqual(sayThenHangup(DEFAULT_PROMPTS.error));
    });
  });
});
