/**
 * The after-call prompt (`afterCallPrompt`, docs/call-flow.md "Caller conveniences"): when the
 * dialled party hangs up first on a call with no account code, the caller hears one prompt to
 * tag it; a valid code tags the one record (`tagged`, by the caller), anything else is said
 * once and the call ends.
 */
import { describe, expect, it } from 'vitest';
import { decide, type CallState, type Decision } from '../../functions/core/callflow.ts';
import type { StoredCode } from '../../functions/core/codes.ts';
import type { LockoutRecord } from '../../functions/core/lockout.ts';
import { resolvePrompts } from '../../functions/core/prompts.ts';
import type { Settings, SettingsInput, UserRecord } from '../../functions/core/settings.ts';
import { EMERGENCY_CALLER_ID } from '../fixtures/twilio/forms.ts';
import { ACCOUNT_CODE, ALICE, DOMAIN, later, NOW } from '../support/code-fixtures.ts';
import { testSettings } from '../support/settings.ts';

const LONDON = '+442071838750';
const P = resolvePrompts(undefined, { min: 4, max: 6 });
const settingsOf = (patch: Partial<SettingsInput> = {}): Settings =>
  testSettings({
    twilioAccountSids: ['AC0123456789abcdef0123456789abcdef'],
    callerId: '+14155550100',
    entryPoints: { [DOMAIN]: { codes: true } },
    calls: { default: 'optional' },
    afterCallPrompt: true,
    ...patch,
  });

/** A call placed and dialled: optional treatment, the caller pressed # (no code). */
function dialled(settings: Settings, options: { to?: string; user?: UserRecord } = {}): CallState {
  const started = decide(
    undefined,
    {
      type: 'start',
      call: { callSid: 'CA0001', from: ALICE, to: options.to ?? LONDON, sipDomain: DOMAIN },
      user: options.user,
      lockout: undefined,
      emergencyCallerId: EMERGENCY_CALLER_ID,
    },
    { settings, now: NOW },
  );
  if (started.state.phase === 'dialling') return started.state;
  return decide(started.state, { type: 'code', step: 1, digits: '', lookup: undefined, lockout: undefined }, { settings, now: later(5) }).state;
}

const hangsUpFirst = (settings: Settings, state: CallState, callStatus = 'in-progress'): Decision =>
  decide(state, { type: 'dial-complete', dialCallStatus: 'completed', dialCallDuration: 95, callStatus }, { settings, now: later(100) });

const answer = (settings: Settings, d: Decision, digits: string, lookup?: StoredCode, lockout?: LockoutRecord): Decision =>
  decide(d.state, { type: 'code', step: d.state.step + 1, digits, lookup, lockout }, { settings, now: later(110) });

describe('the after-call prompt', () => {
  it('asks the caller still on the line for a code when the dialled party hung up first, keeping the dial result', () => {
    const settings = settingsOf();
    const d = hangsUpFirst(settings, dialled(settings));
    expect(d.actions).toEqual([expect.objectContaining({ type: 'gather', prompt: P.afterCallCode })]);
    expect(d.state).toMatchObject({ phase: 'tagging', outcome: 'completed', talkS: 95, dialCompleted: true, codeStatus: 'skipped' });
  });

  it('tags the one record with a valid code, by the caller, then thanks them and hangs up', () => {
    const settings = settingsOf();
    const d = answer(settings, hangsUpFirst(settings, dialled(settings)), '0042', ACCOUNT_CODE);
    expect(d.actions).toEqual([{ type: 'say', text: P.afterCallThanks }, { type: 'hangup' }]);
    expect(d.state).toMatchObject({ phase: 'ended', codeStatus: 'tagged', code: '0042', codeDescription: 'Smith v Jones', taggedBy: ALICE, talkS: 95 });
    // The status callback still completes the same record.
    const ended = decide(d.state, { type: 'status', callStatus: 'completed', callDuration: 120 }, { settings, now: later(121) });
    expect(ended.state).toMatchObject({ codeStatus: 'tagged', code: '0042', durationS: 120, statusReceived: true });
  });

  it('says an invalid code once, counts it toward the lockouts, and ends the call untagged', () => {
    const settings = settingsOf();
    const d = answer(settings, hangsUpFirst(settings, dialled(settings)), '0043', undefined);
    expect(d.actions).toEqual([{ type: 'say', text: P.afterCallInvalid }, { type: 'hangup' }]);
    expect(d.state).toMatchObject({ phase: 'ended', codeStatus: 'skipped' });
    expect(d.state.code).toBeUndefined();
    expect(d.effects).toEqual([expect.objectContaining({ type: 'lockout', user: ALICE })]);
  });

  it('ends the call on # or silence, untagged and uncounted', () => {
    const settings = settingsOf();
    const d = answer(settings, hangsUpFirst(settings, dialled(settings)), '');
    expect(d.actions).toEqual([{ type: 'hangup' }]);
    expect(d.effects).toEqual([]);
  });

  it('takes any code of the right length with validate: false', () => {
    const settings = settingsOf({ validate: false });
    const d = answer(settings, hangsUpFirst(settings, dialled(settings)), '5555', undefined);
    expect(d.state).toMatchObject({ codeStatus: 'tagged', code: '5555' });
  });

  it('is not offered when the caller hung up, the call carries a code, it is an emergency call, or nobody asked for it', () => {
    const on = settingsOf();
    expect(hangsUpFirst(on, dialled(on), 'completed').actions).toEqual([{ type: 'hangup' }]);
    const withCode = { ...dialled(on), code: '0042', codeKind: 'account' as const, codeStatus: 'valid' as const };
    expect(hangsUpFirst(on, withCode).actions).toEqual([{ type: 'hangup' }]);
    expect(hangsUpFirst(on, dialled(on, { to: '911' })).actions).toEqual([{ type: 'hangup' }]);
    const unanswered = decide(dialled(on), { type: 'dial-complete', dialCallStatus: 'no-answer', callStatus: 'in-progress' }, { settings: on, now: later(30) });
    expect(unanswered.actions).toEqual([{ type: 'hangup' }]);
    const off = settingsOf({ afterCallPrompt: false });
    expect(hangsUpFirst(off, dialled(off)).actions).toEqual([{ type: 'hangup' }]);
  });

  it('follows the user, then the group, then the account', () => {
    const groups = { quiet: { afterCallPrompt: false }, chatty: { afterCallPrompt: true } };
    const account = settingsOf({ afterCallPrompt: false, groups, defaultGroup: 'quiet' });
    expect(hangsUpFirst(account, dialled(account, { user: { id: ALICE, group: 'chatty' } })).state.phase).toBe('tagging');
    expect(hangsUpFirst(account, dialled(account, { user: { id: ALICE, group: 'chatty', afterCallPrompt: false } })).state.phase).toBe('ended');
    expect(hangsUpFirst(account, dialled(account, { user: { id: ALICE, group: 'quiet', afterCallPrompt: true } })).state.phase).toBe('tagging');
  });
});
