/**
 * The account code chosen in a Voice SDK app (the `accountCode` parameter of the first
 * webhook, docs/call-flow.md "Caller conveniences"): a valid one dials without a prompt; an
 * invalid one is a failed attempt and the caller is prompted as usual; an authorization code
 * is never taken this way; emergency calls and lockouts are untouched by it.
 */
import { describe, expect, it } from 'vitest';
import { decide, type Decision } from '../../functions/core/callflow.ts';
import type { StoredCode } from '../../functions/core/codes.ts';
import type { LockoutRecord } from '../../functions/core/lockout.ts';
import { resolvePrompts } from '../../functions/core/prompts.ts';
import type { SettingsInput } from '../../functions/core/settings.ts';
import type { Treatment } from '../../functions/core/types.ts';
import { EMERGENCY_CALLER_ID } from '../fixtures/twilio/forms.ts';
import { ACCOUNT_CODE, ALICE, AUTH_CODE, DOMAIN, later, NOW } from '../support/code-fixtures.ts';
import { testSettings } from '../support/settings.ts';

const LONDON = '+442071838750';
const settingsFor = (treatment: Treatment, patch: Partial<SettingsInput> = {}) =>
  testSettings({
    twilioAccountSids: ['AC0123456789abcdef0123456789abcdef'],
    callerId: '+14155550100',
    entryPoints: { [DOMAIN]: { codes: true } },
    calls: { default: treatment },
    ...patch,
  });
const prompts = resolvePrompts(undefined, { min: 4, max: 6 });

function startWith(
  treatment: Treatment,
  digits: string,
  lookup: StoredCode | undefined,
  options: { to?: string; lockout?: LockoutRecord; patch?: Partial<SettingsInput> } = {},
): Decision {
  return decide(
    undefined,
    {
      type: 'start',
      call: { callSid: 'CA0001', from: ALICE, to: options.to ?? LONDON, sipDomain: DOMAIN },
      user: undefined,
      lockout: options.lockout,
      appCode: { digits, lookup },
      emergencyCallerId: EMERGENCY_CALLER_ID,
    },
    { settings: settingsFor(treatment, options.patch), now: NOW },
  );
}

describe('an account code chosen in the app', () => {
  it('dials a required or optional call at once when it is valid, tagged valid', () => {
    for (const treatment of ['required', 'optional'] as const) {
      const d = startWith(treatment, '0042', ACCOUNT_CODE);
      expect(d.actions.map((a) => a.type)).toEqual(['dial']);
      expect(d.state).toMatchObject({ codeStatus: 'valid', code: '0042', codeDescription: 'Smith v Jones', attempts: 1, phase: 'dialling' });
      expect(d.effects).toEqual([]);
    }
  });

  it('counts an invalid one as a failed attempt, then prompts as usual', () => {
    const d = startWith('required', '0043', undefined);
    const gather = d.actions[0];
    expect(gather).toMatchObject({ type: 'gather' });
    expect(gather?.type === 'gather' && gather.prompt).toBe(`${prompts.invalidCode} ${prompts.accountCode}`);
    expect(d.state).toMatchObject({ attempts: 1, step: 0, phase: 'prompting' });
    expect(d.effects).toEqual([expect.objectContaining({ type: 'lockout', user: ALICE })]);
  });

  it('is the last attempt when the account allows one: required hangs up, optional dials untagged', () => {
    const required = startWith('required', '0043', undefined, { patch: { maxAttempts: 1 } });
    expect(required.state).toMatchObject({ outcome: 'blocked', codeStatus: 'invalid', attempts: 1 });
    const optional = startWith('optional', '0043', undefined, { patch: { maxAttempts: 1 } });
    expect(optional.actions.map((a) => a.type)).toEqual(['dial']);
    expect(optional.state).toMatchObject({ codeStatus: 'invalid' });
  });

  it('is any code of the right length without validation (unvalidated)', () => {
    const d = startWith('required', '5555', undefined, { patch: { validate: false } });
    expect(d.state).toMatchObject({ codeStatus: 'unvalidated', code: '5555', phase: 'dialling' });
  });

  it('never takes an authorization code: the caller is prompted for it, and nothing is counted', () => {
    const d = startWith('authorized', '918273', AUTH_CODE);
    expect(d.actions[0]).toMatchObject({ type: 'gather', prompt: prompts.authorizationCode });
    expect(d.state).toMatchObject({ attempts: 0, codeStatus: 'none' });
    expect(d.effects).toEqual([]);
  });

  it('changes nothing for an emergency call, a free call, or a caller locked out', () => {
    const emergency = startWith('required', '0043', undefined, { to: '911' });
    expect(emergency.state).toMatchObject({ codeStatus: 'exempt', attempts: 0 });
    expect(emergency.actions.map((a) => a.type)).toEqual(['dial']);
    const free = startWith('free', '0043', undefined);
    expect(free.state).toMatchObject({ codeStatus: 'none', attempts: 0 });
    const locked = startWith('required', '0042', ACCOUNT_CODE, { lockout: { windowStart: NOW.toISOString(), failures: 10, lockedUntil: later(600).toISOString() } });
    expect(locked.state).toMatchObject({ codeStatus: 'locked-out', outcome: 'blocked' });
  });

  it('refuses an account code the caller may not use, as a typed one is', () => {
    const d = startWith('required', '0042', { ...ACCOUNT_CODE, users: ['client:someone-else'] });
    expect(d.state).toMatchObject({ attempts: 1, phase: 'prompting', codeStatus: 'none' });
  });
});
