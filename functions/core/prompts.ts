/**
 * What the caller hears. Defaults are short, say the code's rules (how many digits, `#` to
 * finish) and never why a code failed. Settings may override any text; `{digits}` in an
 * override is replaced by the length rule ("4 to 6" or "5").
 */
import type { PromptKey, PromptSettings } from './settings.ts';

export type Prompts = Readonly<Record<PromptKey, string>>;

const DEFAULTS: Prompts = {
  accountCode: 'Please enter your {digits} digit account code, then press pound.',
  optionalCode: 'Enter your {digits} digit account code, then press pound. Or press pound now to continue without one.',
  authorizationCode: 'This call needs an authorization code. Please enter your {digits} digit code, then press pound.',
  invalidCode: 'That code was not accepted. Please try again.',
  tooManyAttempts: 'Sorry, that code was not accepted, and there are no attempts left. Goodbye.',
  noCode: 'No code was entered. Please try again.',
  noCodeNoAttempts: 'Sorry, no code was entered, and there are no attempts left. Goodbye.',
  notPermitted: 'Sorry, you are not permitted to make this call. Goodbye.',
  lockedOut: 'Code entry is locked for your line after too many failed attempts. Please contact your administrator. Goodbye.',
  noCalls: 'Sorry, this number does not take calls. Goodbye.',
  error: 'Sorry, we could not complete your call. Please try again later. Goodbye.',
};

/** The length rule as spoken: "5" for a fixed length, "4 to 6" otherwise. */
export function spokenLength(length: { readonly min: number; readonly max: number }): string {
  return length.min === length.max ? String(length.min) : `${length.min} to ${length.max}`;
}

/** The account's prompt texts with defaults filled in and `{digits}` expanded. */
export function resolvePrompts(prompts: Partial<PromptSettings> | undefined, length: { readonly min: number; readonly max: number }): Prompts {
  const digits = spokenLength(length);
  const out = {} as Record<PromptKey, string>;
  for (const key of Object.keys(DEFAULTS) as PromptKey[]) {
    out[key] = (prompts?.[key] ?? DEFAULTS[key]).replaceAll('{digits}', digits);
  }
  return out;
}

/** Default texts, for use where no settings could be loaded (fallback, unknown account). */
export const DEFAULT_PROMPTS: Prompts = resolvePrompts(undefined, { min: 4, max: 6 });
export const DEFAULT_SPEECH = { language: 'en-US', voice: 'Polly.Joanna' } as const;
