/**
 * The numbering metadata the classifier ships (functions/core/phone-numbers.ts) answers like
 * libphonenumber-js's own `/max` build: the file is what `npm run phone-metadata` writes from
 * the installed library, and numbers drawn from every country's own number patterns (and
 * random digits) parse to the same number, country, validity and type with both.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import * as full from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import * as ours from '../../functions/core/phone-numbers.ts';
import { DATA_FILE, dataFileText } from '../../scripts/phone-metadata.ts';

const require = createRequire(import.meta.url);
const METADATA = require('libphonenumber-js/metadata.max.json') as {
  countries: Record<string, [string, string, string, number[], unknown, ...unknown[]]>;
};
/** Where each country's number types (fixed line, mobile, toll free, premium, …) sit: [pattern, lengths?]. */
const TYPES = 11;

function answer(parsed: full.PhoneNumber | undefined) {
  return parsed === undefined ? undefined : { number: parsed.number, country: parsed.country, valid: parsed.isValid(), type: parsed.getType() };
}

function compare(text: string, country?: full.CountryCode): void {
  expect(answer(ours.parsePhoneNumberFromString(text, country)), `${text} in ${country ?? '(no country)'}`).toEqual(
    answer(full.parsePhoneNumberFromString(text, country === undefined ? {} : { defaultCountry: country })),
  );
}

describe('the shipped numbering metadata', () => {
  it('is what npm run phone-metadata writes from the installed libphonenumber-js, with no formatting rules', () => {
    expect(readFileSync(DATA_FILE, 'utf8'), 'run npm run phone-metadata and commit the file').toBe(dataFileText());
    expect(DATA_FILE).toMatch(/functions\/core\/phone-metadata\.data\.ts$/);
  });

  it('knows the same countries and calling codes', () => {
    expect(ours.getCountries()).toEqual(full.getCountries());
    for (const c of full.getCountries()) expect(ours.getCountryCallingCode(c)).toBe(full.getCountryCallingCode(c));
    for (const c of ['US', 'GB', 'XX', 'us', '']) expect(ours.isSupportedCountry(c)).toBe(full.isSupportedCountry(c as full.CountryCode));
  });

  it("reads numbers drawn from every country's number patterns as /max does: at home, in +E.164 and from abroad", () => {
    let checked = 0;
    let unsupported = 0;
    for (const [country, entry] of Object.entries(METADATA.countries)) {
      const cc = entry[0];
      const types = (entry[TYPES] as ([string, number[]?] | 0)[] | undefined) ?? [];
      for (const type of types) {
        if (type === 0) continue;
        let samples: string[];
        try {
          samples = fc.sample(fc.stringMatching(new RegExp(`^(?:${type[0]})$`)), { numRuns: 3, seed: 42 + checked });
        } catch {
          unsupported++; // a pattern fast-check cannot draw from (counted below)
          continue;
        }
        for (const national of samples) {
          compare(national, country as full.CountryCode);
          compare(`+${cc}${national}`);
          compare(`0${national}`, country as full.CountryCode);
          compare(`011${cc}${national}`, 'US');
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(2_000);
    expect(unsupported).toBeLessThan(checked / 100);
  });

  it('reads random digits as /max does', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+?[0-9]{3,15}$/), fc.constantFrom<full.CountryCode>('US', 'GB', 'DE', 'FR', 'IN', 'BR', 'AU', 'JP', 'PR'), (text, country) => {
        compare(text, country);
      }),
      { numRuns: 3_000, seed: 7 },
    );
  });
});
