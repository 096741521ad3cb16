/**
 * The shapes of identifiers, shared by the settings schema and the hot path. Kept apart from
 * `settings.ts` so the voice function can test a number without loading zod and the schema.
 */

export const ACCOUNT_SLUG = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const E164 = /^\+[1-9][0-9]{1,14}$/;
export const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
export const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const APPLICATION_SID = /^AP[0-9a-fA-F]{32}$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Codes are 2 to 14 digits (docs/design.md); an account narrows this with `codeLength`. */
export const CODE_LENGTH_MIN = 2;
export const CODE_LENGTH_MAX = 14;

/** The kind of an entry point key; undefined for a key the schema would reject. */
export function entryPointKind(key: string): 'number' | 'sipDomain' | 'application' | undefined {
  if (E164.test(key)) return 'number';
  if (APPLICATION_SID.test(key)) return 'application';
  if (HOSTNAME.test(key)) return 'sipDomain';
  return undefined;
}
