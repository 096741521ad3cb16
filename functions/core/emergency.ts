/**
 * Every emergency rule in one place (docs/security.md, "Emergency calls"):
 *
 * - which destinations are emergency calls, in every spelling a phone sends them (`911`,
 *   `911#`, `9911` behind an outside-line prefix, `+1 911`, `tel:112`, `sip:999@…`,
 *   `sip:911%23@…`), for a known home country or — when the account cannot be known — for any;
 * - what is dialled: the short number the emergency service answers (`+44 999` → `999`);
 * - the caller ID the `<Dial>` carries, which it always does: the user's, the entry point's,
 *   the account's, and last the deployment's emergency caller ID from configuration (Twilio
 *   refuses a `<Dial>` from a client or SIP leg without one, error 13214).
 *
 * Table lookups only: nothing here waits, throws or needs storage.
 */
import { getCountries, getCountryCallingCode } from './phone-numbers.ts';
import { dialledPart, type NumberingContext } from './destination.ts';
import { EMERGENCY_NUMBERS, UNIVERSAL_EMERGENCY } from './numbering-tables.ts';
import type { Action } from './types.ts';

/**
 * `+<cc><n>` → `<n>` for every emergency number of a country with calling code `cc` (and
 * 911/112 under every code). The calling code names the country, so this form is recognised
 * whatever the home country: a US account's `+44 999` is dialled free rather than prompted.
 * None of these strings is a valid subscriber number anywhere (a unit test holds that).
 */
const SHORT_FORMS: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const country of getCountries()) {
    const cc = getCountryCallingCode(country);
    for (const n of [...UNIVERSAL_EMERGENCY, ...(EMERGENCY_NUMBERS.get(country) ?? [])]) map.set(`+${cc}${n}`, n);
  }
  return map;
})();

/** Every short emergency number of every country in the table. */
const ANY_COUNTRY: ReadonlySet<string> = new Set([...UNIVERSAL_EMERGENCY, ...[...EMERGENCY_NUMBERS.values()].flatMap((s) => [...s])]);

/** The longest outside-line prefix the settings allow. */
export const MAX_OUTSIDE_LINE_PREFIX = 3;

/**
 * The short number to dial when `destination` is an emergency call for this account (its home
 * country's numbers, 911 and 112, any `+<cc>` form, behind its outside-line prefix); undefined
 * otherwise.
 */
export function emergencyNumberFor(destination: string, ctx: NumberingContext | undefined): string | undefined {
  const user = numberPart(destination);
  if (user === undefined) return undefined;
  const home = typeof ctx?.homeCountry === 'string' ? EMERGENCY_NUMBERS.get(ctx.homeCountry.toUpperCase()) : undefined;
  const match = (n: string) => (n.startsWith('+') ? SHORT_FORMS.get(n) : UNIVERSAL_EMERGENCY.has(n) || home?.has(n) === true ? n : undefined);
  const direct = match(user);
  if (direct !== undefined) return direct;
  const prefix = ctx?.outsideLinePrefix;
  return typeof prefix === 'string' && prefix !== '' && user.startsWith(prefix) ? match(user.slice(prefix.length)) : undefined;
}

/**
 * The short number to dial when `destination` is an emergency number in *some* country, behind
 * any outside-line prefix the settings could set. For the moment the account cannot be known
 * (storage down, an unknown Account SID): dialling a number that may be an emergency call costs
 * nothing, while refusing one may cost a life.
 */
export function emergencyNumberAnywhere(destination: string): string | undefined {
  const user = numberPart(destination);
  if (user === undefined) return undefined;
  if (user.startsWith('+')) return SHORT_FORMS.get(user);
  if (ANY_COUNTRY.has(user)) return user;
  for (let len = 1; len <= MAX_OUTSIDE_LINE_PREFIX && len < user.length; len++) {
    const rest = user.slice(len);
    if (ANY_COUNTRY.has(rest)) return rest;
  }
  return undefined;
}

/** True when the destination, in any accepted spelling, is an emergency call for this account. */
export function isEmergency(destination: string, ctx: NumberingContext | undefined): boolean {
  return emergencyNumberFor(destination, ctx) !== undefined;
}

/** What an emergency `<Dial>`'s caller ID is chosen from, best first. */
export interface EmergencyCallerIds {
  readonly user?: string | undefined;
  readonly entryPoint?: string | undefined;
  readonly account?: string | undefined;
  /** The deployment's emergency caller ID, from configuration (never storage): always there. */
  readonly deployment: string;
}

/** User → entry point → account → deployment: the first that is set. */
export function emergencyCallerId(ids: EmergencyCallerIds): string {
  return ids.user ?? ids.entryPoint ?? ids.account ?? ids.deployment;
}

/** The emergency answer: dial the short number, with a caller ID. */
export function emergencyActions(shortNumber: string, callerId: string): Action[] {
  return [{ type: 'dial', target: { kind: 'number', number: shortNumber }, callerId }];
}

/** The digits of a number or of a SIP URI's user part; undefined for clients and named SIP users. */
function numberPart(destination: string): string | undefined {
  try {
    const part = dialledPart(destination);
    if (part.kind === 'client' || part.user === '' || !/^\+?\d+$/.test(part.user)) return undefined;
    return part.user;
  } catch {
    return undefined;
  }
}
