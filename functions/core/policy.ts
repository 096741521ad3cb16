/**
 * Treatment resolution (SPEC §4): which treatment a call of class `c` gets for user `u` in
 * group `g`, and the effective attempt rules.
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
 * account.calls.default ?? "free"`, then the two overrides no setting can undo: emergency is
 * free, and an entry point with `codes: false` turns code prompts into `free`.
 */
export function resolveTreatment(input: PolicyInput): Treatment {
  const { settings, user, entryPoint, callClass } = input;
  if (callClass === 'emergency') return 'free';
  const { group } = groupOf(settings, user);
  const treatment =
    user?.calls?.[callClass] ??
    group?.calls?.[callClass] ??
    settings.calls[callClass] ??
    user?.calls?.default ??
    group?.calls?.default ??
    settings.calls.default ??
    'free';
  if (entryPoint?.codes === false && treatment !== 'blocked') return 'free';
  return treatment;
}

/** The treatment plus `maxAttempts`, `validate` and `proceedAfterMaxAttempts`, user → group → account. */
export function resolvePolicy(input: PolicyInput): Policy {
  const { settings, user, callClass } = input;
  const { name, group } = groupOf(settings, user);
  const treatment = resolveTreatment(input);
  // The schema already refuses `true` below an account that says `false`; a user record
  // written before the account changed its mind must not reopen the door either.
  const proceed = settings.proceedAfterMaxAttempts && (user?.proceedAfterMaxAttempts ?? group?.proceedAfterMaxAttempts ?? true);
  return {
    treatment,
    group: name,
    maxAttempts: user?.maxAttempts ?? group?.maxAttempts ?? settings.maxAttempts,
    // `authorized` always validates (SPEC §4).
    validate: treatment === 'authorized' ? true : (user?.validate ?? group?.validate ?? settings.validate),
    // Only `required` may proceed after the last failed attempt; `authorized` never does.
    proceedAfterMaxAttempts: treatment === 'required' && proceed,
    minLevel: settings.levels[callClass] ?? 0,
  };
}
