/**
 * What every console route shares: its dependencies, the signed-in user, the errors it
 * answers with, and the one door every change goes through (docs/console.md).
 */
import type { Context } from 'hono';
import type {
  AccountStore,
  CallRecordEvents,
  CallStore,
  ChangeDoor,
  CodePages,
  CodeStore,
  ConsoleAuth,
  ConsoleRole,
  ConsoleUser,
  ExportFiles,
  ExportLedger,
  ImportReport,
  LockoutStore,
  Logger,
  SettingsHistory,
  UploadTicket,
  UsageSource,
  UserStore,
} from '../../core/ports.ts';
import { reportPrefix } from '../../core/reports.ts';

export { fileStamp } from '../../core/reports.ts';
import type { Settings } from '../../core/settings.ts';
import { routeImportKey } from '../importer.ts';

/** The browser app: its files by path below `/console/`. */
export type ConsoleAssets = ReadonlyMap<string, { readonly body: Uint8Array; readonly type: string }>;

export interface ConsoleDeps {
  readonly auth: ConsoleAuth;
  readonly accounts: Pick<AccountStore, 'getSettings'> & SettingsHistory;
  readonly users: Pick<UserStore, 'listUsers' | 'getUsers'>;
  readonly codes: CodePages & Pick<CodeStore, 'getCodes'>;
  readonly calls: CallStore & Pick<UsageSource, 'callsOfDay'>;
  readonly lockouts: Pick<LockoutStore, 'listLocked' | 'get' | 'clear'>;
  readonly exports: Pick<ExportLedger, 'monthTotals' | 'markChanged'>;
  readonly door: ChangeDoor;
  /** Where the console writes the files it hands out (a codes export). */
  readonly files: ExportFiles;
  /** Where a retagged call is published (docs/events.md). */
  readonly events?: CallRecordEvents;
  readonly assets: ConsoleAssets;
  readonly now: () => Date;
  readonly log: Logger;
  /** How long a change waits for its import report before answering 202 with a ticket to ask again. @default 20000 */
  readonly reportWaitMs?: number;
}

export type ConsoleEnv = { Variables: { user: ConsoleUser } };
export type ConsoleContext = Context<ConsoleEnv>;

/** An answer other than success: the status and a message that says what to do. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: 400 | 401 | 403 | 404 | 409 | 413;
  /** Per field, what was wrong (a form shows each beside its field). */
  readonly fields: readonly { readonly column: string; readonly message: string }[] | undefined;

  constructor(status: 400 | 401 | 403 | 404 | 409 | 413, message: string, fields?: readonly { readonly column: string; readonly message: string }[]) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

const ROLE_WORDS: Record<ConsoleRole, string> = { admin: 'an admin', finance: 'finance', user: 'a user' };

/** Refuse unless the signed-in user has one of these roles (checked here, on the server, for every change). */
export function requireRole(c: ConsoleContext, ...roles: readonly ConsoleRole[]): ConsoleUser {
  const user = c.get('user');
  if (!roles.includes(user.role)) {
    const may = roles.map((r) => ROLE_WORDS[r]).join(' or ');
    throw new ApiError(403, `only ${may} may do this; you are signed in as ${ROLE_WORDS[user.role]} of ${user.account}`);
  }
  return user;
}

/** The signed-in user's account settings; an account without them is one the console cannot show. */
export async function accountSettings(deps: ConsoleDeps, user: ConsoleUser): Promise<Settings> {
  const settings = await deps.accounts.getSettings(user.account);
  if (settings === undefined) throw new ApiError(404, `account ${user.account} has no settings yet: upload them to imports/${user.account}/settings.json`);
  return settings;
}

/** Who a change names in its report: the console user. */
export function actorOf(user: ConsoleUser): string {
  return `${user.email} (console)`;
}

/** A ticket as the browser holds it: opaque text. */
export function encodeTicket(ticket: UploadTicket): string {
  return Buffer.from(JSON.stringify(ticket), 'utf8').toString('base64url');
}

/** A ticket the browser sent back, if it is one for this account (another account's answers 404). */
export function decodeTicket(text: string, account: string): UploadTicket {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<UploadTicket>;
    const route = typeof t.key === 'string' ? routeImportKey(t.key) : undefined;
    if (route !== undefined && !('error' in route) && route.account === account && typeof t.uploadedAt === 'string') {
      return {
        key: t.key as string,
        uploadedAt: t.uploadedAt,
        reportPrefix: reportPrefix(route.account, route.name),
        ...(typeof t.versionId === 'string' ? { versionId: t.versionId } : {}),
      };
    }
  } catch {
    // Not a ticket: answered below as one that does not exist.
  }
  throw new ApiError(404, 'no such change');
}

export type ChangeOutcome = { readonly report: ImportReport } | { readonly pending: string };

/**
 * The one door: put the change under `imports/<account>/` as a file, then wait a while for the
 * import function's report (the same validation, report and audit entry as a bucket upload).
 * A change still waiting after `reportWaitMs` is answered with a ticket to ask again.
 */
export async function submitChange(deps: ConsoleDeps, user: ConsoleUser, key: string, body: string | Uint8Array, contentType: string): Promise<ChangeOutcome> {
  const route = routeImportKey(key);
  if ('error' in route) throw new Error(`not an import key: ${key}`);
  const uploaded = await deps.door.submit(key, body, { contentType, actor: actorOf(user) });
  const ticket: UploadTicket = { key, reportPrefix: reportPrefix(route.account, route.name), ...uploaded };
  return awaitReport(deps, ticket, deps.reportWaitMs ?? 20_000);
}

/** The report of a change, waiting for it up to `waitMs`. */
export async function awaitReport(deps: ConsoleDeps, ticket: UploadTicket, waitMs: number): Promise<ChangeOutcome> {
  const deadline = Date.now() + waitMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    const report = await deps.door.report(ticket);
    if (report !== undefined) return { report };
    if (Date.now() + delay > deadline) return { pending: encodeTicket(ticket) };
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** A change's answer: 200 with the report (applied or rejected, as the bucket's report says), or 202 with a ticket. */
export function changeResponse(c: ConsoleContext, outcome: ChangeOutcome): Response {
  if ('pending' in outcome) return c.json({ status: 'pending', ticket: outcome.pending }, 202);
  return c.json({ status: outcome.report.status, report: outcome.report });
}

/** A request's JSON object body; anything else is a 400 that says what to send. */
export async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const body: unknown = await req.json().catch(() => undefined);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'send the fields as a JSON object');
  return body as Record<string, unknown>;
}
