/**
 * Uploads from the console (docs/console.md, "One door"): a codes or users CSV picked in the
 * browser is first checked here, the whole file against the account's settings, and the report
 * of every bad line shown; nothing is stored by the check (an authorization code's digits pass
 * through memory only). Applying puts the same bytes under `imports/<account>/`, where the
 * import function validates them again, applies them and writes the report.
 */
import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import { checkCodesFile, checkUsersFile } from '../import-check.ts';
import { accountSettings, ApiError, awaitReport, changeResponse, decodeTicket, fileStamp, requireRole, submitChange, type ConsoleDeps, type ConsoleEnv } from './context.ts';

const KINDS = ['codes', 'users'] as const;
type Kind = (typeof KINDS)[number];

export function uploadRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  for (const kind of KINDS) uploadRoutesOf(app, deps, kind);
  app.get('/api/changes/:ticket', async (c) => {
    const user = c.get('user');
    return changeResponse(c, await awaitReport(deps, decodeTicket(c.req.param('ticket'), user.account), 5_000));
  });
}

function uploadRoutesOf(app: Hono<ConsoleEnv>, deps: ConsoleDeps, kind: Kind): void {
  app.post(`/api/${kind}/check`, async (c) => {
    const user = requireRole(c, 'admin');
    const settings = await accountSettings(deps, user);
    const mode = uploadMode(kind, c.req.query('mode'));
    const source = Readable.from([new Uint8Array(await c.req.arrayBuffer())]);
    const result = kind === 'codes' ? await checkCodesFile(source, settings, mode) : await checkUsersFile(source, settings);
    return c.json({ status: result.errorCount === 0 ? 'valid' : 'rejected', mode, rows: result.rows, errorCount: result.errorCount, errors: result.errors });
  });
  app.post(`/api/${kind}/upload`, async (c) => {
    const user = requireRole(c, 'admin');
    const mode = uploadMode(kind, c.req.query('mode'));
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength === 0) throw new ApiError(400, 'the file is empty: choose a CSV file with a header line and a row a line');
    const folder = kind === 'users' ? 'users' : mode === 'replace' ? 'codes-replace' : 'codes';
    const key = `imports/${user.account}/${folder}/${safeName(c.req.query('name') ?? 'upload')}-${fileStamp(deps.now())}.csv`;
    return changeResponse(c, await submitChange(deps, user, key, bytes, 'text/csv'));
  });
}

function uploadMode(kind: Kind, mode: string | undefined): 'merge' | 'replace' {
  if (mode === undefined || mode === 'merge') return 'merge';
  if (mode === 'replace' && kind === 'codes') return 'replace';
  throw new ApiError(400, `mode "${mode}": use merge (add and update)${kind === 'codes' ? ' or replace (the file becomes the whole list)' : ''}`);
}

/** A file name that is safe as part of an object key: letters, digits, `-` and `_`. */
function safeName(name: string): string {
  const base = name
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return base.slice(0, 60) || 'upload';
}
