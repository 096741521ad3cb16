/**
 * Call classification (docs/security.md, "Call classes"): what kind of number was dialled,
 * relative to the account's home country. Short numbers come from the curated tables in
 * `numbering-tables.ts` and the emergency rules from `emergency.ts`; everything else from
 * libphonenumber's `/max` metadata (the only build with number types). The destination is
 * read once, by `destination.ts`, for classification and dialling alike.
 *
 * Nothing here throws: an unparseable destination, a missing context or an unsupported home
 * country all end in `unknown` — except that 911 and 112 are emergency regardless.
 */
import { getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from './phone-numbers.ts';
import { dialledPart, networkNumber, PHONE_LIKE, sipUriWithoutHeaders, type NumberingContext } from './destination.ts';
import { emergencyNumberFor } from './emergency.ts';
import { DIRECTORY_NUMBERS, NANP_DIRECTORY, NANP_DIRECTORY_E164, US_AND_TERRITORIES } from './numbering-tables.ts';
import type { CallClass, DialTarget } from './types.ts';

export { dialledPart, type DialledPart } from './destination.ts';

export interface ClassifyContext extends NumberingContext {
  /** ISO 3166-1 alpha-2, e.g. 'US', 'GB' */
  readonly homeCountry: string;
  /** the account's SIP domains, lower-case, e.g. ['acme.sip.twilio.com'] */
  readonly sipDomains?: readonly string[];
  /** E.164 numbers that belong to users of the account (calls to them are internal) */
  readonly userNumbers?: ReadonlySet<string>;
}

/** A class, and whether the destination is a public number outside the home country. */
export interface Classification {
  readonly callClass: CallClass;
  /**
   * True when the destination reaches (or may reach) the public network abroad: a foreign
   * calling code, a foreign NANP region, an international prefix — valid or not. Such a call
   * is never treated more permissively than `international` (policy.ts).
   */
  readonly foreign: boolean;
}

/** What one home country contributes; built once per country and cached. */
interface Home {
  readonly country: CountryCode;
  readonly callingCode: string;
  readonly nanp: boolean;
  readonly directory: RegExp | undefined;
}

const homes = new Map<string, Home>();

/**
 * Classifies a destination: emergency, internal, directory, then by libphonenumber's type and
 * region — premium, toll-free, mobile, national, international — `external` for a SIP address
 * on a domain that is not the account's, and `unknown` for anything else. Never throws.
 *
 * - A number in a foreign calling code, or in a NANP region other than the home's (Jamaica,
 *   the Dominican Republic…), or dialled with an international prefix, is `international`
 *   whether or not the metadata holds it valid: unallocated and over-long ranges are what
 *   fraudsters resell. A valid foreign premium-rate or shared-cost number is `premium`.
 * - A foreign toll-free number is `international`; NANP mobiles cannot be told apart
 *   (libphonenumber says FIXED_LINE_OR_MOBILE): `national`.
 * - A `sip:` URI whose user part is a number is classified as that number, whatever the
 *   domain; a named SIP user is `internal` on one of the account's domains (exact,
 *   case-insensitive match), `external` on any other.
 */
export function classify(destination: string, ctx: ClassifyContext): CallClass {
  return classifyDestination(destination, ctx).callClass;
}

/** {@link classify}, with whether the destination is abroad. */
export function classifyDestination(destination: string, ctx: ClassifyContext): Classification {
  try {
    const part = dialledPart(destination);
    if (part.kind === 'client') return of(part.user === '' ? 'unknown' : 'internal');
    if (part.kind === 'sip' && !PHONE_LIKE.test(part.user)) {
      if (part.user === '') return of('unknown');
      return of(isAccountDomain(part.domain, ctx?.sipDomains) ? 'internal' : 'external');
    }
    return classifyNumber(part.user, ctx);
  } catch {
    // Defensive only: libphonenumber is not known to throw from parsePhoneNumberFromString.
    return of(emergencyNumberFor(destination, ctx) !== undefined ? 'emergency' : 'unknown');
  }
}

/**
 * The E.164 form of a dialled number relative to the home country (after the outside-line and
 * international prefixes), for `<Dial><Number>` and user lookups; undefined for clients, named
 * SIP users, and anything libphonenumber does not hold valid. Short codes (911, 411, 118 118)
 * have no E.164 form.
 */
export function toE164(destination: string, ctx: NumberingContext | string): string | undefined {
  try {
    const numbering = typeof ctx === 'string' ? { homeCountry: ctx } : ctx;
    const part = dialledPart(destination);
    if (part.kind === 'client' || !PHONE_LIKE.test(part.user)) return undefined;
    const parsed = parse(networkNumber(part.user, numbering), homeOf(numbering.homeCountry));
    return parsed?.isValid() === true ? parsed.number : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where `<Dial>` sends a destination: a client, a SIP URI (never with URI headers), or a
 * number as the network dials it — E.164 when valid, `+<cc>…` when dialled with an
 * international prefix, otherwise the digits as typed (short codes such as 411).
 */
export function dialTargetFor(destination: string, ctx: NumberingContext): DialTarget {
  const part = dialledPart(destination);
  if (part.kind === 'client') return { kind: 'client', identity: part.user };
  if (part.kind === 'sip' && !PHONE_LIKE.test(part.user)) return { kind: 'sip', uri: sipUriWithoutHeaders(destination) };
  const network = networkNumber(part.user, ctx);
  const valid = toE164(network, ctx);
  return { kind: 'number', number: valid ?? network };
}

function classifyNumber(user: string, ctx: ClassifyContext): Classification {
  if (!PHONE_LIKE.test(user)) return of('unknown');
  if (emergencyNumberFor(user, ctx) !== undefined) return of('emergency');
  const home = homeOf(ctx?.homeCountry);
  const userNumbers = ctx?.userNumbers;
  const network = networkNumber(user, ctx);
  const plus = network.charCodeAt(0) === 43; /* '+' */
  if (plus && userNumbers?.has(network) === true) return of('internal');
  if (!plus && home !== undefined && isDirectory(network, home)) return of('directory');

  const parsed = parse(network, home);
  const foreign = isForeign(parsed, home, plus);
  if (parsed === undefined || !parsed.isValid()) return foreign ? of('international', true) : of('unknown');
  if (userNumbers?.has(parsed.number) === true) return of('internal');
  const type = parsed.getType();
  if (type === 'PREMIUM_RATE' || type === 'SHARED_COST') return of('premium', foreign);
  if (foreign) return of('international', true);
  if (home?.nanp === true && NANP_DIRECTORY_E164.test(parsed.number)) return of('directory');
  if (type === 'TOLL_FREE') return of('tollfree');
  if (type === 'MOBILE') return of('mobile');
  return of('national');
}

/**
 * Abroad, valid or not: a calling code other than the home's, a region under the home's
 * calling code that is not domestic (libphonenumber names a NANP region from the area code
 * even for a number it holds invalid), or — with no home country to compare — any number in
 * international form.
 */
function isForeign(parsed: PhoneNumber | undefined, home: Home | undefined, international: boolean): boolean {
  if (home === undefined) return international || parsed !== undefined;
  if (parsed === undefined) return international;
  if (parsed.countryCallingCode !== home.callingCode) return true;
  return parsed.country !== undefined && !isDomestic(home.country, parsed.country);
}

function of(callClass: CallClass, foreign = false): Classification {
  return { callClass, foreign };
}

function isDirectory(digits: string, home: Home): boolean {
  if (home.nanp) return NANP_DIRECTORY.test(digits);
  return home.directory?.test(digits) === true;
}

/** US and Canada are domestic to each other; US territories to the US (numbering-tables.ts). */
function isDomestic(home: string, region: string): boolean {
  if (home === region) return true;
  if (US_AND_TERRITORIES.has(home) && US_AND_TERRITORIES.has(region)) return true;
  return (home === 'US' && region === 'CA') || (home === 'CA' && region === 'US');
}

function isAccountDomain(domain: string | undefined, sipDomains: readonly string[] | undefined): boolean {
  if (domain === undefined || domain === '' || sipDomains === undefined) return false;
  for (const d of sipDomains) {
    if (d === domain || d.toLowerCase() === domain) return true;
  }
  return false;
}

function parse(digits: string, home: Home | undefined): PhoneNumber | undefined {
  return parsePhoneNumberFromString(digits, home?.country);
}

/** The cached per-country view; undefined for a missing or unsupported home country. */
function homeOf(homeCountry: string | undefined): Home | undefined {
  if (typeof homeCountry !== 'string') return undefined;
  const cached = homes.get(homeCountry);
  if (cached !== undefined) return cached;
  const country = homeCountry.toUpperCase();
  if (!isSupportedCountry(country)) return undefined; // not cached: bounded by real countries
  const callingCode = getCountryCallingCode(country);
  const home: Home = { country, callingCode, nanp: callingCode === '1', directory: DIRECTORY_NUMBERS.get(country) };
  homes.set(homeCountry, home);
  return home;
}
