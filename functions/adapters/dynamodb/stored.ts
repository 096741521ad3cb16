/**
 * The shapes of stored items, checked as they are read: an item written by an older release, by
 * hand in the console or half by a crash is refused with what is wrong with it, instead of
 * travelling on as a code or a user it is not. Unknown attributes are dropped.
 *
 * Checked by a few lines of shape rules rather than zod: the voice function reads calls, users
 * and codes on every webhook, and zod (444 KB of its bundle) doubled its cold import. The
 * settings rules themselves (which classes, the emergency rule) were checked when imported.
 */
import type { StoredCode } from '../../core/codes.ts';
import type { UserRecord } from '../../core/settings.ts';
import type { UsageRecord } from '../../core/usage.ts';
import { CALL_CLASSES, CODE_KINDS, CODE_STATUSES, OUTCOMES, PROMPT_LANGUAGES, TREATMENTS } from '../../core/types.ts';

/** What a rule returns for a value that breaks it, once it has said why in `problems`. */
const INVALID: unique symbol = Symbol('invalid');
/**
 * A rule for one value: its checked copy, or INVALID after adding what is wrong with it to
 * `problems` (`path: message`). The value sits at `key` under `parent`; the two are joined into
 * a path only for a problem, so reading a good item allocates nothing but its copy.
 */
type Rule = (value: unknown, parent: string, key: string, problems: string[]) => unknown;
const pathOf = (parent: string, key: string) => (parent === '' ? key : key === '' ? parent : `${parent}.${key}`);
function fail(parent: string, key: string, problems: string[], message: string): typeof INVALID {
  problems.push(`${pathOf(parent, key) || '(item)'}: ${message}`);
  return INVALID;
}

const text: Rule = (v, p, k, problems) => (typeof v === 'string' ? v : fail(p, k, problems, 'must be text'));
const nonEmpty: Rule = (v, p, k, problems) => (typeof v === 'string' && v !== '' ? v : fail(p, k, problems, 'must be text, not empty'));
const bool: Rule = (v, p, k, problems) => (typeof v === 'boolean' ? v : fail(p, k, problems, 'must be true or false'));
const num: Rule = (v, p, k, problems) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, k, problems, 'must be a number'));
const whole = (min: number, max = Number.MAX_SAFE_INTEGER): Rule => {
  const message = `must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`;
  return (v, p, k, problems) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? v : fail(p, k, problems, message));
};
const oneOf = (values: readonly string[]): Rule => {
  const message = `must be one of ${values.join(', ')}`;
  return (v, p, k, problems) => (typeof v === 'string' && values.includes(v) ? v : fail(p, k, problems, message));
};
const literal = (value: string): Rule => oneOf([value]);
/** Marks a rule whose value may be absent. */
const optional = (rule: Rule): Rule & { readonly optional: true } =>
  Object.assign((v: unknown, p: string, k: string, problems: string[]) => rule(v, p, k, problems), { optional: true as const });
const list =
  (rule: Rule): Rule =>
  (v, p, k, problems) => {
    if (!Array.isArray(v)) return fail(p, k, problems, 'must be a list');
    const here = pathOf(p, k);
    const out: unknown[] = [];
    let bad = false;
    for (let i = 0; i < v.length; i++) {
      const r = rule(v[i], here, String(i), problems);
      if (r === INVALID) bad = true;
      else out.push(r);
    }
    return bad ? INVALID : out;
  };
/** An object of these fields; any other attribute is dropped. */
const shape = (fields: Readonly<Record<string, Rule & { readonly optional?: true }>>): Rule => {
  const entries = Object.entries(fields);
  return (v, p, k, problems) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(p, k, problems, 'must be an object');
    const here = pathOf(p, k);
    const out: Record<string, unknown> = {};
    let bad = false;
    for (const [name, rule] of entries) {
      const value = (v as Record<string, unknown>)[name];
      if (value === undefined && rule.optional === true) continue;
      const r = rule(value, here, name, problems);
      if (r === INVALID) bad = true;
      else out[name] = r;
    }
    return bad ? INVALID : out;
  };
};
/** One of several shapes, told apart by the text field `key`. */
const tagged = (key: string, shapes: Readonly<Record<string, Rule>>): Rule => {
  const message = `must be one of ${Object.keys(shapes).join(', ')}`;
  return (v, p, k, problems) => {
    const tag = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    const rule = typeof tag === 'string' && Object.hasOwn(shapes, tag) ? shapes[tag] : undefined;
    return rule === undefined ? fail(pathOf(p, k), key, problems, message) : rule(v, p, k, problems);
  };
};

const texts = optional(list(text));
const storedCodeRule = shape({
  kind: oneOf(CODE_KINDS),
  code: optional(text),
  ref: optional(text),
  description: optional(text),
  enabled: bool,
  expires: optional(text),
  level: optional(whole(0, 255)),
  users: texts,
  groups: texts,
  callerIds: texts,
});

const treatmentsRule = shape(Object.fromEntries(['default', ...CALL_CLASSES].map((c) => [c, optional(oneOf(TREATMENTS))])));
const userRecordRule = shape({
  id: nonEmpty,
  name: optional(text),
  group: optional(text),
  callerId: optional(text),
  maxAttempts: optional(whole(1)),
  validate: optional(bool),
  proceedAfterMaxAttempts: optional(bool),
  calls: optional(treatmentsRule),
  language: optional(oneOf(PROMPT_LANGUAGES)),
  afterCallPrompt: optional(bool),
});

const dialTargetRule = tagged('kind', {
  number: shape({ kind: literal('number'), number: text }),
  client: shape({ kind: literal('client'), identity: text }),
  sip: shape({ kind: literal('sip'), uri: text }),
});
const actionRule = tagged('type', {
  say: shape({ type: literal('say'), text }),
  gather: shape({ type: literal('gather'), prompt: text, step: whole(0), timeoutSeconds: num, numDigits: optional(whole(0)) }),
  dial: shape({ type: literal('dial'), target: dialTargetRule, callerId: optional(text) }),
  hangup: shape({ type: literal('hangup') }),
});
const count = whole(0);
const callStateRule = shape({
  callSid: nonEmpty,
  account: nonEmpty,
  direction: oneOf(['outbound', 'inbound']),
  user: text,
  caller: text,
  group: optional(text),
  listedUser: optional(bool),
  destination: text,
  destinationClass: oneOf(CALL_CLASSES),
  entryPoint: optional(text),
  treatment: oneOf(TREATMENTS),
  maxAttempts: count,
  validate: bool,
  proceedAfterMaxAttempts: bool,
  minLevel: count,
  dial: optional(shape({ target: dialTargetRule, callerId: optional(text) })),
  phase: oneOf(['prompting', 'dialling', 'tagging', 'ended']),
  afterCallPrompt: optional(bool),
  step: count,
  attempts: count,
  codeStatus: oneOf(CODE_STATUSES),
  language: optional(oneOf(PROMPT_LANGUAGES)),
  code: optional(text),
  codeRef: optional(text),
  codeDescription: optional(text),
  codeKind: optional(oneOf(CODE_KINDS)),
  outcome: optional(oneOf(OUTCOMES)),
  startedAt: text,
  endedAt: optional(text),
  durationS: optional(count),
  talkS: optional(count),
  dialCompleted: bool,
  statusReceived: bool,
  lastActions: list(actionRule),
  // Set by `tollgate calls tag`, the console or the caller's after-call tag.
  taggedBy: optional(text),
  taggedAt: optional(text),
});

export class StoredItemError extends Error {
  override readonly name = 'StoredItemError';
}

/** The checked copy of `value`, of the type its rule describes (the one cast: the rule is the type's runtime form). */
function check<T>(rule: Rule, value: Record<string, unknown>, what: string): T {
  const problems: string[] = [];
  const r = rule(value, '', '', problems);
  if (r !== INVALID) return r as T;
  throw new StoredItemError(`${what} is not a valid stored item (${problems.join('; ')}); re-import it or delete the item`);
}

/**
 * A stored code. The error names the code by its kind and hash reference, never by its key,
 * which holds an account code's digits.
 */
export function storedCode(value: Record<string, unknown>): StoredCode {
  const kind = typeof value.kind === 'string' ? `${value.kind} ` : '';
  const ref = typeof value.ref === 'string' ? ` ${value.ref}` : '';
  return check<StoredCode>(storedCodeRule, value, `a stored ${kind}code${ref}`);
}

export function storedUser(value: Record<string, unknown>): UserRecord {
  return check<UserRecord>(userRecordRule, value, `the stored user ${typeof value.id === 'string' ? value.id : '(no id)'}`);
}

/** A stored call: the flow's state between webhooks, and the usage record once it ends (and is tagged). */
export function storedCall(value: Record<string, unknown>): UsageRecord {
  return check<UsageRecord>(callStateRule, value, `the stored call ${typeof value.callSid === 'string' ? value.callSid : '(no CallSid)'}`);
}
