/**
 * The Codes page's API: a page of codes at a time (search by digits or description words,
 * filters), and every change — add, edit, delete, upload — as an import file through the one
 * door (uploads: uploads.ts). Authorization digits go in once (in the file the import reads
 * and then redacts) and never come back: listings show the ref.
 */
import type { Hono } from 'hono';
import { EXPORT_COLUMNS, codeChangeFile, codeExportRow, codeSearch, validateCodeRow } from '../../core/code-rows.ts';
import { UTF8_BOM, csvLine } from '../../core/csv-write.ts';
import type { CodeItem, ConsoleUser } from '../../core/ports.ts';
import type { Settings } from '../../core/settings.ts';
import { indexWord, searchWords } from '../../core/search-words.ts';
import { localDate } from '../../core/time.ts';
import { accountSettings, ApiError, changeResponse, fileStamp, jsonBody, requireRole, submitChange, type ConsoleDeps, type ConsoleEnv } from './context.ts';

const PAGE_DEFAULT = 50;
const PAGE_MAX = 200;
/** The fields an add or an edit may set, as the codes file's columns. */
const EDITABLE = ['description', 'enabled', 'expires', 'level', 'users', 'groups', 'caller_ids'] as const;

export function codeRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/api/codes', async (c) => {
    const user = c.get('user');
    const settings = await accountSettings(deps, user);
    const q = c.req.query();
    const limit = Math.min(PAGE_MAX, Math.max(1, Number.parseInt(q.limit ?? '', 10) || PAGE_DEFAULT));
    const today = localDate(deps.now(), settings.timeZone);
    const query = await listingQuery(deps, user, settings, q, today);
    const page = await deps.codes.pageCodes(user.account, { ...query, limit, ...(q.after ? { after: q.after } : {}) });
    return c.json({ codes: page.codes.map((code) => codeView(code, today)), next: page.next ?? null });
  });
  app.post('/api/codes/export', async (c) => {
    const user = requireRole(c, 'admin', 'finance');
    const key = `exports/${user.account}/codes/codes-${user.account}-${fileStamp(deps.now())}.csv`;
    const name = key.split('/').pop() as string;
    await deps.files.put(key, encoded(exportLines(deps, user.account)), { contentType: 'text/csv; charset=utf-8', fileName: name });
    return c.json({ key, url: await deps.door.downloadUrl(key, name) });
  });
  app.post('/api/codes', async (c) => {
    const user = requireRole(c, 'admin');
    const body = await jsonBody(c.req.raw);
    const kind = body.kind === 'authorization' ? 'authorization' : 'account';
    const fields: Record<string, string> = { code: text(body.code), kind, ...editableFields(body, {}) };
    return changeResponse(c, await submitRow(deps, user, fields, 'console-add'));
  });
  app.put('/api/codes/:key', async (c) => {
    const user = requireRole(c, 'admin');
    const existing = await storedCode(deps, user.account, c.req.param('key'));
    const current = Object.fromEntries(EXPORT_COLUMNS.map((col, i) => [col, codeExportRow(existing)[i] ?? '']));
    const fields = { ...current, ...editableFields(await jsonBody(c.req.raw), current) };
    return changeResponse(c, await submitRow(deps, user, fields, 'console-edit'));
  });
  app.delete('/api/codes/:key', async (c) => {
    const user = requireRole(c, 'admin');
    const existing = await storedCode(deps, user.account, c.req.param('key'));
    const row: Record<string, string> =
      existing.kind === 'authorization' ? { code: '', ref: existing.ref ?? '', kind: 'authorization', action: 'delete' } : { code: existing.code ?? '', action: 'delete' };
    return changeResponse(c, await submitRow(deps, user, row, 'console-delete'));
  });
}

type Query = Record<string, string | undefined>;

/** What the search box and the filters ask of the store; a `user` sees only the account codes they may use, enabled and current. */
async function listingQuery(deps: ConsoleDeps, user: ConsoleUser, settings: Settings, q: Query, today: string) {
  const search = (q.q ?? '').trim();
  const kind = user.role === 'user' ? 'account' : q.kind === 'account' || q.kind === 'authorization' ? q.kind : undefined;
  const status = user.role === 'user' ? 'enabled' : q.status;
  const digits = /^[0-9]+$/.test(search) ? search : undefined;
  const ref = kind === 'authorization' && /^[0-9a-f]+$/i.test(search) ? search.toLowerCase() : undefined;
  const keyPrefix =
    ref !== undefined ? `Z#${ref}` : digits !== undefined && kind !== 'authorization' ? `A#${digits}` : kind === 'account' ? 'A#' : kind === 'authorization' ? 'Z#' : undefined;
  // Words are found through the store's word index, by the longest (search-words.ts); a
  // one-letter search matches so much that reading in key order fills a page at once.
  const wordSearch = search !== '' && digits === undefined && ref === undefined;
  const word = wordSearch ? indexWord(searchWords(search)) : undefined;
  // Only the filters that apply: with none, the store reads just the page.
  const tests: ((code: CodeItem) => boolean)[] = [];
  if (wordSearch) tests.push(codeSearch(search));
  if (user.role === 'user') tests.push(await allowedTo(deps, user, settings));
  if (status !== undefined && status !== '') tests.push((code) => statusMatches(code, status, today));
  // The kind is in the key's prefix whenever a kind is asked for (A# or Z#).
  const match = tests.length === 0 ? undefined : (code: CodeItem) => tests.every((t) => t(code));
  return { ...(keyPrefix === undefined ? {} : { keyPrefix }), ...(match === undefined ? {} : { match }), ...(word === undefined ? {} : { word }) };
}

function statusMatches(code: CodeItem, status: string | undefined, today: string): boolean {
  const expired = code.expires !== undefined && code.expires < today;
  if (status === 'enabled') return code.enabled && !expired;
  if (status === 'disabled') return !code.enabled;
  if (status === 'expired') return expired;
  return true;
}

/** The account codes a `user` may tag with: unrestricted, or listing them or their group. */
async function allowedTo(deps: ConsoleDeps, user: ConsoleUser, settings: Settings): Promise<(code: CodeItem) => boolean> {
  const identity = user.identity ?? '';
  const record = identity === '' ? undefined : (await deps.users.getUsers(user.account, [identity])).get(identity);
  const group = record?.group ?? settings.defaultGroup;
  return (code) => {
    const restricted = (code.users?.length ?? 0) > 0 || (code.groups?.length ?? 0) > 0;
    return !restricted || (code.users ?? []).includes(identity) || (group !== undefined && (code.groups ?? []).includes(group));
  };
}

/** A code as the browser sees it: an authorization code by its ref, never digits (the store has none). */
function codeView(code: CodeItem, today: string) {
  return {
    key: code.key,
    kind: code.kind,
    code: code.kind === 'account' ? (code.code ?? '') : null,
    ref: code.kind === 'authorization' ? (code.ref ?? '') : null,
    description: code.description ?? '',
    enabled: code.enabled,
    expires: code.expires ?? null,
    expired: code.expires !== undefined && code.expires < today,
    level: code.level ?? null,
    users: code.users ?? [],
    groups: code.groups ?? [],
    callerIds: code.callerIds ?? [],
  };
}

async function storedCode(deps: ConsoleDeps, account: string, key: string): Promise<CodeItem> {
  const code = /^[AZ]#[0-9a-f]+$/.test(key) ? (await deps.codes.getCodes(account, [key])).get(key) : undefined;
  if (code === undefined) throw new ApiError(404, 'no such code: it may have been deleted; reload the list');
  return code;
}

/** Check one row as the import will, then put it through the door; a bad field answers 400 naming it (never an authorization code's digits). */
async function submitRow(deps: ConsoleDeps, user: ConsoleUser, fields: Record<string, string>, name: string) {
  const settings = await accountSettings(deps, user);
  const checked = validateCodeRow({ line: 2, fields }, settings);
  if (!checked.ok) {
    const secret = fields.kind === 'authorization';
    const errors = checked.errors.map((e) => ({ column: e.column, message: e.message, ...(secret ? {} : { value: e.value }) }));
    throw new ApiError(400, errors.map((e) => `${e.column}: ${e.message}`).join('; '), errors);
  }
  return submitChange(deps, user, `imports/${user.account}/codes/${name}-${fileStamp(deps.now())}.csv`, codeChangeFile([fields]), 'text/csv');
}

function editableFields(body: Record<string, unknown>, current: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const column of EDITABLE) {
    const key = column === 'caller_ids' ? 'callerIds' : column;
    const value = body[key];
    if (value === undefined) {
      if (current[column] === undefined) out[column] = column === 'enabled' ? 'true' : '';
      continue;
    }
    out[column] = Array.isArray(value) ? value.map(String).join(';') : typeof value === 'boolean' ? String(value) : value === null ? '' : String(value);
  }
  return out;
}

const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');

async function* encoded(lines: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  for await (const line of lines) yield encoder.encode(line);
}

/**
 * The codes file a download gives: every code, a page at a time (authorization codes by ref).
 * It is written to the bucket's `exports/<account>/codes/` and handed out as a link, so a
 * million codes never pass through a response (a Lambda answers at most 6 MB).
 */
async function* exportLines(deps: ConsoleDeps, account: string): AsyncGenerator<string> {
  yield UTF8_BOM + csvLine(EXPORT_COLUMNS, { formulaSafe: true });
  let after: string | undefined;
  do {
    const page = await deps.codes.pageCodes(account, { limit: 1000, ...(after === undefined ? {} : { after }) });
    yield page.codes.map((code) => csvLine(codeExportRow(code), { formulaSafe: true })).join('');
    after = page.next;
  } while (after !== undefined);
}
