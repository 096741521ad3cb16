/**
 * The Users & groups page's API: the users list, the class-of-service matrix (call class ×
 * group → treatment, as a call would resolve it), and editing a user — a one-row users file
 * through the one door. Admins change; finance reads.
 */
import type { Hono } from 'hono';
import { resolveTreatment } from '../../core/policy.ts';
import type { Settings, UserRecord } from '../../core/settings.ts';
import { CALL_CLASSES } from '../../core/types.ts';
import { USER_EXPORT_COLUMNS, userExportRow } from '../../core/user-rows.ts';
import { codeChangeFile } from '../../core/code-rows.ts';
import { accountSettings, ApiError, changeResponse, fileStamp, jsonBody, requireRole, submitChange, type ConsoleDeps, type ConsoleEnv } from './context.ts';

/** The columns an edit may change (the users file's names); the identity is the row's key. */
const EDITABLE = new Set<string>(USER_EXPORT_COLUMNS.filter((c) => c !== 'user'));

export function userRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/api/users', async (c) => {
    const user = requireRole(c, 'admin', 'finance');
    const settings = await accountSettings(deps, user);
    const users: Record<string, string>[] = [];
    for await (const u of deps.users.listUsers(user.account)) users.push(asRow(u));
    return c.json({ columns: USER_EXPORT_COLUMNS, users, defaultGroup: settings.defaultGroup ?? null, matrix: classOfService(settings) });
  });
  app.put('/api/users/:id', async (c) => {
    const user = requireRole(c, 'admin');
    const id = c.req.param('id');
    const existing = (await deps.users.getUsers(user.account, [id])).get(id);
    if (existing === undefined) throw new ApiError(404, `no user ${id} in ${user.account}`);
    const body = await jsonBody(c.req.raw);
    const row = asRow(existing);
    for (const [column, value] of Object.entries(body)) {
      if (!EDITABLE.has(column)) throw new ApiError(400, `"${column}" is not a users column that can be changed: ${[...EDITABLE].join(', ')}`);
      row[column] = value === null || value === undefined ? '' : String(value);
    }
    const key = `imports/${user.account}/users/console-edit-${fileStamp(deps.now())}.csv`;
    return changeResponse(c, await submitChange(deps, user, key, codeChangeFile([row]), 'text/csv'));
  });
}

function asRow(u: UserRecord): Record<string, string> {
  const values = userExportRow(u);
  return Object.fromEntries(USER_EXPORT_COLUMNS.map((column, i) => [column, values[i] ?? '']));
}

/** Per group (and callers in no group), the treatment each call class gets. */
function classOfService(settings: Settings) {
  const groups = Object.keys(settings.groups);
  const rows = [...groups.map((name) => ({ group: name as string | null })), { group: null }];
  return rows.map(({ group }) => ({
    group,
    treatments: Object.fromEntries(
      CALL_CLASSES.map((callClass) => [callClass, resolveTreatment({ settings, user: group === null ? undefined : { id: '', group }, entryPoint: undefined, callClass })]),
    ),
  }));
}
