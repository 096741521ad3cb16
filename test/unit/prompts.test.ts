/** The words a caller hears (functions/core/prompts.ts). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROMPTS, DEFAULT_VOICES, resolvePrompts, speechFor, spokenLength } from '../../functions/core/prompts.ts';
import { PROMPT_LANGUAGES } from '../../functions/core/types.ts';
import { parseSettings } from '../../functions/core/settings.ts';

describe('prompts', () => {
  const prompts = resolvePrompts(undefined, { min: 4, max: 6 });

  it.each([
    [{ min: 4, max: 6 }, '4 to 6'],
    [{ min: 5, max: 5 }, '5'],
  ])('speaks the length %j as %s', (length, spoken) => {
    expect(spokenLength(length)).toBe(spoken);
  });

  it('fills {digits} in defaults and overrides, and keeps every other default', () => {
    const p = resolvePrompts({ language: 'en-US', voice: 'Polly.Matthew', accountCode: 'Your {digits}-digit code.' }, { min: 5, max: 5 });
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

  describe('in the languages Tollgate ships', () => {
    it('has every text in every language, each saying the length rule in its own words', () => {
      for (const language of PROMPT_LANGUAGES) {
        const p = resolvePrompts(undefined, { min: 4, max: 6 }, language);
        expect(Object.keys(p).sort()).toEqual(Object.keys(DEFAULT_PROMPTS).sort());
        for (const text of Object.values(p)) expect(text, language).not.toContain('{digits}');
      }
      expect(resolvePrompts(undefined, { min: 4, max: 6 }, 'es-US').accountCode).toBe('Marque su código de cuenta de 4 a 6 dígitos y luego la tecla numeral.');
      expect(resolvePrompts(undefined, { min: 4, max: 6 }, 'fr-CA').accountCode).toBe('Veuillez entrer votre code de compte de 4 à 6 chiffres, puis le carré.');
      expect(spokenLength({ min: 5, max: 5 }, 'fr-CA')).toBe('5');
    });

    it("speaks each language in its own voice unless the settings name one; the account's overrides apply to the account's language only", () => {
      const settings = { language: 'en-US' as const, voice: 'Polly.Matthew', accountCode: 'Code please.', 'es-US': { voice: 'Polly.Penelope', noCode: 'Nada.' } };
      expect(speechFor(settings)).toEqual({ language: 'en-US', voice: 'Polly.Matthew' });
      expect(speechFor(settings, 'es-US')).toEqual({ language: 'es-US', voice: 'Polly.Penelope' });
      expect(speechFor(settings, 'fr-CA')).toEqual({ language: 'fr-CA', voice: DEFAULT_VOICES['fr-CA'] });
      expect(resolvePrompts(settings, { min: 4, max: 4 }).accountCode).toBe('Code please.');
      const spanish = resolvePrompts(settings, { min: 4, max: 4 }, 'es-US');
      expect(spanish.accountCode).toBe('Marque su código de cuenta de 4 dígitos y luego la tecla numeral.');
      expect(spanish.noCode).toBe('Nada.');
    });

    it('refuses a language it ships no prompts in, naming the ones it does', () => {
      const parsed = parseSettings({
        account: 'acme',
        twilioAccountSids: [`AC${'1'.repeat(32)}`],
        homeCountry: 'US',
        timeZone: 'America/New_York',
        prompts: { language: 'de-DE' },
      });
      expect(parsed.ok).toBe(false);
      expect(JSON.stringify(!parsed.ok && parsed.problems)).toMatch(/en-US, es-US, fr-CA/);
      const unknownKey = parseSettings({ account: 'acme', twilioAccountSids: [`AC${'1'.repeat(32)}`], homeCountry: 'US', timeZone: 'America/New_York', prompts: { 'de-DE': {} } });
      expect(unknownKey.ok).toBe(false);
    });
  });
});
