/**
 * The Security and Activity pages' API: who is locked out of code entry (and unlocking them,
 * audited), failed attempts per caller and emergency calls over the last days, and the audit
 * trail — every change, who made it, when, with what outcome (the import reports).
 */
import type { Hono } from 'hono';
import { checkIdentity } from '../../core/csv-values.ts';
import { ACCOUNT_THROTTLE } from '../../core/lockout.ts';
import { addDays, usageValues, USAGE_COLUMNS } from '../../core/usage.ts';
import { localDate } from '../../core/time.ts';
import { clearLockout, listLockouts } from '../lockouts.ts';
import { accountSettings, actorOf, ApiError, requireRole, type ConsoleDeps, type ConsoleEnv } from './context.ts';

/** How far back the Security page looks unless asked. */
const SECURITY_DAYS = 7;
const SECURITY_DAYS_MAX = 31;
/** A code that went through: the attempt that gave it was not a failure. */
const ACCEPTED = new Set(['valid', 'unvalidated', 'tagged', 'caller-id']);

export function securityRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/api/lockouts', async (c) => {
    const user = requireRole(c, 'admin', 'finance');
    return c.json({ lockouts: await listLockouts(deps, user.account) });
  });
  app.delete('/api/lockouts/:user', async (c) => {
    const user = requireRole(c, 'admin');
    const who = c.req.param('user');
    const checked = who === ACCOUNT_THROTTLE ? undefined : checkIdentity(who);
    if (checked !== undefined && !checked.ok) throw new ApiError(400, `"${who.slice(0, 60)}" is not a caller: ${checked.message}`);
    const target = checked === undefined ? who : checked.value;
    const result = await clearLockout({ lockouts: deps.lockouts, writeReport: deps.door.writeReport, now: deps.now }, user.account, target, actorOf(user));
    return c.json({ cleared: result.cleared, user: result.user });
  });
  app.get('/api/security', async (c) => {
    const user = requireRole(c, 'admin', 'finance');
    const settings = await accountSettings(deps, user);
    const days = Math.min(SECURITY_DAYS_MAX, Math.max(1, Number.parseInt(c.req.query('days') ?? '', 10) || SECURITY_DAYS));
    const today = localDate(deps.now(), settings.timeZone);
    const failures = new Map<string, { failed: number; calls: number }>();
    const emergency: Record<string, string>[] = [];
    for (let i = days - 1; i >= 0; i--) {
      for await (const { state } of deps.calls.callsOfDay(user.account, addDays(today, -i))) {
        if (state.destinationClass === 'emergency') {
          const values = usageValues(state, settings.timeZone);
          emergency.push(Object.fromEntries(USAGE_COLUMNS.map((column, k) => [column, values[k] ?? ''])));
        }
        const failed = state.attempts - (ACCEPTED.has(state.codeStatus) ? 1 : 0);
        if (failed <= 0) continue;
        const f = failures.get(state.user) ?? { failed: 0, calls: 0 };
        f.failed += failed;
        f.calls += 1;
        failures.set(state.user, f);
      }
    }
    const failedAttempts = [...failures.entries()].map(([caller, f]) => ({ user: caller, ...f })).sort((a, b) => b.failed - a.failed || a.user.localeCompare(b.user));
    return c.json({ days, failedAttempts, emergencyCalls: emergency });
  });
  app.get('/api/activity', async (c) => {
    const user = requireRole(c, 'admin', 'finance');
    const reports = await deps.door.reports(user.account);
    reports.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return c.json({ activity: reports.map(({ errors, ...r }) => ({ ...r, errors: errors.slice(0, 20) })) });
  });
}
