/**
 * Properties of the call flow over random accounts, users, destinations and callers (docs/design.md): every call ends in a dial or a hang-up within `maxAttempts + 1` responses, emergency
 * numbers always dial on the first response, and a failed code sounds the same whatever the
 * reason.
 */
import fc from 'fast-check';
import { getCountryCallingCode, type CountryCode } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { decide, type CallState, type Decision } from '../../functions/core/callflow.ts';
import { classify } from '../../functions/core/classify.ts';
import { checkCode, type StoredCode } from '../../functions/core/codes.ts';
import type { LockoutRecord } from '../../functions/core/lockout.ts';
import { EMERGENCY_NUMBERS, UNIVERSAL_EMERGENCY } from '../../functions/core/numbering-tables.ts';
import type { Settings, UserRecord } from '../../functions/core/settings.ts';
import type { Action } from '../../functions/core/types.ts';
import { EMERGENCY_CALLER_ID } from '../fixtures/twilio/forms.ts';
import { CALLERS, calls, DOMAIN, GROUP_NAMES, MAIN_NUMBER, NOW, settingsArb } from '../support/arbitraries.ts';

const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();

/** Emergency numbers in every accepted spelling for a home country. */
function emergencyForms(home: string): string[] {
  const cc = getCountryCallingCode(home as CountryCode);
  const numbers = [...UNIVERSAL_EMERGENCY, ...(EMERGENCY_NUMBERS.get(home) ?? [])];
  return numbers.flatMap((n) => [n, `+${cc}${n}`, `+${cc} ${n}`, `sip:${n}@${DOMAIN}`, `tel:${n}`]);
}

const destination = fc.oneof(
  fc.constantFrom('911', '112', '999', '000', '111', '110', '119', '+1911', '+44999', '+61000', `sip:112@${DOMAIN}`),
  fc.constantFrom(
    '+14155550123', // US
    '+12125551234',
    '4155550123',
    '+19002001234', // US premium
    '+18005551234', // US toll-free
    '+18765551234', // Jamaica
    '+16135550123', // Canada
    '+442071838750', // GB
    '+447400123456',
    '+33142685300', // FR
    '+4915123456789', // DE mobile
    '+61291234567', // AU
    '+6494567890', // NZ
    '+81312345678', // JP
    '+919876543210', // IN
    '411',
    '0',
    MAIN_NUMBER,
  ),
  fc.constantFrom('client:bob', 'client:', `sip:dave@${DOMAIN}`, 'sip:eve@elsewhere.example', `sip:+442071838750@${DOMAIN}`),
  fc.string({ maxLength: 20 }),
);

const identity = fc.constantFrom(...CALLERS, 'client:zed');

const storedCode: fc.Arbitrary<StoredCode> = fc.record(
  {
    kind: fc.constantFrom('account' as const, 'authorization' as const),
    code: fc.stringMatching(/^[0-9]{2,14}$/),
    ref: fc.stringMatching(/^[0-9a-f]{8}$/),
    description: fc.string({ maxLength: 20 }),
    enabled: fc.boolean(),
    expires: fc.constantFrom('2026-06-14', '2026-06-15', '2027-01-01'),
    level: fc.integer({ min: 0, max: 4 }),
    users: fc.array(identity, { maxLength: 2 }),
    groups: fc.array(fc.constantFrom(...GROUP_NAMES), { maxLength: 2 }),
  },
  { requiredKeys: ['kind', 'enabled'] },
);

const lockoutRecord: fc.Arbitrary<LockoutRecord | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant({ windowStart: at(-5), failures: 0, lockedUntil: at(30) }),
  fc.constant({ windowStart: at(-300), failures: 0, lockedUntil: at(-200) }),
  fc.record({ windowStart: fc.integer({ min: -90, max: 0 }).map(at), failures: fc.integer({ min: 0, max: 12 }) }),
);

const userArb: fc.Arbitrary<UserRecord | undefined> = fc.option(
  fc.record(
    {
      id: fc.constant(CALLERS[0] as string),
      group: fc.constantFrom(...GROUP_NAMES, 'gone'),
      callerId: fc.constant('+14155550177'),
      maxAttempts: fc.integer({ min: 1, max: 9 }),
      validate: fc.boolean(),
      proceedAfterMaxAttempts: fc.boolean(),
      calls,
    },
    { requiredKeys: ['id'] },
  ),
  { nil: undefined },
);

interface Turn {
  readonly digits: string;
  /** Stretch or cut the digits to a length the account accepts, so codes get checked. */
  readonly fit: boolean;
  readonly lookup: StoredCode | undefined;
  readonly lockout: LockoutRecord | undefined;
  readonly duplicate: boolean;
}

const turn: fc.Arbitrary<Turn> = fc.record({
  digits: fc.oneof(fc.constant(''), fc.constant('#'), fc.stringMatching(/^[0-9]{1,16}#?$/), fc.stringMatching(/^[0-9*]{0,6}$/)),
  fit: fc.boolean(),
  lookup: fc.oneof(
    fc.constant(undefined),
    storedCode,
    // Codes that pass every check a code can pass on its own.
    fc.constant<StoredCode>({ kind: 'account', code: '0042', description: 'Matter', enabled: true }),
    fc.constant<StoredCode>({ kind: 'authorization', ref: 'abcdef01', description: 'Intl', enabled: true, level: 4 }),
  ),
  lockout: lockoutRecord,
  /** Twilio delivers this step twice. */
  duplicate: fc.boolean(),
});

function fitted(digits: string, length: { readonly min: number; readonly max: number }): string {
  const bare = digits.replace(/[^0-9]/g, '') || '5';
  return bare.padEnd(length.min, '5').slice(0, length.max);
}

// ---------------------------------------------------------------------------------------
// Invariants

const ENDS_TURN = new Set<Action['type']>(['gather', 'dial', 'hangup']);

/** Every response ends in exactly one verb that moves the call on, preceded only by `say`. */
function expectMovesOn(d: Decision, settings: Settings): void {
  const { actions, state } = d;
  expect(actions.length).toBeGreaterThan(0);
  const last = actions.at(-1) as Action;
  expect(ENDS_TURN.has(last.type), `ends in ${last.type}`).toBe(true);
  for (const a of actions.slice(0, -1)) expect(a.type).toBe('say');
  if (last.type === 'gather') {
    expect(state.phase).toBe('prompting');
    expect(last.step).toBe(state.step + 1);
    expect(last.timeoutSeconds).toBe(settings.gatherTimeoutSeconds);
    const { min, max } = settings.codeLength;
    expect(last.numDigits).toBe(min === max ? min : undefined);
  } else if (last.type === 'dial') {
    expect(state.phase).toBe('dialling');
  } else {
    expect(state.phase).toBe('ended');
    expect(state.outcome).toBeDefined();
  }
  // Authorization digits are never kept; attempts never exceed the limit.
  if (state.codeKind === 'authorization' || state.treatment === 'authorized') expect(state.code).toBeUndefined();
  expect(state.attempts).toBeLessThanOrEqual(state.maxAttempts);
}

interface Scenario {
  readonly settings: Settings;
  readonly user: UserRecord | undefined;
  readonly from: string;
  readonly to: string;
  readonly lockout: LockoutRecord | undefined;
  readonly turns: readonly Turn[];
}

/** Run a call to its end; returns every response that changed the call, in order. */
function simulate(s: Scenario): Decision[] {
  const ctx = { settings: s.settings, now: NOW };
  let d = decide(
    undefined,
    { type: 'start', call: { callSid: 'CA1', from: s.from, to: s.to, sipDomain: DOMAIN }, user: s.user, lockout: s.lockout, emergencyCallerId: EMERGENCY_CALLER_ID },
    ctx,
  );
  const responses = [d];
  expectMovesOn(d, s.settings);
  for (let i = 0; d.actions.at(-1)?.type === 'gather'; i++) {
    if (i > 20) throw new Error('the call is still prompting after 20 responses');
    const t = s.turns[i] ?? { digits: '', fit: false, lookup: undefined, lockout: undefined, duplicate: false };
    const gather = d.actions.at(-1) as Extract<Action, { type: 'gather' }>;
    const digits = t.fit ? fitted(t.digits, s.settings.codeLength) : t.digits;
    const event = { type: 'code' as const, step: gather.step, digits, lookup: t.lookup, lockout: t.lockout };
    const next = decide(d.state, event, ctx);
    expect(next.changed).toBe(true);
    expectMovesOn(next, s.settings);
    if (t.duplicate) {
      const again = decide(next.state, event, ctx);
      expect(again).toEqual({ state: next.state, actions: next.actions, effects: [], changed: false });
    }
    d = next;
    responses.push(d);
  }
  return responses;
}

const scenario = fc.record({
  settings: settingsArb,
  user: userArb,
  from: fc.constantFrom(...CALLERS),
  to: destination,
  lockout: lockoutRecord,
  turns: fc.array(turn, { maxLength: 12 }),
});

// ---------------------------------------------------------------------------------------

describe('call flow properties', () => {
  it('ends every call in a dial or a hang-up within maxAttempts + 1 responses', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const responses = simulate(s);
        const last = responses.at(-1) as Decision;
        expect(['dial', 'hangup']).toContain(last.actions.at(-1)?.type);
        expect(responses.length).toBeLessThanOrEqual(last.state.maxAttempts + 1);
        // The first response decides the rest: only a gather leads to more responses.
        for (const r of responses.slice(0, -1)) expect(r.actions.at(-1)?.type).toBe('gather');
      }),
      { numRuns: 400 },
    );
  });

  it('follows the last column of the docs/settings.md table when every attempt fails', () => {
    const failing = fc.record({
      settings: settingsArb,
      treatment: fc.constantFrom('optional' as const, 'required' as const, 'authorized' as const),
      guesses: fc.array(fc.stringMatching(/^[0-9]{1,16}$/), { minLength: 9, maxLength: 9 }),
      silent: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
    });
    fc.assert(
      fc.property(failing, ({ settings: base, treatment, guesses, silent }) => {
        // Every class prompts, nobody overrides, and the lockout is out of reach.
        const settings: Settings = {
          ...base,
          calls: { default: treatment },
          groups: {},
          entryPoints: {},
          lockout: { failures: 100, windowMinutes: 15, lockMinutes: 60, accountFailures: 10_000 },
        };
        // Without validation any code of the right length is accepted: there, only a wrong length fails.
        const tooLong = '1'.repeat(settings.codeLength.max + 1);
        const turns: Turn[] = guesses.map((digits, i) => ({
          // Silence skips an optional prompt: only wrong digits fail it.
          digits: silent[i] === true && treatment !== 'optional' ? '' : settings.validate ? digits : tooLong,
          fit: settings.validate && i % 2 === 0,
          lookup: undefined,
          lockout: undefined,
          duplicate: false,
        }));
        const responses = simulate({ settings, user: undefined, from: CALLERS[0], to: '+33142685300', lockout: undefined, turns });
        const last = responses.at(-1) as Decision;
        expect(responses).toHaveLength(settings.maxAttempts + 1);
        expect(last.state).toMatchObject({ attempts: settings.maxAttempts, codeStatus: 'invalid' });
        const proceeds = treatment === 'optional' || (treatment === 'required' && settings.proceedAfterMaxAttempts);
        if (proceeds) {
          expect(last.actions.map((a) => a.type)).toEqual(['dial']);
          expect(last.state.code).toBeUndefined();
        } else {
          expect(last.actions.map((a) => a.type)).toEqual(['say', 'hangup']);
          expect(last.state.outcome).toBe('blocked');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never asks a free or blocked call for a code, and never dials a blocked one', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const [first] = simulate(s) as [Decision];
        // Inbound calls are forwarded or refused by their entry point, not by a treatment.
        if (first.state.destinationClass === 'emergency' || first.state.direction === 'inbound') return;
        if (first.state.treatment === 'free') expect(first.actions.at(-1)?.type).toBe('dial');
        if (first.state.treatment === 'blocked') expect(first.actions).toEqual([{ type: 'say', text: expect.any(String) }, { type: 'hangup' }]);
      }),
      { numRuns: 200 },
    );
  });

  it('tags a call as valid only with a code that passes the check', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const responses = simulate(s);
        const last = responses.at(-1) as Decision;
        if (last.state.codeStatus !== 'valid' || responses.length < 2) return;
        const lookup = s.turns[responses.length - 2]?.lookup;
        const kind = last.state.treatment === 'authorized' ? 'authorization' : 'account';
        const check = checkCode(lookup, { kind, user: last.state.user, group: last.state.group, minLevel: last.state.minLevel, now: NOW, timeZone: s.settings.timeZone });
        expect(check.ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('dials an emergency number on the first response, whatever the settings, user or lockout', () => {
    const emergency = fc.record({ settings: settingsArb, user: userArb, from: fc.constantFrom(...CALLERS), lockout: lockoutRecord, pick: fc.nat() }).map((r) => {
      const forms = emergencyForms(r.settings.homeCountry);
      return { ...r, to: forms[r.pick % forms.length] as string };
    });
    fc.assert(
      fc.property(emergency, ({ settings, user, from, lockout, to }) => {
        expect(classify(to, { homeCountry: settings.homeCountry })).toBe('emergency');
        const d = decide(
          undefined,
          { type: 'start', call: { callSid: 'CA1', from, to, sipDomain: DOMAIN }, user, lockout, emergencyCallerId: EMERGENCY_CALLER_ID },
          { settings, now: NOW },
        );
        expect(d.actions).toHaveLength(1);
        const dial = d.actions[0];
        expect(dial?.type).toBe('dial');
        // Dialled as the short number the emergency service answers (911, not +1911).
        expect(dial).toMatchObject({ target: { kind: 'number', number: expect.stringMatching(/^[0-9]{2,5}$/) } });
        expect(d.state).toMatchObject({ codeStatus: 'exempt', destinationClass: 'emergency', phase: 'dialling' });
        expect(d.effects).toContainEqual(expect.objectContaining({ type: 'alert', kind: 'emergency', destination: to }));
      }),
      { numRuns: 300 },
    );
  });

  it('dials an emergency number at once even when every level blocks every call and the user is locked out', () => {
    const blockedEverywhere = settingsArb.map((s) => ({
      ...s,
      calls: { default: 'blocked' as const },
      groups: Object.fromEntries(Object.keys(s.groups).map((g) => [g, { calls: { default: 'blocked' as const } }])),
    }));
    fc.assert(
      fc.property(blockedEverywhere, fc.nat(), (settings, pick) => {
        const forms = emergencyForms(settings.homeCountry);
        const to = forms[pick % forms.length] as string;
        const user: UserRecord = { id: CALLERS[0], calls: { default: 'blocked' } };
        const lockout: LockoutRecord = { windowStart: at(-1), failures: 0, lockedUntil: at(60) };
        const d = decide(
          undefined,
          { type: 'start', call: { callSid: 'CA1', from: CALLERS[0], to }, user, lockout, emergencyCallerId: EMERGENCY_CALLER_ID },
          { settings, now: NOW },
        );
        expect(d.actions.map((a) => a.type)).toEqual(['dial']);
      }),
      { numRuns: 200 },
    );
  });

  it('answers a failed code with the same words whatever the reason it failed', () => {
    const prompted = fc
      .record({
        settings: settingsArb.map((s) => ({ ...s, calls: { default: 'required' as const }, levels: { ...s.levels, international: 2, national: 2, unknown: 2 } })),
        treatment: fc.constantFrom('optional' as const, 'required' as const, 'authorized' as const),
        user: userArb.map((u) => (u === undefined ? undefined : { ...u, calls: undefined })),
        lockout: lockoutRecord,
        seed: fc.nat(),
        to: fc.constantFrom('+442071838750', '+14155550123', 'garbage'),
      })
      .map((r) => ({ ...r, settings: { ...r.settings, calls: { default: r.treatment }, groups: {} } as Settings }));
    fc.assert(
      fc.property(prompted, ({ settings, user, lockout, seed, to }) => {
        const ctx = { settings, now: NOW };
        const first = decide(
          undefined,
          { type: 'start', call: { callSid: 'CA1', from: CALLERS[0], to, sipDomain: DOMAIN }, user, lockout: undefined, emergencyCallerId: EMERGENCY_CALLER_ID },
          ctx,
        );
        if (first.state.phase !== 'prompting') return; // e.g. an entry point with codes off
        const state: CallState = first.state;
        const { min, max } = settings.codeLength;
        const digits = String(seed)
          .padStart(max, '7')
          .slice(0, min + (seed % (max - min + 1)));
        const kind = state.treatment === 'authorized' ? 'authorization' : 'account';
        const good: StoredCode =
          kind === 'account' ? { kind, code: digits, description: 'Matter 1', enabled: true } : { kind, ref: 'abcdef01', description: 'Intl', enabled: true, level: 2 };
        const failing: [string, StoredCode | undefined][] = [
          ['not-found', undefined],
          ['disabled', { ...good, enabled: false }],
          ['expired', { ...good, expires: '2026-06-01' }],
          ['not-allowed', { ...good, users: ['client:nobody'], groups: ['nobody'] }],
          ['wrong-kind', { ...good, kind: kind === 'account' ? 'authorization' : 'account' }],
        ];
        if (kind === 'authorization') failing.push(['low-level', { ...good, level: state.minLevel - 1 }]);
        const answers = failing.map(([, lookup]) => decide(state, { type: 'code', step: 1, digits, lookup, lockout }, ctx));
        if (state.validate) {
          // A code of the wrong length sounds the same as a wrong code.
          answers.push(decide(state, { type: 'code', step: 1, digits: '1'.repeat(max + 1), lookup: good, lockout }, ctx));
        }
        const texts = (d: Decision) => d.actions.map((a) => (a.type === 'say' ? a.text : a.type === 'gather' ? a.prompt : a.type));
        for (const a of answers) {
          expect(a.actions).toEqual(answers[0]?.actions);
          expect(texts(a)).toEqual(texts(answers[0] as Decision));
          expect(a.state.codeStatus).toBe(answers[0]?.state.codeStatus);
        }
        // And the good code really is accepted, so the failures above are failures of the code.
        const accepted = decide(state, { type: 'code', step: 1, digits, lookup: good, lockout: undefined }, ctx);
        expect(['valid', 'unvalidated']).toContain(accepted.state.codeStatus);
      }),
      { numRuns: 300 },
    );
  });

  it('ends in one usage record whichever order the dial result and status arrive in', () => {
    fc.assert(
      fc.property(
        scenario,
        fc.constantFrom('completed', 'answered', 'busy', 'no-answer', 'failed', 'canceled', 'odd'),
        fc.integer({ min: 0, max: 3600 }),
        fc.integer({ min: 0, max: 3600 }),
        (s, dialStatus, talk, duration) => {
          const end = (simulate(s).at(-1) as Decision).state;
          const ctx = { settings: s.settings, now: NOW };
          const dc = { type: 'dial-complete' as const, dialCallStatus: dialStatus, dialCallDuration: talk };
          const st = { type: 'status' as const, callStatus: 'completed', callDuration: duration };
          const a = decide(decide(end, dc, ctx).state, st, ctx).state;
          const b = decide(decide(end, st, ctx).state, dc, ctx).state;
          expect(a).toEqual(b);
          expect(a.phase).toBe('ended');
          expect(a.outcome).toBeDefined();
          expect(a.durationS).toBe(duration);
          if (end.phase === 'dialling') expect(a.dialCompleted).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
