/**
 * How a dialled destination and a caller's identity are read, before anything is decided
 * about them (docs/security.md, "Destinations and identities"). One reading serves
 * classification, the emergency rules, the dial target and the user lookups, so what is
 * judged is always what is dialled.
 *
 * - A trailing `#` is a desk phone's "send" key, never part of a number: `911#` is 911.
 * - An outside-line prefix the account sets (`"9"`) is removed from a number that starts with
 *   it: `9 1 415 555 0100` is `1 415 555 0100`, `9911` is 911 — unless the number as dialled
 *   starts with an international prefix and the rest does not (`011 44…` under prefix `"0"`).
 * - An international prefix (`011` and operator-assisted `01` in NANP, `00` everywhere, the
 *   home country's own) turns the rest into `+<cc>…`: `0044 20…` from a US account is
 *   `+44 20…`.
 * - A SIP identity is `sip:user@host`, lower-cased, without display name, password, port,
 *   parameters or headers; numbers lose their visual separators.
 */
import { getCountryCallingCode, isSupportedCountry, type CountryCode } from './phone-numbers.ts';

/** The dialable part of a destination (see {@link dialledPart}). */
export interface DialledPart {
  readonly kind: 'client' | 'sip' | 'number';
  readonly user: string;
  readonly domain?: string;
}

/** What reading a number needs from the account's settings; every field may be missing. */
export interface NumberingContext {
  /** ISO 3166-1 alpha-2, e.g. 'US'. */
  readonly homeCountry?: string | undefined;
  /** Digits desk phones dial first for an outside line, e.g. '9'. */
  readonly outsideLinePrefix?: string | undefined;
}

export const PHONE_LIKE = /^\+?\d+$/;
const VISUAL_SEPARATORS = /[\s\-().]/g;

/**
 * Extracts the dialable part: `sip:+4420…@dom;transport=udp` → `+4420…` (also `sips:`, with
 * `;params`, `?headers`, `:password` and `:port` dropped and `%xx` decoded), `tel:+1…` →
 * `+1…`, `client:alice` → `alice`. Visual separators (space, `-`, `(`, `)`, `.`) are stripped
 * from numbers, and from a SIP user part only when what is left is a number (`john.doe`
 * stays). Trailing `#` keys are dropped. The domain is lower-cased.
 */
export function dialledPart(destination: string): DialledPart {
  if (typeof destination !== 'string') return { kind: 'number', user: '' };
  const text = destination.trim();
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon).toLowerCase() : '';
  if (scheme === 'client') return { kind: 'client', user: text.slice(colon + 1) };
  if (scheme === 'sip' || scheme === 'sips') return sipPart(text.slice(colon + 1));
  const rest = scheme === 'tel' ? cut(text.slice(colon + 1), ';') : text;
  return { kind: 'number', user: withoutSendKey(rest.replace(VISUAL_SEPARATORS, '')) };
}

/**
 * A digit string as the network would dial it: the outside-line prefix removed (once), then an
 * international prefix turned into `+`. Anything that is not a digit string comes back as is.
 */
export function networkNumber(digits: string, ctx: NumberingContext | undefined): string {
  if (!PHONE_LIKE.test(digits) || digits.startsWith('+')) return digits;
  const home = ctx?.homeCountry;
  const prefix = ctx?.outsideLinePrefix;
  let n = digits;
  if (typeof prefix === 'string' && prefix !== '' && digits.startsWith(prefix) && digits.length > prefix.length) {
    const stripped = digits.slice(prefix.length);
    // A softphone user may dial without the prefix: `011 44…` with prefix "0" is an
    // international call, not "0" and then `11 44…`. The whole is read as dialled when it
    // starts with an international prefix and what is left after the prefix does not.
    const wholeIsInternational = internationalPrefixOf(digits, home) !== undefined && internationalPrefixOf(stripped, home) === undefined;
    if (!wholeIsInternational) n = stripped;
  }
  const idd = internationalPrefixOf(n, home);
  return idd === undefined ? n : `+${n.slice(idd.length)}`;
}

/**
 * The international prefix a digit string starts with, if any: `00` from every country, `011`
 * (and operator-assisted `01`) from NANP countries, and the few other prefixes home countries use. A lone `00` is the NANP
 * operator, not a prefix; the prefix must be followed by a calling code.
 */
export function internationalPrefixOf(digits: string, homeCountry: string | undefined): string | undefined {
  const prefixes = [...(homeCountry === undefined ? [] : (OWN_PREFIXES[homeCountry] ?? [])), ...(isNanp(homeCountry) ? ['011', '01'] : []), '00'];
  for (const p of prefixes) {
    if (digits.length > p.length && digits.startsWith(p) && digits.charCodeAt(p.length) !== 48 /* '0' */) return p;
  }
  return undefined;
}

/** International prefixes other than `00` and NANP's `011`, longest first (ITU-T E.164 annex). */
const OWN_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  AU: ['0011'],
  JP: ['010'],
  KR: ['001', '002'],
  IL: ['013', '014', '012'],
  SG: ['001'],
  HK: ['001'],
  ID: ['001', '008'],
  TH: ['001'],
  MN: ['001'],
  KE: ['000'],
  TZ: ['000'],
  UG: ['000'],
  CO: ['009', '007', '005'],
  BR: ['0014', '0015', '0021', '0041', '0043'],
  RU: ['810'],
  KZ: ['810'],
  BY: ['810'],
};

function isNanp(homeCountry: string | undefined): boolean {
  return homeCountry !== undefined && isSupportedCountry(homeCountry) && getCountryCallingCode(homeCountry as CountryCode) === '1';
}

/**
 * A caller's identity as users, lockouts and usage records key it: `sip:user@host`
 * (lower-cased; display name, `<>`, password, port, parameters and headers dropped; `%xx`
 * decoded), `client:name` as sent, an E.164 number without separators. Two spellings of one
 * SIP address are one identity; the same user part on another host is another identity.
 */
export function canonicalIdentity(id: string): string {
  let text = typeof id === 'string' ? id.trim() : '';
  const lt = text.indexOf('<');
  if (lt >= 0) {
    const gt = text.indexOf('>', lt);
    text = text.slice(lt + 1, gt < 0 ? undefined : gt).trim();
  }
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon).toLowerCase() : '';
  if (scheme === 'sip' || scheme === 'sips') {
    const rest = text.slice(colon + 1);
    const at = rest.indexOf('@');
    if (at < 0) return `sip:${hostOf(rest)}`;
    const user = decode(cut(cut(rest.slice(0, at), ';'), ':'));
    return `sip:${user.toLowerCase()}@${hostOf(rest.slice(at + 1))}`;
  }
  if (scheme === 'client') return `client:${text.slice(colon + 1)}`;
  const number = scheme === 'tel' ? cut(text.slice(colon + 1), ';') : text;
  const bare = number.replace(VISUAL_SEPARATORS, '');
  return /^\+\d+$/.test(bare) ? bare : text;
}

/** The host of a SIP URI, for the account's own domains: `Host:5060;transport=udp?X-h=v` → `host`. */
export function hostOf(hostPart: string): string {
  const host = cut(cut(hostPart, '?'), ';');
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return (end < 0 ? host : host.slice(0, end + 1)).toLowerCase();
  }
  return cut(host, ':').toLowerCase();
}

/** A SIP URI to dial on another host: scheme, user, host, port and parameters; URI headers (`?…`) never. */
export function sipUriWithoutHeaders(uri: string): string {
  return cut(uri.trim(), '?').replace(/^sips?:/i, (m) => m.toLowerCase());
}

function sipPart(uri: string): DialledPart {
  const at = uri.indexOf('@');
  if (at < 0) return { kind: 'sip', user: '', domain: hostOf(uri) };
  let user = cut(cut(uri.slice(0, at), ';'), ':');
  if (user.includes('%')) user = decode(user);
  user = withoutSendKey(user);
  const bare = user.replace(VISUAL_SEPARATORS, '');
  return { kind: 'sip', user: PHONE_LIKE.test(bare) ? bare : user, domain: hostOf(uri.slice(at + 1)) };
}

function withoutSendKey(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 35 /* '#' */) end--;
  return end === text.length ? text : text.slice(0, end);
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
