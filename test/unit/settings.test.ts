import { describe, expect, it } from 'vitest';
import { entryPointKind, parseSettings, parseSettingsText, settingsJsonSchema, type ParseResult, type Settings, type ValidationProblem } from '../../functions/core/settings.ts';

const SID = 'AC0123456789abcdef0123456789abcdef';

/** The example of docs/settings.md, as an admin would write it (comments removed). */
const FULL_EXAMPLE = {
  account: 'acme',
  twilioAccountSids: [SID],
  homeCountry: 'US',
  timeZone: 'America/New_York',
  callerId: '+14155550100',
  codeLength: { min: 4, max: 6 },
  maxAttempts: 3,
  validate: true,
  proceedAfterMaxAttempts: false,
  gatherTimeoutSeconds: 6,
  calls: { default: 'free', international: 'required', premium: 'authorized', directory: 'required' },
  levels: { international: 1, premium: 2 },
  groups: {
    staff: { calls: { default: 'optional' } },
    lawyers: { calls: { default: 'required', internal: 'free' }, maxAttempts: 4 },
    interns: { calls: { international: 'blocked', premium: 'blocked' } },
  },
  defaultGroup: 'staff',
  entryPoints: {
    'acme.sip.twilio.com': { codes: true },
    '+14155550100': { forwardTo: 'sip:reception@acme.sip.twilio.com', tagByCallerId: true },
  },
  lockout: { failures: 10, windowMinutes: 15, lockMinutes: 60, accountFailures: 50 },
  outsideLinePrefix: '9',
  exportDelayMinutes: 60,
  afterCallPrompt: false,
  webhooks: ['https://billing.example.com/tollgate'],
  selfTagDays: 7,
  billingIncrementSeconds: 360,
  prompts: { language: 'en-US', voice: 'Polly.Joanna' },
};

const MINIMAL = { account: 'acme', twilioAccountSids: [SID], homeCountry: 'US', timeZone: 'America/New_York' };

function problemsOf(result: ParseResult<Settings>): readonly ValidationProblem[] {
  if (result.ok) throw new Error('expected the document to be rejected, but it parsed');
  return result.problems;
}

function parsedValue(result: ParseResult<Settings>): Settings {
  if (!result.ok) throw new Error(`expected the document to parse: ${JSON.stringify(result.problems)}`);
  return result.value;
}

/** The minimal document with `patch` merged in at the top level. */
const doc = (patch: Record<string, unknown>) => ({ ...MINIMAL, ...patch });

describe('settings', () => {
  it('accepts the example of docs/settings.md and keeps every value as written', () => {
    const s = parsedValue(parseSettings(FULL_EXAMPLE));
    expect(s.calls).toEqual(FULL_EXAMPLE.calls);
    expect(s.groups.lawyers).toEqual({ calls: { default: 'required', internal: 'free' }, maxAttempts: 4 });
    expect(s.defaultGroup).toBe('staff');
    expect(s.levels).toEqual({ international: 1, premium: 2 });
    expect(s.entryPoints['+14155550100']).toEqual({
      codes: true,
      forwardTo: 'sip:reception@acme.sip.twilio.com',
      tagByCallerId: true,
    });
  });

  it('applies every default to a minimal document', () => {
    const s = parsedValue(parseSettings(MINIMAL));
    expect(s).toEqual({
      ...MINIMAL,
      codeLength: { min: 4, max: 6 },
      maxAttempts: 3,
      validate: true,
      proceedAfterMaxAttempts: false,
      gatherTimeoutSeconds: 6,
      calls: { default: 'free' },
      levels: {},
      groups: {},
      entryPoints: {},
      lockout: { failures: 10, windowMinutes: 15, lockMinutes: 60, accountFailures: 50 },
      billingIncrementSeconds: 60,
      exportDelayMinutes: 60,
      afterCallPrompt: false,
      webhooks: [],
      selfTagDays: 7,
      prompts: { language: 'en-US' },
    });
  });

  it('fills in entry point defaults: codes on, tagging by caller ID on', () => {
    const s = parsedValue(parseSettings(doc({ entryPoints: { 'acme.sip.twilio.com': {} } })));
    expect(s.entryPoints['acme.sip.twilio.com']).toEqual({ codes: true, tagByCallerId: true });
  });

  type Rule = readonly [rule: string, document: unknown, path: string, message: RegExp];
  const rules: Rule[] = [
    ['emergency may not be required at the account', doc({ calls: { emergency: 'required' } }), 'calls.emergency', /emergency calls are always free/],
    ['emergency may not be blocked at the account', doc({ calls: { emergency: 'blocked' } }), 'calls.emergency', /cannot be "blocked"/],
    ['emergency may not be optional in a group', doc({ groups: { staff: { calls: { emergency: 'optional' } } } }), 'groups.staff.calls.emergency', /always free/],
    ['emergency may not be authorized in a group', doc({ groups: { g: { calls: { emergency: 'authorized' } } } }), 'groups.g.calls.emergency', /always free/],
    ['a treatment must be one of the five', doc({ calls: { international: 'maybe' } }), 'calls.international', /must be one of free, optional, required, authorized, blocked/],
    [
      'a group may not proceed after the last attempt when the account does not',
      doc({ groups: { staff: { proceedAfterMaxAttempts: true } } }),
      'groups.staff.proceedAfterMaxAttempts',
      /only when the account allows it/,
    ],
    ['codeLength min may not exceed max', doc({ codeLength: { min: 6, max: 4 } }), 'codeLength.min', /min must not be greater than max/],
    ['codeLength below 2', doc({ codeLength: { min: 1, max: 4 } }), 'codeLength.min', /at least 2/],
    ['codeLength above 14', doc({ codeLength: { min: 4, max: 15 } }), 'codeLength.max', /at most 14/],
    ['maxAttempts of 0', doc({ maxAttempts: 0 }), 'maxAttempts', /at least 1/],
    ['maxAttempts of 10', doc({ maxAttempts: 10 }), 'maxAttempts', /at most 9/],
    ['a group maxAttempts of 10', doc({ groups: { g: { maxAttempts: 10 } } }), 'groups.g.maxAttempts', /at most 9/],
    ['gatherTimeoutSeconds of 2', doc({ gatherTimeoutSeconds: 2 }), 'gatherTimeoutSeconds', /at least 3 seconds/],
    ['gatherTimeoutSeconds of 16', doc({ gatherTimeoutSeconds: 16 }), 'gatherTimeoutSeconds', /at most 15 seconds/],
    ['a time zone that does not exist', doc({ timeZone: 'Mars/Olympus_Mons' }), 'timeZone', /IANA time zone/],
    ['a country that does not exist', doc({ homeCountry: 'XX' }), 'homeCountry', /ISO 3166-1 alpha-2/],
    ['a country in lower case', doc({ homeCountry: 'us' }), 'homeCountry', /in capitals/],
    ['an account slug with capitals', doc({ account: 'Acme' }), 'account', /lower-case/],
    ['an Account SID of the wrong shape', doc({ twilioAccountSids: ['AC123'] }), 'twilioAccountSids[0]', /"AC" and 32 hex digits/],
    ['no Account SID at all', doc({ twilioAccountSids: [] }), 'twilioAccountSids', /at least one/],
    ['a caller ID that is not E.164', doc({ callerId: '4155550100' }), 'callerId', /E\.164/],
    ['a level above 255', doc({ levels: { premium: 256 } }), 'levels.premium', /at most 255/],
    ['an unknown top-level key', doc({ maxAttempt: 3 }), '(document)', /unknown key "maxAttempt"/],
    ['an unknown key in a group', doc({ groups: { g: { maxAttempt: 3 } } }), 'groups.g', /unknown key "maxAttempt"/],
    ['an unknown call class', doc({ calls: { satellite: 'blocked' } }), 'calls', /unknown key "satellite"/],
    ['an unknown key in codeLength', doc({ codeLength: { min: 4, max: 6, exact: 5 } }), 'codeLength', /unknown key "exact"/],
    ['an unknown prompt', doc({ prompts: { welcome: 'Hi' } }), 'prompts', /unknown key "welcome"/],
    ['an unknown key in an entry point', doc({ entryPoints: { '+14155550100': { forward: 'client:bob' } } }), 'entryPoints.+14155550100', /unknown key "forward"/],
    ['a defaultGroup that is not a group', doc({ defaultGroup: 'staff' }), 'defaultGroup', /names the group "staff", which is not defined/],
    ['an entry point key that is neither number, domain nor app', doc({ entryPoints: { 'not a key': {} } }), 'entryPoints.not a key', /entry point keys are/],
    [
      'forwarding from a SIP domain',
      doc({ entryPoints: { 'acme.sip.twilio.com': { forwardTo: '+14155550199' } } }),
      'entryPoints.acme.sip.twilio.com.forwardTo',
      /only a Twilio number can forward/,
    ],
    [
      'forwarding from a TwiML app',
      doc({ entryPoints: { AP0123456789abcdef0123456789abcdef: { forwardTo: '+14155550199' } } }),
      'entryPoints.AP0123456789abcdef0123456789abcdef.forwardTo',
      /only a Twilio number can forward/,
    ],
    ['forwarding a number to itself', doc({ entryPoints: { '+14155550100': { forwardTo: '+14155550100' } } }), 'entryPoints.+14155550100.forwardTo', /to itself/],
    [
      'forwarding to something that cannot be dialled',
      doc({ entryPoints: { '+14155550100': { forwardTo: 'reception' } } }),
      'entryPoints.+14155550100.forwardTo',
      /E\.164 number .* client:<identity> or sip:<user>@<domain>/,
    ],
    ['a prompt with a control character', doc({ prompts: { invalidCode: 'No\u0007' } }), 'prompts.invalidCode', /control characters/],
    ['a missing account', { twilioAccountSids: [SID], homeCountry: 'US', timeZone: 'America/New_York' }, 'account', /is required/],
  ];

  it.each(rules)('rejects %s', (_rule, document, path, message) => {
    const problems = problemsOf(parseSettings(document));
    const hit = problems.find((p) => p.path === path);
    expect(hit, `problems were ${JSON.stringify(problems)}`).toBeDefined();
    expect(hit?.message).toMatch(message);
  });

  // zod 4 leaves `issue.input` out unless the parse asks for `reportInput`; without it every
  // wrong-type value was reported as "is required".
  it.each([
    ['a maxAttempts that is not whole', { maxAttempts: 2.5 }, 'maxAttempts', /whole number from 1 to 9/],
    ['a maxAttempts written as a string', { maxAttempts: '3' }, 'maxAttempts', /whole number from 1 to 9/],
    ['a validate written as "yes"', { validate: 'yes' }, 'validate', /true or false/],
  ] as const)('says what is wrong with %s instead of "is required"', (_what, patch, path, message) => {
    const hit = problemsOf(parseSettings(doc(patch))).find((p) => p.path === path);
    expect(hit?.message).toMatch(message);
  });

  it('says "is required" for a key that is really missing', () => {
    const { timeZone: _omitted, ...rest } = MINIMAL;
    expect(problemsOf(parseSettings(rest))).toEqual([{ path: 'timeZone', message: 'is required: an IANA time zone such as "America/New_York"' }]);
  });

  it('lets a group proceed after the last attempt when the account allows it', () => {
    const s = parsedValue(parseSettings(doc({ proceedAfterMaxAttempts: true, groups: { staff: { proceedAfterMaxAttempts: true } } })));
    expect(s.groups.staff?.proceedAfterMaxAttempts).toBe(true);
  });

  it('lets emergency say free explicitly, at the account and in a group', () => {
    const s = parsedValue(parseSettings(doc({ calls: { default: 'blocked', emergency: 'free' }, groups: { g: { calls: { emergency: 'free' } } } })));
    expect(s.calls.emergency).toBe('free');
  });

  it('accepts a fixed code length and the extremes 2 and 14', () => {
    expect(parsedValue(parseSettings(doc({ codeLength: { min: 5, max: 5 } }))).codeLength).toEqual({ min: 5, max: 5 });
    expect(parsedValue(parseSettings(doc({ codeLength: { min: 2, max: 14 } }))).codeLength).toEqual({ min: 2, max: 14 });
  });

  it('reports every problem of a document at once, not only the first', () => {
    const problems = problemsOf(parseSettings(doc({ maxAttempts: 0, homeCountry: 'XX', calls: { emergency: 'blocked' } })));
    expect(problems.map((p) => p.path).sort()).toEqual(['calls.emergency', 'homeCountry', 'maxAttempts']);
  });

  it('rejects a document that is not an object', () => {
    const problems = problemsOf(parseSettings(['acme']));
    expect(problems[0]?.path).toBe('(document)');
  });

  describe('entry point keys', () => {
    it.each([
      ['+14155550100', 'number'],
      ['acme.sip.twilio.com', 'sipDomain'],
      ['AP0123456789abcdef0123456789abcdef', 'application'],
      ['4155550100', undefined],
      ['acme', undefined],
      ['AP123', undefined],
    ] as const)('%s is %s', (key, kind) => {
      expect(entryPointKind(key)).toBe(kind);
    });
  });

  describe('parseSettingsText', () => {
    it('parses a file saved with a byte order mark', () => {
      const s = parsedValue(parseSettingsText(`\uFEFF${JSON.stringify(FULL_EXAMPLE, null, 2)}`));
      expect(s.account).toBe('acme');
    });

    it('reports invalid JSON as a problem with the document, with the parser message', () => {
      const problems = problemsOf(parseSettingsText('{ "account": "acme", }'));
      expect(problems).toHaveLength(1);
      expect(problems[0]?.path).toBe('(document)');
      expect(problems[0]?.message).toMatch(/^is not valid JSON: /);
    });

    it('reports invalid JSON after a byte order mark the same way', () => {
      const problems = problemsOf(parseSettingsText('\uFEFF{ account: acme }'));
      expect(problems[0]?.message).toMatch(/^is not valid JSON/);
    });

    it('reports schema problems of valid JSON', () => {
      const problems = problemsOf(parseSettingsText(JSON.stringify(doc({ maxAttempts: 10 }))));
      expect(problems).toEqual([{ path: 'maxAttempts', message: 'must be at most 9' }]);
    });
  });

  describe('settingsJsonSchema', () => {
    const schema = settingsJsonSchema();

    it('is an object schema that lists every top-level property and allows no others', () => {
      expect(schema.type).toBe('object');
      expect(schema.additionalProperties).toBe(false);
      // Every key of docs/settings.md, plus `$schema` so a document can point an editor at this schema.
      expect(Object.keys(schema.properties as object).sort()).toEqual([...Object.keys(FULL_EXAMPLE), '$schema'].sort());
    });

    it('accepts a "$schema" pointer in a document', () => {
      expect(parseSettings({ ...FULL_EXAMPLE, $schema: './settings.schema.json' }).ok).toBe(true);
    });

    it('requires what has no default and names itself', () => {
      expect([...(schema.required as string[])].sort()).toEqual(['account', 'homeCountry', 'timeZone', 'twilioAccountSids']);
      expect(schema.$id).toBe('https://tollgate.dev/schemas/settings.json');
      expect(typeof schema.$schema).toBe('string');
    });

    it('offers the treatments for editors to complete', () => {
      const calls = (schema.properties as Record<string, { properties?: Record<string, { enum?: string[] }> }>).calls;
      expect(calls?.properties?.international?.enum).toEqual(['free', 'optional', 'required', 'authorized', 'blocked']);
    });

    it('is plain JSON', () => {
      expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    });
  });
});
