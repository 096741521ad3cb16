/**
 * The Reports page's API: a month of calls per code (the monthly summary's numbers), per user
 * and per class, and links to download the month's usage files (CSV and XLSX). Finance and
 * admins only. The totals are counted from the month's records as they stand, so a call
 * tagged today shows under its code at once, before the next export rewrites the files.
 */
import type { Hono } from 'hono';
import { billableMinutes, daysOfMonth, isMonth, TotalsBuilder, usageMonthPrefix } from '../../core/usage.ts';
import { localDate } from '../../core/time.ts';
import { accountSettings, ApiError, requireRole, type ConsoleDeps, type ConsoleEnv } from './context.ts';

interface Tally {
  calls: number;
  talkS: number;
  billableMinutes: number;
}

export function reportRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/api/reports', async (c) => {
    const user = requireRole(c, 'admin', 'finance');
    const settings = await accountSettings(deps, user);
    const today = localDate(deps.now(), settings.timeZone);
    const month = c.req.query('month') ?? today.slice(0, 7);
    if (!isMonth(month)) throw new ApiError(400, `month "${month}": give a month as YYYY-MM`);
    const perCode = new TotalsBuilder(settings.billingIncrementSeconds);
    const perUser = new Map<string, Tally>();
    const perClass = new Map<string, Tally>();
    for (const day of daysOfMonth(month).filter((d) => d <= today)) {
      for await (const { state } of deps.calls.callsOfDay(user.account, day)) {
        if (state.phase !== 'ended') continue;
        perCode.add(state);
        const minutes = billableMinutes(state.talkS, settings.billingIncrementSeconds);
        count(perUser, state.user, state.talkS ?? 0, minutes);
        count(perClass, state.destinationClass, state.talkS ?? 0, minutes);
      }
    }
    const files = (await deps.door.list(usageMonthPrefix(user.account, month))).map((o) => ({ name: o.key.split('/').pop() ?? o.key, key: o.key, size: o.size }));
    return c.json({
      month,
      perCode: perCode
        .list()
        .map((t) => ({ code: t.code, ref: t.ref ?? '', description: t.description, kind: t.kind, calls: t.calls, talkS: t.talkS, billableMinutes: t.billableMinutes })),
      perUser: rows(perUser, 'user'),
      perClass: rows(perClass, 'class'),
      files,
    });
  });
  app.get('/api/downloads', async (c) => {
    const user = requireRole(c, 'admin', 'finance');
    const key = c.req.query('key') ?? '';
    const mine = key.startsWith(`exports/${user.account}/`) && !key.includes('..');
    const listed = mine ? (await deps.door.list(key)).some((o) => o.key === key) : false;
    if (!listed) throw new ApiError(404, 'no such file: the export may not have written it yet');
    return c.json({ url: await deps.door.downloadUrl(key, key.split('/').pop() ?? 'download') });
  });
}

function count(map: Map<string, Tally>, key: string, talkS: number, minutes: number): void {
  const t = map.get(key) ?? { calls: 0, talkS: 0, billableMinutes: 0 };
  t.calls += 1;
  t.talkS += talkS;
  t.billableMinutes += minutes;
  map.set(key, t);
}

function rows<K extends string>(map: Map<string, Tally>, name: K): ({ [P in K]: string } & Tally)[] {
  return [...map.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, t]) => ({ [name]: key, ...t }) as { [P in K]: string } & Tally);
}
