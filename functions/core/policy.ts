/**
 * Treatment resolution (docs/security.md, "Treatments"): which treatment a call of class `c`
 * gets for user `u` in group `g`, and the effective attempt rules — with the floors no setting
 * can lower: emergency is free; a destination abroad, an `unknown` one, and an `external` one
 * the settings say nothing about are never treated more permissively than `international`.
 */
import type { EntryPointSettings, GroupSettings, Settings, UserRecord } from './settings.ts';
import type { CallClass, Treatment } from './types.ts';

export interface PolicyInput {
  readonly settings: Settings;
  /** The stored user, or undefined for a caller Tollgate does not know (→ `defaultGroup`). */
  readonly user: UserRecord | undefined;
  /** The entry point the call came through, when it has settings. */
  readonly entryPoint: EntryPointSettings | undefined;
  readonly callClass: CallClass;
  /** The destination reaches the public network abroad (classify.ts): `international` is its floor. */
  readonly foreign?: boolean;
}

/** Everything the call flow needs to know about the rules for one call. */
export interface Policy {
  readonly treatment: Treatment;
  readonly group: string | undefined;
  readonly maxAttempts: number;
  readonly validate: boolean;
  readonly proceedAfterMaxAttempts: boolean;
  /** Minimum authorization level for the class (`levels[c]`, default 0). */
  readonly minLevel: number;
}

/** The user's group: their own, else the account's `defaultGroup`, else none. */
export function groupOf(settings: Settings, user: UserRecord | undefined): { name: string | undefined; group: GroupSettings | undefined } {
  const name = user?.group ?? settings.defaultGroup;
  return { name, group: name === undefined ? undefined : settings.groups[name] };
}

/**
 * `u.calls[c] ?? g.calls[c] ?? account.calls[c] ?? u.calls.default ?? g.calls.default ??
 * account.calls.default ?? "free"`, then the rules no setting can undo:
 * - emergency is free;
 * - `external` with no class entry at any level is resolved as `international`;
 * - a destination abroad (any class, premium included) and an `unknown` one get the stricter
 *   of their own treatment and the `international` one;
 * - an entry point with `codes: false` turns code prompts into `free`.
 */
export function resolveTreatment(input: PolicyInput): Treatment {
  return resolveRule(input).treatment;
}

/** The order of strictness: a later treatment lets fewer calls through. */
const STRICTNESS: Readonly<Record<Treatment, number>> = { free: 0, optional: 1, required: 2, authorized: 3, blocked: 4 };

/** The treatment and the class whose `levels` entry applies. */
function resolveRule(input: PolicyInput): { readonly treatment: Treatment; readonly levelClasses: readonly CallClass[] } {
  const { settings, user, entryPoint, callClass } = input;
  if (callClass === 'emergency') return { treatment: 'free', levelClasses: [] };
  const { group } = groupOf(settings, user);
  const named = (c: CallClass) => user?.calls?.[c] ?? group?.calls?.[c] ?? settings.calls[c];
  const ofClass = (c: CallClass) => named(c) ?? user?.calls?.default ?? group?.calls?.default ?? settings.calls.default ?? 'free';
  let own: CallClass = callClass;
  if (callClass === 'external' && named('external') === undefined) own = 'international';
  let treatment = ofClass(own);
  const levelClasses: CallClass[] = [own];
  if ((input.foreign === true || callClass === 'unknown') && own !== 'international') {
    const floor = ofClass('international');
    if (STRICTNESS[floor] > STRICTNESS[treatment]) treatment = floor;
    if (floor === 'authorized') levelClasses.push('international');
  }
  if (entryPoint?.codes === false && treatment !== 'blocked') return { treatment: 'free', levelClasses };
  return { treatment, levelClasses };
}

/** The treatment plus `maxAttempts`, `validate` and `proceedAfterMaxAttempts`, user → group → account. */
export function resolvePolicy(input: PolicyInput): Policy {
  const { settings, user } = input;
  const { name, group } = groupOf(settings, user);
  const { treatment, levelClasses } = resolveRule(input);
  // The schema already refuses `true` below an account that says `false`; a user record
  // written before the account changed its mind must not reopen the door either.
  const proceed = settings.proceedAfterMaxAttempts && (user?.proceedAfterMaxAttempts ?? group?.proceedAfterMaxAttempts ?? true);
  return {
    treatment,
    group: name,
    maxAttempts: user?.maxAttempts ?? group?.maxAttempts ?? settings.maxAttempts,
    // `authorized` always validates.
    validate: treatment === 'authorized' ? true : (user?.validate ?? group?.validate ?? settings.validate),
    // Only `required` may proceed after the last failed attempt; `authorized` never does.
    proceedAfterMaxAttempts: treatment === 'required' && proceed,
    // The highest level any class that set the treatment asks for.
    minLevel: Math.max(0, ...levelClasses.map((c) => settings.levels[c] ?? 0)),
  };
}
