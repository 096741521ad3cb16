import { describe, expect, it } from 'vitest';
import { groupOf, resolvePolicy, resolveTreatment, type PolicyInput } from '../../functions/core/policy.ts';
import type { EntryPointSettings, Settings, SettingsInput, UserRecord } from '../../functions/core/settings.ts';
import { CALL_CLASSES, type CallClass, type Treatment } from '../../functions/core/types.ts';
import { testSettings } from '../support/settings.ts';

const SID = 'AC0123456789abcdef0123456789abcdef';

const settingsOf = (patch: Partial<SettingsInput> = {}): Settings => testSettings({ twilioAccountSids: [SID], ...patch });

const user = (fields: Omit<UserRecord, 'id'> = {}): UserRecord => ({ id: 'client:alice', ...fields });
type Calls = Partial<Record<CallClass | 'default', Treatment>>;

describe('policy', () => {
  describe('treatment resolution: u.calls[c] ?? g.calls[c] ?? account.calls[c] ?? u.default ?? g.default ?? account.default ?? free', () => {
    type Row = readonly [why: string, account: Calls | undefined, group: Calls | undefined, userCalls: Calls | undefined, expected: Treatment];
    const c = 'international';
    const rows: Row[] = [
      ['nothing set anywhere is free', {}, undefined, undefined, 'free'],
      ['the account default applies', { default: 'optional' }, undefined, undefined, 'optional'],
      ['the account class entry applies', { [c]: 'required' }, undefined, undefined, 'required'],
      ['the account class entry beats the account default', { default: 'blocked', [c]: 'optional' }, undefined, undefined, 'optional'],
      ['the group default beats the account default', { default: 'free' }, { default: 'required' }, undefined, 'required'],
      ['the group class entry beats the account class entry', { [c]: 'required' }, { [c]: 'authorized' }, undefined, 'authorized'],
      ['the user default beats the group default', { default: 'free' }, { default: 'required' }, { default: 'optional' }, 'optional'],
      ['the user class entry beats the group class entry', {}, { [c]: 'blocked' }, { [c]: 'required' }, 'required'],
      ['the user class entry beats everything', { default: 'blocked', [c]: 'blocked' }, { default: 'blocked', [c]: 'blocked' }, { [c]: 'free', default: 'blocked' }, 'free'],
      ['an account class entry beats a user default', { [c]: 'required' }, undefined, { default: 'free' }, 'required'],
      ['an account class entry beats a group default', { [c]: 'authorized' }, { default: 'free' }, undefined, 'authorized'],
      ['a group class entry beats a user default', {}, { [c]: 'blocked' }, { default: 'optional' }, 'blocked'],
      ['a class entry for another class does not apply', { premium: 'blocked' }, { mobile: 'required' }, { national: 'authorized' }, 'free'],
      ['defaults fall through from user to group to account', { default: 'authorized' }, {}, {}, 'authorized'],
      ['the user default beats an account default', { default: 'blocked' }, undefined, { default: 'optional' }, 'optional'],
    ];

    it.each(rows)('%s', (_why, account, group, userCalls, expected) => {
      const settings = settingsOf({
        calls: account,
        groups: { g: group === undefined ? {} : { calls: group } },
        defaultGroup: 'g',
      });
      const u = userCalls === undefined ? undefined : user({ calls: userCalls });
      expect(resolveTreatment({ settings, user: u, entryPoint: undefined, callClass: c })).toBe(expected);
    });
  });

  describe('the treatments of docs/settings.md example', () => {
    const settings = settingsOf({
      calls: { default: 'free', international: 'required', premium: 'authorized', directory: 'required' },
      groups: {
        staff: { calls: { default: 'optional' } },
        lawyers: { calls: { default: 'required', internal: 'free' }, maxAttempts: 4 },
        interns: { calls: { international: 'blocked', premium: 'blocked' } },
      },
      defaultGroup: 'staff',
    });
    type Row = readonly [group: string | undefined, callClass: CallClass, expected: Treatment];
    it.each<Row>([
      ['staff', 'national', 'optional'],
      ['staff', 'international', 'required'],
      ['staff', 'premium', 'authorized'],
      ['lawyers', 'internal', 'free'],
      ['lawyers', 'national', 'required'],
      ['lawyers', 'international', 'required'],
      ['interns', 'international', 'blocked'],
      ['interns', 'premium', 'blocked'],
      ['interns', 'national', 'free'],
      ['interns', 'directory', 'required'],
      [undefined, 'mobile', 'optional'],
      // An unknown destination is never treated more permissively than an international one.
      [undefined, 'unknown', 'required'],
      [undefined, 'external', 'required'],
      ['interns', 'unknown', 'blocked'],
      ['interns', 'external', 'blocked'],
    ])('a member of %s calling a %s number: %s', (group, callClass, expected) => {
      const u = group === undefined ? undefined : user({ group });
      expect(resolveTreatment({ settings, user: u, entryPoint: undefined, callClass })).toBe(expected);
    });
  });

  describe('emergency', () => {
    const everywhereBlocked = settingsOf({
      calls: { default: 'blocked' },
      groups: { g: { calls: { default: 'blocked' } }, h: { calls: { default: 'authorized' } } },
      defaultGroup: 'g',
    });

    it.each<readonly [string, UserRecord | undefined, EntryPointSettings | undefined]>([
      ['an unknown caller in a blocked default group', undefined, undefined],
      ['a user whose own default is blocked', user({ calls: { default: 'blocked' } }), undefined],
      ['a user in an authorized group', user({ group: 'h' }), undefined],
      ['a user in a group that does not exist', user({ group: 'gone' }), undefined],
      ['through an entry point with codes off', user({ calls: { default: 'required' } }), { codes: false, tagByCallerId: true }],
    ])('is free for %s, with default blocked at every level', (_who, u, entryPoint) => {
      const policy = resolvePolicy({ settings: everywhereBlocked, user: u, entryPoint, callClass: 'emergency' });
      expect(policy.treatment).toBe('free');
      expect(policy.proceedAfterMaxAttempts).toBe(false);
    });

    it('is free even for a user record that says otherwise (written outside the schema)', () => {
      const u = user({ calls: { emergency: 'blocked' } as Calls });
      expect(resolveTreatment({ settings: everywhereBlocked, user: u, entryPoint: undefined, callClass: 'emergency' })).toBe('free');
    });

    it('is the only class that is free when everything is blocked', () => {
      const free = CALL_CLASSES.filter((callClass) => resolveTreatment({ settings: everywhereBlocked, user: undefined, entryPoint: undefined, callClass }) === 'free');
      expect(free).toEqual(['emergency']);
    });
  });

  describe('an entry point with codes: false', () => {
    const codesOff: EntryPointSettings = { codes: false, tagByCallerId: true };
    const codesOn: EntryPointSettings = { codes: true, tagByCallerId: true };
    it.each<readonly [Treatment, Treatment, Treatment]>([
      ['free', 'free', 'free'],
      ['optional', 'free', 'optional'],
      ['required', 'free', 'required'],
      ['authorized', 'free', 'authorized'],
      ['blocked', 'blocked', 'blocked'],
    ])('turns %s into %s (and codes: true leaves it %s)', (treatment, off, on) => {
      const settings = settingsOf({ calls: { default: treatment } });
      const input = { settings, user: undefined, callClass: 'national' } as const;
      expect(resolveTreatment({ ...input, entryPoint: codesOff })).toBe(off);
      expect(resolveTreatment({ ...input, entryPoint: codesOn })).toBe(on);
      expect(resolveTreatment({ ...input, entryPoint: undefined })).toBe(on);
    });
  });

  describe('attempt rules', () => {
    const base = { callClass: 'international', entryPoint: undefined } as const;

    it.each<readonly [string, Partial<SettingsInput>, UserRecord | undefined, number]>([
      ['the account value when nothing overrides it', { maxAttempts: 5 }, undefined, 5],
      ['the group value over the account', { maxAttempts: 5, groups: { g: { maxAttempts: 2 } }, defaultGroup: 'g' }, undefined, 2],
      ['the user value over the group', { maxAttempts: 5, groups: { g: { maxAttempts: 2 } } }, user({ group: 'g', maxAttempts: 7 }), 7],
      ['the user value over the account with no group', { maxAttempts: 5 }, user({ maxAttempts: 1 }), 1],
    ])('maxAttempts is %s', (_why, patch, u, expected) => {
      const settings = settingsOf({ calls: { default: 'required' }, ...patch });
      expect(resolvePolicy({ ...base, settings, user: u }).maxAttempts).toBe(expected);
    });

    it.each<readonly [string, Partial<SettingsInput>, UserRecord | undefined, Treatment, boolean]>([
      ['the account value', { validate: false }, undefined, 'required', false],
      ['the group value over the account', { validate: true, groups: { g: { validate: false } }, defaultGroup: 'g' }, undefined, 'optional', false],
      ['the user value over the group', { validate: true, groups: { g: { validate: false } } }, user({ group: 'g', validate: true }), 'required', true],
      ['always true for authorized, whatever the account says', { validate: false }, undefined, 'authorized', true],
      ['always true for authorized, whatever the user says', {}, user({ validate: false }), 'authorized', true],
    ])('validate is %s', (_why, patch, u, treatment, expected) => {
      const settings = settingsOf({ calls: { default: treatment }, ...patch });
      expect(resolvePolicy({ ...base, settings, user: u }).validate).toBe(expected);
    });

    it.each<readonly [string, Partial<SettingsInput>, UserRecord | undefined, Treatment, boolean]>([
      ['false by default', {}, undefined, 'required', false],
      ['the account value for required', { proceedAfterMaxAttempts: true }, undefined, 'required', true],
      [
        'a group may turn it off under an account that allows it',
        { proceedAfterMaxAttempts: true, groups: { g: { proceedAfterMaxAttempts: false } }, defaultGroup: 'g' },
        undefined,
        'required',
        false,
      ],
      [
        'a user may turn it back on where the account allows it',
        { proceedAfterMaxAttempts: true, groups: { g: { proceedAfterMaxAttempts: false } } },
        user({ group: 'g', proceedAfterMaxAttempts: true }),
        'required',
        true,
      ],
      ['a user record may not turn it on under an account that says false', { proceedAfterMaxAttempts: false }, user({ proceedAfterMaxAttempts: true }), 'required', false],
      ['never for authorized, even when everyone allows it', { proceedAfterMaxAttempts: true }, user({ proceedAfterMaxAttempts: true }), 'authorized', false],
      ['not applicable to optional', { proceedAfterMaxAttempts: true }, undefined, 'optional', false],
      ['not applicable to blocked', { proceedAfterMaxAttempts: true }, undefined, 'blocked', false],
    ])('proceedAfterMaxAttempts is %s', (_why, patch, u, treatment, expected) => {
      const settings = settingsOf({ calls: { default: treatment }, ...patch });
      expect(resolvePolicy({ ...base, settings, user: u }).proceedAfterMaxAttempts).toBe(expected);
    });
  });

  describe('groups', () => {
    const settings = settingsOf({
      groups: { staff: { calls: { default: 'optional' } }, lawyers: { calls: { default: 'required' } } },
      defaultGroup: 'staff',
    });

    it('puts an unknown caller in the default group', () => {
      const input: PolicyInput = { settings, user: undefined, entryPoint: undefined, callClass: 'national' };
      expect(resolvePolicy(input)).toMatchObject({ group: 'staff', treatment: 'optional' });
    });

    it('puts a user with no group of their own in the default group', () => {
      expect(groupOf(settings, user()).name).toBe('staff');
    });

    it('keeps a user in their own group', () => {
      const input: PolicyInput = { settings, user: user({ group: 'lawyers' }), entryPoint: undefined, callClass: 'national' };
      expect(resolvePolicy(input)).toMatchObject({ group: 'lawyers', treatment: 'required' });
    });

    it('has no group when the account names no default group', () => {
      const plain = settingsOf({ calls: { default: 'optional' } });
      expect(resolvePolicy({ settings: plain, user: undefined, entryPoint: undefined, callClass: 'national' })).toMatchObject({ group: undefined, treatment: 'optional' });
    });

    it('applies only account rules to a user whose group no longer exists, but keeps the name for code checks', () => {
      const input: PolicyInput = { settings, user: user({ group: 'gone' }), entryPoint: undefined, callClass: 'national' };
      expect(groupOf(settings, user({ group: 'gone' }))).toEqual({ name: 'gone', group: undefined });
      expect(resolvePolicy(input)).toMatchObject({ group: 'gone', treatment: 'free' });
    });
  });

  describe('levels', () => {
    const settings = settingsOf({ levels: { international: 1, premium: 2 } });
    it.each<readonly [CallClass, number]>([
      ['international', 1],
      ['premium', 2],
      ['national', 0],
      ['emergency', 0],
    ])('the minimum level for %s is %i', (callClass, level) => {
      expect(resolvePolicy({ settings, user: undefined, entryPoint: undefined, callClass }).minLevel).toBe(level);
    });
  });
});
