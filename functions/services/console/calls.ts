/**
 * The Calls page's API: a day's calls with filters, one call's detail, and tagging. Admins tag
 * or retag any call; a `user` sees only their own calls and tags their own untagged ones for
 * `selfTagDays`. Records are shown as the usage file has them (local times, the same columns),
 * never with an authorization code's digits (the record holds none).
 */
import type { Hono } from 'hono';
import type { ConsoleUser, StoredCall } from '../../core/ports.ts';
import type { Settings } from '../../core/settings.ts';
import { isIsoDate, localDate } from '../../core/time.ts';
import { USAGE_COLUMNS, usageValues, type UsageRecord } from '../../core/usage.ts';
import { tagCall } from '../tagging.ts';
import { accountSettings, actorOf, ApiError, requireRole, type ConsoleDeps, type ConsoleEnv } from './context.ts';

const FILTERS = { user: 'user', code: 'code', class: 'destination_class', outcome: 'outcome', status: 'code_status' } as const;

export function callRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/api/calls', async (c) => {
    const user = c.get('user');
    const settings = await accountSettings(deps, user);
    const date = c.req.query('date') ?? localDate(deps.now(), settings.timeZone);
    if (!isIsoDate(date)) throw new ApiError(400, `date "${date}": give a day as YYYY-MM-DD`);
    const wanted = Object.entries(FILTERS).flatMap(([param, column]) => {
      const value = c.req.query(param)?.trim();
      return value ? [[column, value] as const] : [];
    });
    const calls = [];
    for await (const call of deps.calls.callsOfDay(user.account, date)) {
      if (!maySee(user, call.state)) continue;
      const view = callView(call.state as UsageRecord, settings, user, deps.now());
      if (wanted.every(([column, value]) => view[column] === value)) calls.push(view);
    }
    calls.sort((a, b) => String(a.started_at).localeCompare(String(b.started_at)));
    return c.json({ date, calls });
  });
  app.get('/api/calls/:sid', async (c) => {
    const user = c.get('user');
    const settings = await accountSettings(deps, user);
    return c.json({ call: callView(await visibleCall(deps, user, c.req.param('sid')), settings, user, deps.now()) });
  });
  app.post('/api/calls/:sid/tag', async (c) => {
    const user = requireRole(c, 'admin', 'user');
    const settings = await accountSettings(deps, user);
    const record = await visibleCall(deps, user, c.req.param('sid'));
    if (user.role === 'user' && !selfTaggable(record, settings, deps.now())) {
      throw new ApiError(403, `you can tag your own calls without a code for ${settings.selfTagDays} days after them; ask an admin to retag this one`);
    }
    const body = (await c.req.json().catch(() => ({}))) as { code?: unknown };
    const digits = typeof body.code === 'string' ? body.code.trim() : '';
    const result = await tagCall(deps, record.callSid, digits, actorOf(user));
    if (!result.ok) throw new ApiError(result.reason === 'no-call' ? 404 : 400, result.message);
    return c.json({ changed: result.changed, call: callView(result.record, settings, user, deps.now()) });
  });
}

/** A call of this account that this user may see; anything else is a call that does not exist. */
async function visibleCall(deps: ConsoleDeps, user: ConsoleUser, sid: string): Promise<UsageRecord> {
  const stored = /^[A-Za-z0-9_-]{1,64}$/.test(sid) ? await deps.calls.get(sid) : undefined;
  if (stored === undefined || stored.state.account !== user.account || !maySee(user, stored.state)) throw new ApiError(404, `no call ${sid} in ${user.account}`);
  return stored.state as UsageRecord;
}

/** Admins and finance see every call of the account; a `user` only the calls they placed. */
function maySee(user: ConsoleUser, call: StoredCall['state']): boolean {
  return user.role !== 'user' || (user.identity !== undefined && call.user === user.identity);
}

/** A `user`'s own call that carries no code and is at most `selfTagDays` old. */
function selfTaggable(record: UsageRecord, settings: Settings, now: Date): boolean {
  const days = settings.selfTagDays;
  const untagged = record.code === undefined && record.codeRef === undefined;
  return untagged && now.getTime() - Date.parse(record.startedAt) <= days * 86_400_000;
}

/** A record as the usage file's columns (local times), with who tagged it and whether this user may tag it. */
function callView(record: UsageRecord, settings: Settings, user: ConsoleUser, now: Date): Record<string, string | boolean> {
  const values = usageValues(record, settings.timeZone);
  const view: Record<string, string | boolean> = Object.fromEntries(USAGE_COLUMNS.map((column, i) => [column, values[i] ?? '']));
  view.tagged_by = record.taggedBy ?? '';
  view.tagged_at = record.taggedAt ?? '';
  view.can_tag = user.role === 'admin' || (user.role === 'user' && selfTaggable(record, settings, now));
  return view;
}
