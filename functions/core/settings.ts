/**
 * The account settings document of docs/settings.md as a zod schema: defaults, cross-field rules and
 * messages that say where the problem is and what to do. The JSON Schema an editor can use
 * comes from {@link settingsJsonSchema}.
 */
import { z } from 'zod';
import { isSupportedCountry } from './phone-numbers.ts';
import { MAX_OUTSIDE_LINE_PREFIX } from './emergency.ts';
import { CALL_CLASSES, PROMPT_LANGUAGES, TREATMENTS, type CallClass, type PromptLanguage, type Treatment } from './types.ts';

import { ACCOUNT_SID, ACCOUNT_SLUG, CODE_LENGTH_MAX, CODE_LENGTH_MIN, E164, entryPointKind } from './identifiers.ts';

export { ACCOUNT_SLUG, CODE_LENGTH_MAX, CODE_LENGTH_MIN, E164, entryPointKind };
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
// C0 and C1 controls: they have no business in a prompt or a description and break CSV/TTS.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A Twilio `<Dial>` destination: an E.164 number, a Voice SDK client or a SIP URI. */
export const destinationSchema = z.string().refine((v) => E164.test(v) || /^client:[A-Za-z0-9_.@-]{1,121}$/.test(v) || /^sips?:[^\s@]+@[^\s@]+$/.test(v), {
  message: 'must be an E.164 number (+14155550100), client:<identity> or sip:<user>@<domain>',
});

const e164Schema = z.string().regex(E164, { message: 'must be an E.164 number such as +14155550100' });

const treatmentSchema = z.enum(TREATMENTS, {
  error: () => `must be one of ${TREATMENTS.join(', ')}`,
});

/**
 * Treatments per call class plus `default`. Emergency calls are always free (docs/settings.md, Kari's
 * Law), so `emergency` may only ever say `free`.
 */
/** What each call class is, for the descriptions editors show. */
const CLASS_WORDS: Readonly<Record<CallClass, string>> = {
  emergency: "emergency numbers (911, 112, the home country's); always free, whatever this says",
  internal: 'another user of the account: a client, a SIP user on one of its domains, a number listed as a user',
  directory: 'directory and operator assistance (411, 0, 00 in NANP; 118xxx in GB)',
  premium: 'premium-rate and shared-cost numbers, at home or abroad',
  tollfree: 'toll-free numbers in the home country',
  mobile: 'mobile numbers in the home country',
  national: 'other numbers in the home country',
  international: 'numbers abroad: a foreign calling code or NANP country, or dialled with an international prefix, valid or not',
  external: "SIP addresses on domains that are not the account's; unset, the international treatment applies",
  unknown: 'anything that cannot be read as one of the others; never treated more permissively than international',
};

const callsShape = {
  default: treatmentSchema.optional().describe('the treatment of every class this object does not name'),
  ...(Object.fromEntries(CALL_CLASSES.map((c) => [c, treatmentSchema.optional().describe(`the treatment of ${CLASS_WORDS[c]}`)])) as Record<
    CallClass,
    z.ZodOptional<typeof treatmentSchema>
  >),
};
export const callsSchema = z
  .strictObject(callsShape)
  .describe('Treatment per call class: free, optional, required, authorized or blocked; a class entry beats default at every level')
  .superRefine((calls, ctx) => {
    if (calls.emergency !== undefined && calls.emergency !== 'free') {
      ctx.addIssue({
        code: 'custom',
        path: ['emergency'],
        message: `emergency calls are always free and cannot be "${calls.emergency}"; remove the key or set it to "free"`,
      });
    }
  });
export type CallTreatments = Partial<Record<CallClass | 'default', Treatment>>;

const promptText = z
  .string()
  .min(1, { message: 'must not be empty' })
  .max(500, { message: 'must be at most 500 characters' })
  .refine((s) => !CONTROL_CHARS.test(s), { message: 'must not contain control characters' });

/** Words the caller hears. Every text can be overridden; the defaults are in `prompts.ts`. */
const promptOverride = (when: string) => promptText.optional().describe(`Said ${when}; {digits} becomes the code length ("4 to 6")`);

const voiceSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be a Twilio voice name such as Polly.Joanna' })
  .describe("The Twilio <Say> voice, such as Polly.Joanna; unset: the language's own (en-US Polly.Joanna, es-US Polly.Lupe, fr-CA Polly.Chantal)");

/** Every prompt text, each optional: an override of the shipped text. */
const promptTexts = {
  accountCode: promptOverride('to ask for an account code'),
  optionalCode: promptOverride('to offer an optional account code (# to go on without one)'),
  authorizationCode: promptOverride('to ask for an authorization code'),
  invalidCode: promptOverride('before asking again after a code that was not accepted'),
  tooManyAttempts: promptOverride('before hanging up after the last code that was not accepted'),
  noCode: promptOverride('before asking again when nothing was entered'),
  noCodeNoAttempts: promptOverride('before hanging up when nothing was entered on the last attempt'),
  notPermitted: promptOverride('before hanging up a call the caller may not make'),
  lockedOut: promptOverride('before hanging up while code entry is locked for the caller'),
  noCalls: promptOverride('to a caller of an entry-point number that forwards nowhere'),
  error: promptOverride('when something unexpected stops the call'),
  afterCallCode: promptOverride('after the dialled party hung up first, to tag the call (afterCallPrompt)'),
  afterCallThanks: promptOverride('before hanging up once the caller tagged the call'),
  afterCallInvalid: promptOverride('before hanging up after a code at the after-call prompt that was not accepted'),
};

/** One language's own voice and texts, under its tag in `prompts`. */
const languagePrompts = (language: PromptLanguage) =>
  z
    .strictObject({ voice: voiceSchema.optional(), ...promptTexts })
    .optional()
    .describe(`Voice and prompt texts for callers whose language is ${language} (users file column "language")`);

export const promptsSchema = z
  .strictObject({
    language: z
      .enum(PROMPT_LANGUAGES, { error: `must be one of the languages Tollgate ships prompts in: ${PROMPT_LANGUAGES.join(', ')}` })
      .default('en-US')
      .describe(`The language callers hear unless their user says otherwise: ${PROMPT_LANGUAGES.join(', ')}`),
    voice: voiceSchema.optional(),
    ...promptTexts,
    'en-US': languagePrompts('en-US'),
    'es-US': languagePrompts('es-US'),
    'fr-CA': languagePrompts('fr-CA'),
  })
  .describe('What callers hear: the account\'s language and voice, any prompt text in place of the shipped one, and per language its own ("es-US": { … })');
export type PromptSettings = z.output<typeof promptsSchema>;
export type PromptKey = keyof typeof promptTexts;

/** One end of `codeLength`. */
const codeLengthBound = z
  .number()
  .int()
  .min(CODE_LENGTH_MIN, { message: `must be at least ${CODE_LENGTH_MIN}` })
  .max(CODE_LENGTH_MAX, { message: `must be at most ${CODE_LENGTH_MAX}` });

const maxAttemptsSchema = z
  .number({ error: 'must be a whole number from 1 to 9' })
  .int({ message: 'must be a whole number from 1 to 9' })
  .min(1, { message: 'must be at least 1' })
  .max(9, { message: 'must be at most 9' })
  .describe('Code entries (or silences) a caller gets on one call, 1 to 9');

const levelSchema = z
  .number({ error: 'must be a whole number from 0 to 255' })
  .int({ message: 'must be a whole number from 0 to 255' })
  .min(0, { message: 'must be at least 0' })
  .max(255, { message: 'must be at most 255' });
const validateSchema = z
  .boolean({ error: 'must be true or false' })
  .describe('false: any code of the right length is accepted for required and optional calls (tracking only); authorization codes are always checked');
const proceedSchema = z
  .boolean({ error: 'must be true or false' })
  .describe('required calls only: after the last failed attempt, dial untagged (true) or hang up (false); a group or user may say true only where the account does');

/** What a group (class of service) or a user may override. */
const afterCallSchema = z
  .boolean({ error: 'must be true or false' })
  .describe('When the dialled party hangs up first on a call that carries no account code, the caller hears one prompt to tag it');

/** A receiver of call-record events: HTTPS, or HTTP on this machine's loopback (local testing). */
const webhookUrlSchema = z.string().refine(
  (u) => {
    try {
      const url = new URL(u);
      return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
    } catch {
      return false;
    }
  },
  { message: 'must be an https:// URL (http:// only to localhost, for testing)' },
);

const overridesShape = {
  calls: callsSchema.optional(),
  maxAttempts: maxAttemptsSchema.optional(),
  validate: validateSchema.optional(),
  proceedAfterMaxAttempts: proceedSchema.optional(),
  afterCallPrompt: afterCallSchema.optional(),
};
export const groupSchema = z.strictObject(overridesShape).describe('A class of service: what its members may call, overriding the account');
export type GroupSettings = z.output<typeof groupSchema>;

const entryPointSchema = z
  .strictObject({
    codes: z
      .boolean({ error: 'must be true or false' })
      .default(true)
      .describe('false: calls that really entered here are never prompted (optional, required and authorized become free; blocked stays blocked)'),
    forwardTo: destinationSchema.optional().describe('A Twilio number only: forward its inbound calls here (E.164, client:… or sip:…) instead of treating them as outbound'),
    tagByCallerId: z
      .boolean({ error: 'must be true or false' })
      .default(true)
      .describe('Forwarded calls: tag the usage record with the account code whose caller_ids list the caller'),
    callerId: e164Schema.optional().describe("The caller ID for calls through this entry point when the user has none (before the account's)"),
  })
  .describe('Settings of one entry point: a Twilio number, a SIP domain or a TwiML app (AP…)');
export type EntryPointSettings = z.output<typeof entryPointSchema>;

const wholeMinutes = (min: number, max: number) =>
  z
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ message: `must be a whole number from ${min} to ${max}` })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

export const settingsSchema = z
  .strictObject({
    /** Lets an editor find the published schema (`"$schema": "./settings.schema.json"`); ignored. */
    $schema: z.string().optional().describe('Lets an editor find this schema ("./settings.schema.json"); ignored'),
    account: z
      .string({ error: 'is required: the account slug, e.g. "acme"' })
      .regex(ACCOUNT_SLUG, {
        message: 'must be 1-40 lower-case letters, digits or "-", starting with a letter or digit',
      })
      .describe('The account this document is for: 1-40 lower-case letters, digits or "-"'),
    twilioAccountSids: z
      .array(z.string().regex(ACCOUNT_SID, { message: 'must be a Twilio Account SID: "AC" and 32 hex digits' }), {
        error: 'is required: the Twilio Account SIDs (AC…) whose calls belong to this account',
      })
      .min(1, { message: 'must list at least one Twilio Account SID' })
      .describe('The Twilio Account SIDs (AC…) whose calls belong to this account; in AWS the operator binds each to the account first'),
    homeCountry: z
      .string({ error: 'is required: an ISO 3166-1 alpha-2 country code such as "US"' })
      .refine((c) => /^[A-Z]{2}$/.test(c) && isSupportedCountry(c), {
        message: 'must be an ISO 3166-1 alpha-2 country code in capitals, such as "US" or "GB"',
      })
      .describe('The country calls are classified from (ISO 3166-1 alpha-2, such as US): its numbers are national, others international'),
    timeZone: z
      .string({ error: 'is required: an IANA time zone such as "America/New_York"' })
      .refine(isTimeZone, { message: 'must be an IANA time zone such as "America/New_York" or "Europe/London"' })
      .describe('The IANA time zone usage-log days and code expiry days are counted in'),
    callerId: e164Schema.optional().describe('The caller ID of calls to the public network when neither the user nor the entry point has one'),
    codeLength: z
      .strictObject({ min: codeLengthBound.describe('The fewest digits a code has'), max: codeLengthBound.describe('The most digits a code has') })
      .refine((l) => l.min <= l.max, { message: 'min must not be greater than max', path: ['min'] })
      .default({ min: 4, max: 6 })
      .describe('How many digits a code has, 2 to 14; min equal to max is a fixed length (no # needed)'),
    maxAttempts: maxAttemptsSchema.default(3),
    validate: validateSchema.default(true),
    proceedAfterMaxAttempts: proceedSchema.default(false),
    gatherTimeoutSeconds: z
      .number({ error: 'must be a whole number of seconds from 3 to 15' })
      .int({ message: 'must be a whole number of seconds from 3 to 15' })
      .min(3, { message: 'must be at least 3 seconds' })
      .max(15, { message: 'must be at most 15 seconds' })
      .default(6)
      .describe('Seconds of silence before a prompt counts as no code entered, 3 to 15'),
    calls: callsSchema.default({ default: 'free' }),
    levels: z
      .strictObject(
        Object.fromEntries(
          CALL_CLASSES.map((c) => [c, levelSchema.optional().describe(`the lowest authorization code level that permits ${CLASS_WORDS[c].split(';')[0]}`)]),
        ) as Record<CallClass, z.ZodOptional<typeof levelSchema>>,
      )
      .default({})
      .describe('Per call class, the lowest level (0-255) an authorization code needs; unset is 0'),
    groups: z
      .record(z.string().regex(GROUP_NAME, { message: 'group names are 1-40 letters, digits, "_", "." or "-"' }), groupSchema)
      .default({})
      .describe('Classes of service by name; users are put in one by the users file'),
    defaultGroup: z.string().optional().describe('The group of callers the users file does not list (and of users with no group)'),
    entryPoints: z.record(z.string(), entryPointSchema).default({}).describe('Entry points by key: a Twilio number (E.164), a SIP domain or a TwiML app SID'),
    lockout: z
      .strictObject({
        failures: wholeMinutes(1, 100).describe('Failed codes by one caller within windowMinutes that lock their code entry'),
        windowMinutes: wholeMinutes(1, 1440).describe('Minutes failed codes are counted over'),
        lockMinutes: wholeMinutes(1, 10080).describe('Minutes code entry stays locked'),
        accountFailures: wholeMinutes(1, 100000)
          .default(50)
          .describe('More failed codes than this in the whole account within windowMinutes lock code entry for callers not in the users list, and raise an alert'),
      })
      .default({ failures: 10, windowMinutes: 15, lockMinutes: 60, accountFailures: 50 })
      .describe('Lockout across calls: emergency and free calls are never locked'),
    outsideLinePrefix: z
      .string({ error: 'must be the digits desk phones dial for an outside line, such as "9"' })
      .regex(new RegExp(`^[0-9]{1,${MAX_OUTSIDE_LINE_PREFIX}}$`), {
        message: `must be 1 to ${MAX_OUTSIDE_LINE_PREFIX} digits that desk phones dial for an outside line, such as "9"`,
      })
      .optional()
      .describe('Digits desk phones dial for an outside line ("9"): removed from a number that starts with them, so 9911 is 911'),
    billingIncrementSeconds: wholeMinutes(60, 3600)
      .default(60)
      .describe("Seconds each answered call is rounded up to in the monthly summary's billable minutes, 60 to 3600 (360: tenths of an hour)"),
    exportDelayMinutes: wholeMinutes(0, 1440).default(60).describe('Minutes after a local day ends before its usage file is written (late callbacks land first)'),
    afterCallPrompt: afterCallSchema.default(false),
    webhooks: z
      .array(webhookUrlSchema)
      .max(5, { message: 'at most 5 webhook URLs' })
      .default([])
      .describe('URLs that receive each call record as it completes and when it is retagged: an HTTPS POST of the event JSON, signed (docs/events.md)'),
    selfTagDays: wholeMinutes(0, 366).default(7).describe('Days after a call that its caller may tag it in the console when it carries no code (0: only admins tag)'),
    prompts: promptsSchema.default({ language: 'en-US' }),
  })
  .superRefine((s, ctx) => {
    if (s.defaultGroup !== undefined && !(s.defaultGroup in s.groups)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultGroup'],
        message: `names the group "${s.defaultGroup}", which is not defined under "groups"`,
      });
    }
    if (!s.proceedAfterMaxAttempts) {
      for (const [name, group] of Object.entries(s.groups)) {
        if (group.proceedAfterMaxAttempts === true) {
          ctx.addIssue({
            code: 'custom',
            path: ['groups', name, 'proceedAfterMaxAttempts'],
            message: 'can be true only when the account allows it: set the top-level "proceedAfterMaxAttempts" to true first',
          });
        }
      }
    }
    for (const [key, ep] of Object.entries(s.entryPoints)) {
      const kind = entryPointKind(key);
      if (kind === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['entryPoints', key],
          message: 'entry point keys are a Twilio number (E.164), a SIP domain (acme.sip.twilio.com) or a TwiML App SID (AP…)',
        });
      } else if (ep.forwardTo !== undefined && kind !== 'number') {
        ctx.addIssue({
          code: 'custom',
          path: ['entryPoints', key, 'forwardTo'],
          message: 'only a Twilio number can forward inbound calls; SIP domains and TwiML apps place outbound calls',
        });
      } else if (ep.forwardTo !== undefined && ep.forwardTo === key) {
        ctx.addIssue({
          code: 'custom',
          path: ['entryPoints', key, 'forwardTo'],
          message: 'must not forward a number to itself',
        });
      }
    }
  });

/** Settings as written by an admin (defaults not applied yet). */
export type SettingsInput = z.input<typeof settingsSchema>;
/** Settings with every default applied: what the rest of the system reads. */
export type Settings = z.output<typeof settingsSchema>;

/** One precise problem with a document: where (dotted path) and what is wrong. */
export interface ValidationProblem {
  readonly path: string;
  readonly message: string;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly ValidationProblem[] };

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(document)' : out;
}

/** zod issues → `path: message` problems a person can act on. */
export function toProblems(error: z.ZodError): ValidationProblem[] {
  return error.issues.map((issue) => {
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: check the spelling against the schema (tollgate settings schema)`;
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      message = message.startsWith('is required') ? message : 'is required';
    }
    return { path: formatPath(issue.path), message };
  });
}

/** Validate a settings document (already JSON-parsed) and apply the defaults. */
export function parseSettings(input: unknown): ParseResult<Settings> {
  // reportInput: tells a missing key (input undefined) from one of the wrong type.
  const result = settingsSchema.safeParse(input, { reportInput: true });
  return result.success ? { ok: true, value: result.data } : { ok: false, problems: toProblems(result.error) };
}

/** Parse the text of a settings.json file: JSON syntax errors are reported like schema errors. */
export function parseSettingsText(text: string): ParseResult<Settings> {
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    return { ok: false, problems: [{ path: '(document)', message: `is not valid JSON: ${(err as Error).message}` }] };
  }
  return parseSettings(json);
}

/** The JSON Schema of the settings document, for editors (`tollgate settings schema`). */
export function settingsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(settingsSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://tollgate.dev/schemas/settings.json',
    title: 'Tollgate account settings',
    description: 'One document per account: who must enter a code for which calls, and how (docs/settings.md).',
  };
}

/**
 * A user as stored (imported from `users/*.csv`, docs/data-model.md). Users not listed are members of
 * the account's `defaultGroup` with no overrides of their own.
 */
export interface UserRecord {
  /** `client:alice`, `sip:alice@acme.sip.twilio.com` or `+14155550123`. */
  readonly id: string;
  readonly name?: string;
  readonly group?: string;
  readonly callerId?: string;
  readonly maxAttempts?: number;
  readonly validate?: boolean;
  readonly proceedAfterMaxAttempts?: boolean;
  readonly calls?: CallTreatments;
  /** The language the user hears prompts in; unset: the account's. */
  readonly language?: PromptLanguage;
  /** Offer to tag a call that carries no account code when the dialled party hangs up first; unset: the group's, then the account's. */
  readonly afterCallPrompt?: boolean;
}
