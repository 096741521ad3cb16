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

/** A rule for one value: its checked copy, or the problems with it (`path: message`). */
type Rule = (value: unknown, path: string) => { readonly ok: unknown } | { readonly problems: string[] };
const problem = (path: string, message: string) => ({ problems: [`${path || '(item)'}: ${message}`] });

const text: Rule = (v, path) => (typeof v === 'string' ? { ok: v } : problem(path, 'must be text'));
const nonEmpty: Rule = (v, path) => (typeof v === 'string' && v !== '' ? { ok: v } : problem(path, 'must be text, not empty'));
const bool: Rule = (v, path) => (typeof v === 'boolean' ? { ok: v } : problem(path, 'must be true or false'));
const num: Rule = (v, path) => (typeof v === 'number' && Number.isFinite(v) ? { ok: v } : problem(path, 'must be a number'));
const whole =
  (min: number, max = Number.MAX_SAFE_INTEGER): Rule =>
  (v, path) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? { ok: v }
      : problem(path, `must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`);
const oneOf =
  (values: readonly string[]): Rule =>
  (v, path) =>
    typeof v === 'string' && values.includes(v) ? { ok: v } : problem(path, `must be one of ${values.join(', ')}`);
const literal = (value: string): Rule => oneOf([value]);
/** Marks a rule whose value may be absent. */
const optional = (rule: Rule): Rule & { readonly optional: true } => Object.assign((v: unknown, path: string) => rule(v, path), { optional: true as const });
const list =
  (rule: Rule): Rule =>
  (v, path) => {
    if (!Array.isArray(v)) return problem(path, 'must be a list');
    const out: unknown[] = [];
    const problems: string[] = [];
    v.forEach((item, i) => {
      const r = rule(item, `${path}.${i}`);
      if ('ok' in r) out.push(r.ok);
      else problems.push(...r.problems);
    });
    return problems.length > 0 ? { problems } : { ok: out };
  };
/** An object of these fields; any other attribute is dropped. */
const shape =
  (fields: Readonly<Record<string, Rule & { readonly optional?: true }>>): Rule =>
  (v, path) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return problem(path, 'must be an object');
    const out: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [name, rule] of Object.entries(fields)) {
      const value = (v as Record<string, unknown>)[name];
      if (value === undefined && rule.optional === true) continue;
      const r = rule(value, path === '' ? name : `${path}.${name}`);
      if ('ok' in r) out[name] = r.ok;
      else problems.push(...r.problems);
    }
    return problems.length > 0 ? { problems } : { ok: out };
  };
/** One of several shapes, told apart by the text field `key`. */
const tagged =
  (key: string, shapes: Readonly<Record<string, Rule>>): Rule =>
  (v, path) => {
    const tag = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    const rule = typeof tag === 'string' && Object.hasOwn(shapes, tag) ? shapes[tag] : undefined;
    return rule === undefined ? problem(path === '' ? key : `${path}.${key}`, `must be one of ${Object.keys(shapes).join(', ')}`) : rule(v, path);
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
  const r = rule(value, '');
  if ('ok' in r) return r.ok as T;
  throw new StoredItemError(`${what} is not a valid stored item (${r.problems.join('; ')}); re-import it or delete the item`);
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
