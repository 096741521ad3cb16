/** The words a caller hears (functions/core/prompts.ts). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROMPTS, resolvePrompts, spokenLength } from '../../functions/core/prompts.ts';

describe('prompts', () => {
  const prompts = resolvePrompts(undefined, { min: 4, max: 6 });

  it.each([
    [{ min: 4, max: 6 }, '4 to 6'],
    [{ min: 5, max: 5 }, '5'],
  ])('speaks the length %j as %s', (length, spoken) => {
    expect(spokenLength(length)).toBe(spoken);
  });

  it('fills {digits} in defaults and overrides, and keeps every other default', () => {
    const p = resolvePrompts({ language: 'en-GB', voice: 'Polly.Amy', accountCode: 'Your {digits}-digit code.' }, { min: 5, max: 5 });
    expect(p.accountCode).toBe('Your 5-digit code.');
    expect(p.optionalCode).toContain('5 digit');
    expect(p.invalidCode).toBe(DEFAULT_PROMPTS.invalidCode);
    expect(Object.keys(p)).not.toContain('language');
  });

  it('never names a reason in the words a caller hears after a failure', () => {
    for (const text of [prompts.invalidCode, prompts.tooManyAttempts]) {
      expect(text).not.toMatch(/expire|disabled|level|exist|not found|not allowed|another user|kind/i);
    }
  });
});
