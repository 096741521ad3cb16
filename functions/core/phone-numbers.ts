/**
 * libphonenumber-js with the numbering metadata this project ships
 * (`phone-metadata.data.ts`, written by `npm run phone-metadata`): the `/max` metadata — the
 * only one with number types — without the formatting rules that parsing, validity and types
 * never read. It is parsed once, when this module loads, from a JSON string: a third smaller
 * than the library's own metadata, and quicker to load than the same data compiled as a
 * JavaScript object (docs/design.md, "Cold start"). A unit test holds that every answer here
 * matches the library's `/max` build.
 */
import {
  type CountryCode,
  getCountries as countriesOf,
  getCountryCallingCode as callingCodeOf,
  isSupportedCountry as supportedIn,
  type MetadataJson,
  type PhoneNumber,
  parsePhoneNumberFromString as parseWith,
} from 'libphonenumber-js/core';
import { PHONE_METADATA_JSON } from './phone-metadata.data.ts';

export type { CountryCode, PhoneNumber };

const metadata = JSON.parse(PHONE_METADATA_JSON) as MetadataJson;

export function getCountries(): CountryCode[] {
  return countriesOf(metadata);
}

export function getCountryCallingCode(country: CountryCode): string {
  return callingCodeOf(country, metadata);
}

export function isSupportedCountry(country: string): country is CountryCode {
  return supportedIn(country as CountryCode, metadata);
}

/** The number, read as dialled in `country` when it has no `+`; undefined when it cannot be read. */
export function parsePhoneNumberFromString(text: string, country?: CountryCode): PhoneNumber | undefined {
  return parseWith(text, country === undefined ? {} : { defaultCountry: country }, metadata);
}
