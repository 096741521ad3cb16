/**
 * Storage keys of codes (docs/data-model.md). Account codes are keyed by their digits; authorization
 * codes by `HMAC-SHA256(pepper, account ":" digits)` so their digits never reach the store,
 * a log or an export. The account is inside the MAC so the same digits in two accounts give
 * unrelated keys.
 */
import { createHmac } from 'node:crypto';

export const ACCOUNT_KEY_PREFIX = 'A#';
export const AUTHORIZATION_KEY_PREFIX = 'Z#';

/** `A#<digits>`: leading zeros kept, so `0042`, `042` and `42` are three codes. */
export function accountCodeKey(digits: string): string {
  return `${ACCOUNT_KEY_PREFIX}${digits}`;
}

/** `Z#` + hex of `HMAC-SHA256(pepper, account ":" digits)`. */
export function authorizationCodeKey(pepper: string | Uint8Array, account: string, digits: string): string {
  if (typeof pepper === 'string' ? pepper.length === 0 : pepper.byteLength === 0) {
    // An empty pepper would make the keys a plain, guessable hash of 2-14 digits.
    throw new Error('authorizationCodeKey: the pepper must not be empty');
  }
  const mac = createHmac('sha256', pepper).update(`${account}:${digits}`, 'utf8').digest('hex');
  return `${AUTHORIZATION_KEY_PREFIX}${mac}`;
}

/** What exports show for an authorization code: the first 8 hex digits of its hash. */
export function codeRef(key: string): string {
  if (!key.startsWith(AUTHORIZATION_KEY_PREFIX)) throw new Error(`codeRef: not an authorization code key: ${key.slice(0, 2)}…`);
  return key.slice(AUTHORIZATION_KEY_PREFIX.length, AUTHORIZATION_KEY_PREFIX.length + 8);
}

/** Which kind a key belongs to, from its prefix. */
export function kindOfKey(key: string): 'account' | 'authorization' | undefined {
  if (key.startsWith(ACCOUNT_KEY_PREFIX)) return 'account';
  if (key.startsWith(AUTHORIZATION_KEY_PREFIX)) return 'authorization';
  return undefined;
}

/**
 * Both keys the digits a caller typed could name. The voice function fetches both in one
 * batch, then keeps the one of the kind the treatment asks for.
 */
export function keysForDigits(pepper: string | Uint8Array, account: string, digits: string): { readonly account: string; readonly authorization: string } {
  return { account: accountCodeKey(digits), authorization: authorizationCodeKey(pepper, account, digits) };
}
