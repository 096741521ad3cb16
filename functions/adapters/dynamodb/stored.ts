/**
 * The shapes of stored items, checked as they are read: an item written by an older release, by
 * hand in the console or half by a crash is refused with what is wrong with it, instead of
 * travelling on as a code or a user it is not. Unknown attributes are dropped.
 */
import { z } from 'zod';
import type { StoredCode } from '../../core/codes.ts';
import { callsSchema, type UserRecord } from '../../core/settings.ts';
import type { UsageRecord } from '../../core/usage.ts';
import { CALL_CLASSES, CODE_KINDS, CODE_STATUSES, OUTCOMES, PROMPT_LANGUAGES, TREATMENTS } from '../../core/types.ts';

const text = z.string().optional();
const texts = z.array(z.string()).optional();

const storedCodeSchema = z.object({
  kind: z.enum(CODE_KINDS),
  code: text,
  ref: text,
  description: text,
  enabled: z.boolean(),
  expires: text,
  level: z.number().int().min(0).max(255).optional(),
  users: texts,
  groups: texts,
  callerIds: texts,
});

const userRecordSchema = z.object({
  id: z.string().min(1),
  name: text,
  group: text,
  callerId: text,
  maxAttempts: z.number().int().positive().optional(),
  validate: z.boolean().optional(),
  proceedAfterMaxAttempts: z.boolean().optional(),
  calls: callsSchema.optional(),
  language: z.enum(PROMPT_LANGUAGES).optional(),
  afterCallPrompt: z.boolean().optional(),
});

const dialTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('number'), number: z.string() }),
  z.object({ kind: z.literal('client'), identity: z.string() }),
  z.object({ kind: z.literal('sip'), uri: z.string() }),
]);

const actionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('say'), text: z.string() }),
  z.object({ type: z.literal('gather'), prompt: z.string(), step: z.number().int(), timeoutSeconds: z.number(), numDigits: z.number().int().optional() }),
  z.object({ type: z.literal('dial'), target: dialTargetSchema, callerId: text }),
  z.object({ type: z.literal('hangup') }),
]);

const count = z.number().int().min(0);

const callStateSchema = z.object({
  callSid: z.string().min(1),
  account: z.string().min(1),
  direction: z.enum(['outbound', 'inbound']),
  user: z.string(),
  caller: z.string(),
  group: text,
  listedUser: z.boolean().optional(),
  destination: z.string(),
  destinationClass: z.enum(CALL_CLASSES),
  entryPoint: text,
  treatment: z.enum(TREATMENTS),
  maxAttempts: count,
  validate: z.boolean(),
  proceedAfterMaxAttempts: z.boolean(),
  minLevel: count,
  dial: z.object({ target: dialTargetSchema, callerId: text }).optional(),
  phase: z.enum(['prompting', 'dialling', 'tagging', 'ended']),
  afterCallPrompt: z.boolean().optional(),
  step: count,
  attempts: count,
  codeStatus: z.enum(CODE_STATUSES),
  language: z.enum(PROMPT_LANGUAGES).optional(),
  code: text,
  codeRef: text,
  codeDescription: text,
  codeKind: z.enum(CODE_KINDS).optional(),
  outcome: z.enum(OUTCOMES).optional(),
  startedAt: z.string(),
  endedAt: text,
  durationS: count.optional(),
  talkS: count.optional(),
  dialCompleted: z.boolean(),
  statusReceived: z.boolean(),
  lastActions: z.array(actionSchema),
  // Set by `tollgate calls tag` after the call.
  taggedBy: text,
  taggedAt: text,
});

export class StoredItemError extends Error {
  override readonly name = 'StoredItemError';
}

function check<T>(schema: z.ZodType<T>, value: Record<string, unknown>, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; ');
  throw new StoredItemError(`${what} is not a valid stored item (${problems}); re-import it or delete the item`);
}

/**
 * A stored code. The error names the code by its kind and hash reference, never by its key,
 * which holds an account code's digits.
 */
export function storedCode(value: Record<string, unknown>): StoredCode {
  const kind = typeof value.kind === 'string' ? `${value.kind} ` : '';
  const ref = typeof value.ref === 'string' ? ` ${value.ref}` : '';
  return check(storedCodeSchema, value, `a stored ${kind}code${ref}`);
}

export function storedUser(value: Record<string, unknown>): UserRecord {
  return check(userRecordSchema, value, `the stored user ${typeof value.id === 'string' ? value.id : '(no id)'}`);
}

/** A stored call: the flow's state between webhooks, and the usage record once it ends (and is tagged). */
export function storedCall(value: Record<string, unknown>): UsageRecord {
  return check(callStateSchema, value, `the stored call ${typeof value.callSid === 'string' ? value.callSid : '(no CallSid)'}`);
}
