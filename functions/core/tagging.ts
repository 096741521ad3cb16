/**
 * After-call tagging (`tollgate calls tag CALLSID CODE`): give an ended call the account code
 * it should have carried. The code is checked as the call flow would have checked it for
 * that call — the account's code length, then (when the call's policy validates) enabled,
 * not expired on the day of the call, allowed for the call's user or group — with the same
 * {@link checkCode}. Pure: the caller fetches the record and the stored code, and writes the
 * result back with the record's revision.
 */
import { checkCode, isCodeFormat, type StoredCode } from './codes.ts';
import type { Settings } from './settings.ts';
import { localDate } from './time.ts';
import type { UsageRecord } from './call-state.ts';

export type TagRefusal = 'in-progress' | 'authorization' | 'format' | 'not-found' | 'disabled' | 'expired' | 'not-allowed';

export type TagResult =
  | {
      readonly ok: true;
      readonly state: UsageRecord;
      /** False when the call already carried this code with this description: nothing to write. */
      readonly changed: boolean;
    }
  | { readonly ok: false; readonly reason: TagRefusal; readonly message: string };

export interface TagContext {
  readonly settings: Settings;
  /** Who tags (kept in the record). */
  readonly by: string;
  readonly now: Date;
}

/**
 * Tag `record` with the account code `digits`. `lookup` is the stored account code under
 * those digits, if any: only account codes tag a call. An authorization code would put the
 * description of a secret on a call it never authorized, so its digits are not even looked
 * up, and a call an authorization code let through keeps that record of who authorized it.
 */
export function tagRecord(record: UsageRecord, digits: string, lookup: StoredCode | undefined, ctx: TagContext): TagResult {
  const sid = record.callSid;
  if (record.phase !== 'ended' || record.outcome === undefined) {
    return refuse('in-progress', `call ${sid} has not ended yet: tag it once it has (its record is still being written)`);
  }
  if (record.codeKind === 'authorization') {
    const who = record.codeDescription === undefined ? '' : ` ("${record.codeDescription}")`;
    return refuse('authorization', `call ${sid} went through on an authorization code${who}: that is the record of who authorized it, so it cannot be tagged with another code`);
  }
  const { min, max } = ctx.settings.codeLength;
  if (!isCodeFormat(digits, ctx.settings.codeLength)) {
    const length = min === max ? `exactly ${min} digits` : `${min} to ${max} digits`;
    // The digits are not echoed: someone may have typed an authorization code by mistake.
    return refuse('format', `that is not a code of account ${record.account}: its codes are ${length}`);
  }
  const callDay = localDate(new Date(record.startedAt), ctx.settings.timeZone);
  // Expiry is judged on the day of the call: a matter closed since still owns its calls.
  const check = checkCode(lookup, {
    kind: 'account',
    user: record.user,
    group: record.group,
    minLevel: 0,
    now: new Date(record.startedAt),
    timeZone: ctx.settings.timeZone,
  });
  let description: string | undefined;
  if (check.ok) {
    description = check.code.description;
  } else if (record.validate) {
    // `wrong-kind` and `low-level` cannot happen: only account codes are looked up.
    const reason = check.reason === 'wrong-kind' || check.reason === 'low-level' ? 'not-found' : check.reason;
    return refuse(reason, refusalMessage(reason, digits, record, lookup, callDay));
  }
  // validate: false (tracking only) accepts any code of the right length, as the call flow does.

  if (record.codeKind === 'account' && record.code === digits && record.codeDescription === description) {
    return { ok: true, state: record, changed: false };
  }
  const { code: _code, codeRef: _ref, codeDescription: _desc, ...rest } = record;
  const state: UsageRecord = {
    ...rest,
    code: digits,
    ...(description === undefined ? {} : { codeDescription: description }),
    codeKind: 'account',
    codeStatus: 'tagged',
    taggedBy: ctx.by,
    taggedAt: ctx.now.toISOString(),
  };
  return { ok: true, state, changed: true };
}

function refuse(reason: TagRefusal, message: string): TagResult {
  return { ok: false, reason, message };
}

function refusalMessage(reason: string, digits: string, record: UsageRecord, lookup: StoredCode | undefined, callDay: string): string {
  switch (reason) {
    case 'disabled':
      return `account code ${digits} is disabled: enable it first (tollgate codes add ${digits} … or a codes import)`;
    case 'expired':
      return `account code ${digits} expired on ${lookup?.expires ?? '?'}, before the call on ${callDay}`;
    case 'not-allowed': {
      const group = record.group === undefined ? '' : ` (group ${record.group})`;
      return `account code ${digits} is not allowed for ${record.user}${group}: the code lists the users or groups it is for`;
    }
    default:
      return `account ${record.account} has no account code with those digits (only account codes tag calls; authorization codes never do)`;
  }
}
