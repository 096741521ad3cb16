/**
 * fast-check arbitraries shared by the property suites: whole settings documents that the
 * schema accepts (every treatment at every level, groups, entry points, lockouts, an
 * outside-line prefix), with the names they use.
 */
import fc from 'fast-check';
import { parseSettings, type Settings } from '../../functions/core/settings.ts';
import { CALL_CLASSES, TREATMENTS } from '../../functions/core/types.ts';

export const NOW = new Date('2026-06-15T14:00:00Z');
export const SID = 'AC0123456789abcdef0123456789abcdef';
export const DOMAIN = 'acme.sip.twilio.com';
export const MAIN_NUMBER = '+14155550100';
export const HOMES = ['US', 'CA', 'GB', 'AU', 'NZ', 'DE', 'FR', 'JP', 'IN'] as const;
export const GROUP_NAMES = ['staff', 'lawyers', 'interns', 'ops'] as const;
export const CALLERS = [`sip:alice@${DOMAIN}`, 'client:bob', '+14155550123', `sip:carol@${DOMAIN}`] as const;

// ---------------------------------------------------------------------------------------
// Arbitraries

export const treatment = fc.constantFrom(...TREATMENTS);
const classes = CALL_CLASSES.filter((c) => c !== 'emergency');

/** A `calls` object: any treatment for any class or default; emergency only ever `free`. */
export const calls = fc.record(
  {
    default: treatment,
    emergency: fc.constant('free' as const),
    ...Object.fromEntries(classes.map((c) => [c, treatment])),
  },
  { requiredKeys: [] },
);

const group = fc.record({ calls, maxAttempts: fc.integer({ min: 1, max: 9 }), validate: fc.boolean(), proceedAfterMaxAttempts: fc.boolean() }, { requiredKeys: [] });

const codeLength = fc.tuple(fc.integer({ min: 2, max: 14 }), fc.integer({ min: 2, max: 14 })).map(([a, b]) => ({ min: Math.min(a, b), max: Math.max(a, b) }));

/** A valid settings document (only what the schema accepts), parsed so defaults apply. */
export const settingsArb: fc.Arbitrary<Settings> = fc
  .record({
    homeCountry: fc.constantFrom(...HOMES),
    calls,
    maxAttempts: fc.integer({ min: 1, max: 9 }),
    codeLength,
    validate: fc.boolean(),
    proceedAfterMaxAttempts: fc.boolean(),
    gatherTimeoutSeconds: fc.integer({ min: 3, max: 15 }),
    groups: fc.dictionary(fc.constantFrom(...GROUP_NAMES), group, { maxKeys: 3 }),
    defaultGroup: fc.option(fc.nat(), { nil: undefined }),
    levels: fc.dictionary(fc.constantFrom(...CALL_CLASSES), fc.integer({ min: 0, max: 3 }), { maxKeys: 4 }),
    lockout: fc.record({ failures: fc.integer({ min: 1, max: 12 }), windowMinutes: fc.integer({ min: 1, max: 60 }), lockMinutes: fc.integer({ min: 1, max: 120 }) }),
    sipCodes: fc.boolean(),
    mainNumber: fc.constantFrom('absent', 'forwards', 'no-calls'),
    callerId: fc.option(fc.constant(MAIN_NUMBER), { nil: undefined }),
    outsideLinePrefix: fc.option(fc.constantFrom('9', '0', '8', '81'), { nil: undefined }),
  })
  .map((g) => {
    const groups = Object.fromEntries(
      Object.entries(g.groups).map(([name, grp]) => [
        name,
        // A group may only say `proceedAfterMaxAttempts: true` where the account does.
        g.proceedAfterMaxAttempts ? grp : { ...grp, proceedAfterMaxAttempts: grp.proceedAfterMaxAttempts === true ? false : grp.proceedAfterMaxAttempts },
      ]),
    );
    const names = Object.keys(groups);
    const entryPoints: Record<string, unknown> = { [DOMAIN]: { codes: g.sipCodes } };
    if (g.mainNumber === 'forwards') entryPoints[MAIN_NUMBER] = { forwardTo: `sip:reception@${DOMAIN}` };
    if (g.mainNumber === 'no-calls') entryPoints[MAIN_NUMBER] = {};
    const document = {
      account: 'acme',
      twilioAccountSids: [SID],
      homeCountry: g.homeCountry,
      timeZone: 'America/New_York',
      ...(g.callerId === undefined ? {} : { callerId: g.callerId }),
      codeLength: g.codeLength,
      maxAttempts: g.maxAttempts,
      validate: g.validate,
      proceedAfterMaxAttempts: g.proceedAfterMaxAttempts,
      gatherTimeoutSeconds: g.gatherTimeoutSeconds,
      calls: g.calls,
      levels: g.levels,
      groups,
      ...(g.defaultGroup === undefined || names.length === 0 ? {} : { defaultGroup: names[g.defaultGroup % names.length] }),
      entryPoints,
      lockout: g.lockout,
      ...(g.outsideLinePrefix === undefined ? {} : { outsideLinePrefix: g.outsideLinePrefix }),
    };
    const parsed = parseSettings(document);
    if (!parsed.ok) throw new Error(`the generator made an invalid document: ${JSON.stringify(parsed.problems)}`);
    return parsed.value;
  });
