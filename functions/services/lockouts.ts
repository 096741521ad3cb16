/**
 * Who is locked out of code entry, and unlocking them (docs/security.md, "Lockouts"): the
 * service the CLI's `tollgate lockouts` and the console use. Every unlock is audited: it
 * leaves a report under `results/<account>/`, beside the import reports, naming who unlocked
 * whom and when.
 */
import { canonicalIdentity } from '../core/destination.ts';
import { ACCOUNT_THROTTLE } from '../core/lockout.ts';
import type { LockoutStore } from '../core/ports.ts';
import { reportKey, type ImportReport } from './importer.ts';

export interface LockoutEntry {
  /** The caller's canonical identity, or {@link ACCOUNT_THROTTLE} for the account-wide throttle. */
  readonly user: string;
  /** Until when code entry is locked (ISO instant). */
  readonly lockedUntil: string;
  /** The account-wide throttle: callers who are not in the users list are locked. */
  readonly accountWide: boolean;
}

export interface LockoutDeps {
  readonly lockouts: Pick<LockoutStore, 'listLocked' | 'get' | 'clear'>;
  /** Where audit reports go (the bucket's `results/`). */
  readonly writeReport: (key: string, report: ImportReport) => Promise<void>;
  readonly now: () => Date;
}

/** Every lock in force in the account, soonest to end first. */
export async function listLockouts(deps: Pick<LockoutDeps, 'lockouts' | 'now'>, account: string): Promise<LockoutEntry[]> {
  const entries: LockoutEntry[] = [];
  for await (const { user, record } of deps.lockouts.listLocked(account, deps.now())) {
    if (record.lockedUntil !== undefined) entries.push({ user, lockedUntil: record.lockedUntil, accountWide: user === ACCOUNT_THROTTLE });
  }
  return entries.sort((a, b) => a.lockedUntil.localeCompare(b.lockedUntil) || a.user.localeCompare(b.user));
}

/**
 * Unlock a caller (their failed attempts forgotten) or, with {@link ACCOUNT_THROTTLE}, the
 * account-wide throttle; audited whether or not there was a lock to clear.
 */
export async function clearLockout(
  deps: LockoutDeps,
  account: string,
  user: string,
  actor: string,
): Promise<{ readonly cleared: boolean; readonly user: string; readonly reportKey: string }> {
  const who = user === ACCOUNT_THROTTLE ? ACCOUNT_THROTTLE : canonicalIdentity(user);
  const startedAt = deps.now();
  const before = await deps.lockouts.get(account, who);
  const cleared = before?.lockedUntil !== undefined && Date.parse(before.lockedUntil) > startedAt.getTime();
  if (before !== undefined) await deps.lockouts.clear(account, who);
  const report: ImportReport = {
    file: `lockouts/${who}`,
    versionId: null,
    status: 'applied',
    mode: 'merge',
    rows: 1,
    created: 0,
    updated: 0,
    unchanged: cleared ? 0 : 1,
    deleted: cleared ? 1 : 0,
    errorCount: 0,
    errors: [],
    startedAt: startedAt.toISOString(),
    finishedAt: deps.now().toISOString(),
    actor,
  };
  const key = reportKey(account, 'lockout-clear', startedAt);
  await deps.writeReport(key, report);
  return { cleared, user: who, reportKey: key };
}
