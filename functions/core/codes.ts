/**
 * Codes (docs/data-model.md): the stored shape, and the check a caller's digits must pass. The check is
 * pure: the handler fetches the stored code (or nothing) and hands it in.
 */
import { canonicalIdentity } from './destination.ts';
import type { CodeKind } from './types.ts';
import { localDate } from './time.ts';

/** A code as stored. Authorization codes carry no digits, only the `ref` of their keyed hash. */
export interface StoredCode {
  readonly kind: CodeKind;
  /** The digits, for account codes only. */
  readonly code?: string;
  /** First 8 hex digits of the keyed hash, for authorization codes (what exports show). */
  readonly ref?: string;
  readonly description?: string;
  readonly enabled: boolean;
  /** `YYYY-MM-DD`, the last valid day in the account's time zone. */
  readonly expires?: string;
  /** Authorization codes only, 0–255. */
  readonly level?: number;
  /** When set, only these users may use the code… */
  readonly users?: readonly string[];
  /** …or members of these groups. */
  readonly groups?: readonly string[];
  /** Inbound tagging: callers whose number tags the call with this code. */
  readonly callerIds?: readonly string[];
}

/** Why a code was refused. Kept for logs and tests; the caller hears the same words for all. */
export type CodeCheck =
  | { readonly ok: true; readonly code: StoredCode }
  | {
      readonly ok: false;
      readonly reason: 'format' | 'not-found' | 'disabled' | 'expired' | 'not-allowed' | 'wrong-kind' | 'low-level';
    };

export interface CodeCheckContext {
  readonly kind: CodeKind;
  readonly user: string;
  readonly group: string | undefined;
  /** Minimum authorization level for the call class (`levels[c]`, default 0). */
  readonly minLevel: number;
  readonly now: Date;
  readonly timeZone: string;
}

/** What the caller typed, without the `#` that ends the entry (`finishOnKey`). */
export function enteredDigits(raw: string): string {
  return raw.replace(/#+$/, '');
}

/** True when `digits` is a code of an allowed length: digits only, leading zeros kept. */
export function isCodeFormat(digits: string, length: { readonly min: number; readonly max: number }): boolean {
  return digits.length >= length.min && digits.length <= length.max && /^[0-9]+$/.test(digits);
}

/**
 * Is a stored code good for this call? Enabled, not expired (the `expires` day is still valid
 * in the account's time zone), allowed for the user or the user's group, and — for
 * authorization — of the right kind and level.
 */
export function checkCode(code: StoredCode | undefined, ctx: CodeCheckContext): CodeCheck {
  if (code === undefined) return { ok: false, reason: 'not-found' };
  if (code.kind !== ctx.kind) return { ok: false, reason: 'wrong-kind' };
  if (!code.enabled) return { ok: false, reason: 'disabled' };
  if (code.expires !== undefined && localDate(ctx.now, ctx.timeZone) > code.expires) {
    return { ok: false, reason: 'expired' };
  }
  if (!isAllowedFor(code, ctx.user, ctx.group)) return { ok: false, reason: 'not-allowed' };
  if (ctx.kind === 'authorization' && (code.level ?? 0) < ctx.minLevel) return { ok: false, reason: 'low-level' };
  return { ok: true, code };
}

/** A code with neither `users` nor `groups` is open to everyone in the account. */
export function isAllowedFor(code: StoredCode, user: string, group: string | undefined): boolean {
  const users = code.users ?? [];
  const groups = code.groups ?? [];
  if (users.length === 0 && groups.length === 0) return true;
  if (users.some((u) => sameIdentity(u, user))) return true;
  return group !== undefined && groups.includes(group);
}

/**
 * The canonical form of a caller's identity (destination.ts): `"Alice" <sip:Alice@Acme.sip.twilio.com:5060;transport=tls>`
 * is `sip:alice@acme.sip.twilio.com`. Users, lockouts and usage records all key on it.
 */
export const normalizeIdentity = canonicalIdentity;

export function sameIdentity(a: string, b: string): boolean {
  return normalizeIdentity(a) === normalizeIdentity(b);
}
