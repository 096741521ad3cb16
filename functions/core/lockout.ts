/**
 * Lockout across calls (docs/security.md, "Lockouts"): `failures` failed code entries by one
 * user within `windowMinutes` lock code entry for `lockMinutes`. Beside the per-user records,
 * one account-wide record counts every failed entry in the account: more than
 * `accountFailures` within the window lock code entry for callers who are not in the users
 * list (an attacker who varies the caller's spelling gets fresh per-user records, never a fresh
 * account record). The storage adapter keeps the records, the core decides what they say.
 */
import type { Settings } from './settings.ts';

export interface LockoutRecord {
  /** Start of the current counting window (ISO instant). */
  readonly windowStart: string;
  /** Failed entries since `windowStart`. */
  readonly failures: number;
  /** Code entry is refused until this instant (ISO), when set. */
  readonly lockedUntil?: string;
}

export type LockoutRules = Pick<Settings['lockout'], 'failures' | 'windowMinutes' | 'lockMinutes'>;

/**
 * The key of the account-wide record in the lockout store. No caller identity can take this
 * form: identities are `client:…`, `sip:…` or a number.
 */
export const ACCOUNT_THROTTLE = '*account';

/** The account-wide throttle's rules: locked on the failure after `accountFailures`. */
export function accountThrottleRules(rules: Settings['lockout']): LockoutRules {
  return { failures: rules.accountFailures + 1, windowMinutes: rules.windowMinutes, lockMinutes: rules.lockMinutes };
}

/** Is the user locked out now? */
export function isLockedOut(record: LockoutRecord | undefined, now: Date): boolean {
  return record?.lockedUntil !== undefined && Date.parse(record.lockedUntil) > now.getTime();
}

/** Failures that still count now (0 once the window has passed). */
export function failuresInWindow(record: LockoutRecord | undefined, now: Date, rules: LockoutRules): number {
  if (record === undefined) return 0;
  const windowEnd = Date.parse(record.windowStart) + rules.windowMinutes * 60_000;
  return windowEnd > now.getTime() ? record.failures : 0;
}

/**
 * The record after one more failed entry, and whether the user is locked after it. A new
 * window opens when the old one has passed; reaching `failures` sets `lockedUntil`. A failure
 * while a lock is running (another call of the same user raced it) leaves the record as it
 * is: counting it would open a new window without `lockedUntil` and so lift the lock.
 */
export function recordFailure(record: LockoutRecord | undefined, now: Date, rules: LockoutRules): { readonly record: LockoutRecord; readonly locked: boolean } {
  if (record !== undefined && isLockedOut(record, now)) return { record, locked: true };
  const counted = failuresInWindow(record, now, rules);
  const windowStart = counted === 0 ? now.toISOString() : (record?.windowStart ?? now.toISOString());
  const failures = counted + 1;
  if (failures >= rules.failures) {
    return {
      record: { windowStart: now.toISOString(), failures: 0, lockedUntil: new Date(now.getTime() + rules.lockMinutes * 60_000).toISOString() },
      locked: true,
    };
  }
  return { record: { windowStart, failures }, locked: false };
}
