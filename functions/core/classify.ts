/**
 * Call classification (SPEC §5): what kind of number was dialled, relative to the account's
 * home country. Short numbers come from the curated tables in `numbering-tables.ts`;
 * everything else from libphonenumber's `/max` metadata (the only build with number types).
 *
 * Nothing here throws: an unparseable destination, a missing context or an unsupported home
 * country all end in `unknown` — except that 911 and 112 are emergency regardless.
 */
import {
  getCountries,
  getCountryCallingCode,
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
  type PhoneNumber,
} from 'libphonenumber-js/max';
import {
  DIRECTORY_NUMBERS,
  EMERGENCY_NUMBERS,
  NANP_DIRECTORY,
  NANP_DIRECTORY_E164,
  UNIVERSAL_EMERGENCY,
  US_AND_TERRITORIES,
} from './numbering-tables.ts';
import type { CallClass } from './types.ts';

export interface ClassifyContext {
  /** ISO 3166-1 alpha-2, e.g. 'US', 'GB' */
  readonly homeCountry: string;
  /** the account's SIP domains, lower-case, e.g. ['acme.sip.twilio.com'] */
  readonly sipDomains?: readonly string[];
  /** E.164 numbers that belong to users of the account (calls to them are internal) */
  readonly userNumbers?: ReadonlySet<string>;
}

/** The dialable part of a destination (see {@link dialledPart}). */
export interface DialledPart {
  readonly kind: 'client' | 'sip' | 'number';
  readonly user: string;
  readonly domain?: string;
}

/** What one home country contributes; built once per country and cached. */
interface Home {
  readonly country: CountryCode;
  readonly nanp: boolean;
  readonly emergency: ReadonlySet<string> | undefined;
  readonly directory: RegExp | undefined;
}

const PHONE_LIKE = /^\+?\d+$/;
const VISUAL_SEPARATORS = /[\s\-().]/g;
const EMPTY: ReadonlySet<string> = new Set();

/**
 * Every `+<cc><number>` spelling of an emergency number. The calling code names the country,
 * so this form is recognised whatever the home country (and with none): a US account's
 * `+44999` is dialled free rather than prompted — erring towards connecting. None of these
 * strings is a valid subscriber number anywhere (a unit test holds that), so nothing
 * chargeable hides behind them.
 */
const EMERGENCY_E164: ReadonlySet<string> = buildEmergencyE164();

const homes = new Map<string, Home>();

/**
 * Classifies a destination as SPEC §5 orders it: emergency, internal, directory, then by
 * libphonenumber's type and region — premium, toll-free, mobile, national, international —
 * and `unknown` for anything else. Never throws.
 *
 * Decisions beyond SPEC, kept here so policy authors can find them:
 * - premium and shared-cost numbers are `premium` in every country (foreign premium-rate is
 *   the fraud route); a foreign toll-free number is `international`;
 * - NANP mobiles cannot be told apart (libphonenumber says FIXED_LINE_OR_MOBILE): `national`;
 * - a `sip:` URI whose user part is a number is classified as that number, whatever the
 *   domain; a named SIP user is internal only on one of the account's domains (exact,
 *   case-insensitive match), otherwise `unknown`.
 */
export function classify(destination: string, ctx: ClassifyContext): CallClass {
  try {
    const part = dialledPart(destination);
    if (part.kind === 'client') return part.user === '' ? 'unknown' : 'internal';
    const home = homeOf(ctx?.homeCountry);
    if (part.kind === 'sip' && !PHONE_LIKE.test(part.user)) {
      return part.user !== '' && isAccountDomain(part.domain, ctx?.sipDomains) ? 'internal' : 'unknown';
    }
    return classifyNumber(part.user, home, ctx?.userNumbers);
  } catch {
    // Defensive only: libphonenumber is not known to throw from parsePhoneNumberFromString.
    return isEmergency(destination, ctx?.homeCountry) ? 'emergency' : 'unknown';
  }
}

/**
 * The E.164 form of a dialled number relative to the home country, for `<Dial><Number>` and
 * user lookups; undefined for clients, named SIP users, and anything libphonenumber does not
 * hold valid. Short codes (911, 411, 118 118) have no E.164 form: dial those as
 * `dialledPart(destination).user`.
 */
export function toE164(destination: string, homeCountry: string): string | undefined {
  try {
    const part = dialledPart(destination);
    if (part.kind === 'client' || !PHONE_LIKE.test(part.user)) return undefined;
    const parsed = parse(part.user, homeOf(homeCountry));
    return parsed?.isValid() === true ? parsed.number : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the destination, in any accepted form (`911`, `+44999`, `tel:112`,
 * `sip:999@acme.sip.twilio.com`), is an emergency number for the home country, or 911/112
 * from anywhere. Table lookups only; never throws; works with a missing or unsupported home
 * country, for the emergency fast path where settings may be missing.
 */
export function isEmergency(destination: string, homeCountry?: string): boolean {
  try {
    const part = dialledPart(destination);
    return part.kind !== 'client' && isEmergencyNumber(part.user, homeOf(homeCountry));
  } catch {
    return false;
  }
}

/** Every short emergency number of every country in the table. */
const ANY_COUNTRY_EMERGENCY: ReadonlySet<string> = new Set([...UNIVERSAL_EMERGENCY, ...[...EMERGENCY_NUMBERS.values()].flatMap((s) => [...s])]);

/**
 * True when the destination is an emergency number in *some* country. For the moment the
 * account (and so its home country) cannot be known — storage down, an unknown Account SID —
 * dialling a number that may be an emergency call costs nothing, while refusing one may cost
 * a life.
 */
export function isEmergencyAnywhere(destination: string): boolean {
  try {
    const part = dialledPart(destination);
    if (part.kind === 'client') return false;
    return isEmergencyNumber(part.user, undefined) || ANY_COUNTRY_EMERGENCY.has(part.user);
  } catch {
    return false;
  }
}

/**
 * Extracts the dialable part: `sip:+4420…@dom;transport=udp` → `+4420…` (also `sips:`, with
 * `;params`, `?headers`, `:password` and `:port` dropped and `%xx` decoded), `tel:+1…` →
 * `+1…`, `client:alice` → `alice`. Visual separators (space, `-`, `(`, `)`, `.`) are stripped
 * from numbers, and from a SIP user part only when what is left is a number (`john.doe` stays).
 * The domain is lower-cased.
 */
export function dialledPart(destination: string): DialledPart {
  if (typeof destination !== 'string') return { kind: 'number', user: '' };
  const text = destination.trim();
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon).toLowerCase() : '';
  if (scheme === 'client') return { kind: 'client', user: text.slice(colon + 1) };
  if (scheme === 'sip' || scheme === 'sips') return sipPart(text.slice(colon + 1));
  const rest = scheme === 'tel' ? cut(text.slice(colon + 1), ';') : text;
  return { kind: 'number', user: rest.replace(VISUAL_SEPARATORS, '') };
}

function classifyNumber(user: string, home: Home | undefined, userNumbers: ReadonlySet<string> | undefined): CallClass {
  if (!PHONE_LIKE.test(user)) return 'unknown';
  if (isEmergencyNumber(user, home)) return 'emergency';
  const plus = user.charCodeAt(0) === 43; /* '+' */
  if (plus && userNumbers?.has(user) === true) return 'internal';
  if (!plus && home !== undefined && isDirectory(user, home)) return 'directory';

  const parsed = parse(user, home);
  if (parsed === undefined || !parsed.isValid()) return 'unknown';
  if (userNumbers?.has(parsed.number) === true) return 'internal';
  const type = parsed.getType();
  if (type === 'PREMIUM_RATE' || type === 'SHARED_COST') return 'premium';
  if (home === undefined || parsed.country === undefined || !isDomestic(home.country, parsed.country)) return 'international';
  if (home.nanp && NANP_DIRECTORY_E164.test(parsed.number)) return 'directory';
  if (type === 'TOLL_FREE') return 'tollfree';
  if (type === 'MOBILE') return 'mobile';
  return 'national';
}

function isEmergencyNumber(user: string, home: Home | undefined): boolean {
  if (user.charCodeAt(0) === 43 /* '+' */) return EMERGENCY_E164.has(user);
  return UNIVERSAL_EMERGENCY.has(user) || home?.emergency?.has(user) === true;
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
  const home: Home = {
    country,
    nanp: getCountryCallingCode(country) === '1',
    emergency: EMERGENCY_NUMBERS.get(country),
    directory: DIRECTORY_NUMBERS.get(country),
  };
  homes.set(homeCountry, home);
  return home;
}

function sipPart(uri: string): DialledPart {
  const at = uri.indexOf('@');
  if (at < 0) return { kind: 'sip', user: '', domain: hostOf(uri) };
  let user = cut(cut(uri.slice(0, at), ';'), ':');
  if (user.includes('%')) user = decode(user);
  const bare = user.replace(VISUAL_SEPARATORS, '');
  return { kind: 'sip', user: PHONE_LIKE.test(bare) ? bare : user, domain: hostOf(uri.slice(at + 1)) };
}

/** `Host:5060;transport=udp?X-h=v` → `host`; `[::1]:5060` → `[::1]`. */
function hostOf(hostPart: string): string {
  const host = cut(cut(hostPart, '?'), ';');
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return (end < 0 ? host : host.slice(0, end + 1)).toLowerCase();
  }
  return cut(host, ':').toLowerCase();
}

function cut(text: string, separator: string): string {
  const i = text.indexOf(separator);
  return i < 0 ? text : text.slice(0, i);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function buildEmergencyE164(): Set<string> {
  const set = new Set<string>();
  for (const country of getCountries()) {
    const cc = getCountryCallingCode(country);
    for (const n of UNIVERSAL_EMERGENCY) set.add(`+${cc}${n}`);
    for (const n of EMERGENCY_NUMBERS.get(country) ?? EMPTY) set.add(`+${cc}${n}`);
  }
  return set;
}
