/**
 * The Settings page's API: the account's settings with their JSON Schema (the page builds its
 * form from it, each field with its description), a check that gives every problem with its
 * path and the difference from what is stored, and applying — `settings.json` through the one
 * door, so the import validates it again and the audit trail has it. Earlier versions (who
 * applied each, when) come back for a revert, which is applying that document again.
 */
import type { Hono } from 'hono';
import { parseSettings, settingsJsonSchema } from '../../core/settings.ts';
import { accountSettings, ApiError, changeResponse, jsonBody, requireRole, submitChange, type ConsoleDeps, type ConsoleEnv } from './context.ts';

/** Earlier versions the page lists. */
const HISTORY_SHOWN = 20;

export function settingsRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const schema = settingsJsonSchema();
  app.get('/api/settings', async (c) => {
    const user = requireRole(c, 'admin', 'finance');
    const [settings, versions] = await Promise.all([accountSettings(deps, user), deps.accounts.settingsHistory(user.account, HISTORY_SHOWN)]);
    return c.json({ settings, schema, versions });
  });
  app.post('/api/settings/check', async (c) => {
    const user = requireRole(c, 'admin');
    const { settings } = await jsonBody(c.req.raw);
    const stored = await accountSettings(deps, user);
    const parsed = parseSettings(settings);
    const problems = parsed.ok ? [] : [...parsed.problems];
    if (parsed.ok && parsed.value.account !== user.account) problems.push({ path: 'account', message: `must stay "${user.account}": this is that account's settings` });
    return c.json({ ok: problems.length === 0, problems, diff: difference(stored, parsed.ok ? parsed.value : (settings as Record<string, unknown>)) });
  });
  app.put('/api/settings', async (c) => {
    const user = requireRole(c, 'admin');
    const { settings } = await jsonBody(c.req.raw);
    if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) throw new ApiError(400, 'send { "settings": { … } }: the whole settings document');
    if ((settings as { account?: unknown }).account !== user.account) throw new ApiError(400, `"account" must be "${user.account}": this is that account's settings`);
    return changeResponse(c, await submitChange(deps, user, `imports/${user.account}/settings.json`, `${JSON.stringify(settings, null, 2)}\n`, 'application/json'));
  });
}

/** The top-level keys whose value differs, before and after (what the page shows before applying). */
function difference(before: object, after: unknown): { key: string; before: unknown; after: unknown }[] {
  const a = before as Record<string, unknown>;
  const b = after !== null && typeof after === 'object' ? (after as Record<string, unknown>) : {};
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => ({ key: k, before: a[k] ?? null, after: b[k] ?? null }));
}
