/**
 * Console sign-in on the local stack (docs/console.md): the users `tollgate console-users add`
 * makes, in `<home>/console-users.json` (mode 0600), each password kept only as a scrypt hash
 * with its own salt (N=2^17, r=8, p=1). Sessions are random bearer tokens held in the stack's memory, for
 * {@link SESSION_HOURS} hours or until sign-out; a restart signs everyone out. In AWS, Amazon
 * Cognito does this; after the token is verified the console's code path is the same.
 */
import { randomBytes, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONSOLE_ROLES, type ConsoleAuth, type ConsoleRole, type ConsoleUser } from '../functions/core/ports.ts';

export const CONSOLE_USERS_FILE = 'console-users.json';
/** How long a sign-in lasts. */
export const SESSION_HOURS = 8;
/** The password of the seeded users unless TOLLGATE_CONSOLE_PASSWORD says otherwise. */
export const DEFAULT_CONSOLE_PASSWORD = 'tollgate-local';
const MIN_PASSWORD = 8;
/** scrypt's cost: N=2^17, r=8, p=1 (128 MiB), OWASP's minimum for scrypt; a few hundred ms a sign-in here. */
const SCRYPT = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 } as const;
const KEY_BYTES = 32;

export interface StoredConsoleUser extends ConsoleUser {
  /** `scrypt$N$r$p$<salt b64>$<key b64>` */
  readonly passwordHash: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Why a new console user is refused, or undefined when it is fine. */
export function consoleUserProblem(user: { email: string; role: string; identity?: string | undefined; password: string }): string | undefined {
  if (!EMAIL.test(user.email)) return `"${user.email}" is not an email address`;
  if (!(CONSOLE_ROLES as readonly string[]).includes(user.role)) return `--role "${user.role}": use admin, finance or user`;
  if (user.role === 'user' && (user.identity === undefined || user.identity === ''))
    return 'a user needs --identity: the identity they call from (client:alice, sip:alice@acme.sip.twilio.com or +14155550123), to see their own calls';
  if (user.password.length < MIN_PASSWORD) return `the password is too short: use at least ${MIN_PASSWORD} characters`;
  return undefined;
}

function derive(password: BinaryLike, salt: BinaryLike, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || key === undefined) return false;
  const expected = Buffer.from(key, 'base64');
  const got = await derive(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export async function readConsoleUsers(home: string): Promise<StoredConsoleUser[] | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(home, CONSOLE_USERS_FILE), 'utf8')) as { users?: StoredConsoleUser[] };
    return parsed.users ?? [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${join(home, CONSOLE_USERS_FILE)} is not readable JSON: ${(err as Error).message}`);
  }
}

/** Add a console user, or replace the one with the same email (a new password or role). */
export async function addConsoleUser(home: string, user: ConsoleUser & { readonly password: string }): Promise<'added' | 'updated'> {
  const { password, ...rest } = user;
  const users = (await readConsoleUsers(home)) ?? [];
  const email = rest.email.toLowerCase();
  const entry: StoredConsoleUser = { ...rest, email, passwordHash: await hashPassword(password) };
  const at = users.findIndex((u) => u.email === email);
  if (at >= 0) users[at] = entry;
  else users.push(entry);
  const path = join(home, CONSOLE_USERS_FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify({ users }, null, 2)}\n`, { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
  return at >= 0 ? 'updated' : 'added';
}

/** The three users a first start gives the demo account: an admin, finance, and alice (a user who calls as client:alice). */
export async function seedConsoleUsers(home: string, account: string, password: string): Promise<boolean> {
  if ((await readConsoleUsers(home)) !== undefined) return false;
  const users: (ConsoleUser & { password: string })[] = [
    { email: `admin@${account}.test`, account, role: 'admin', password },
    { email: `finance@${account}.test`, account, role: 'finance', password },
    { email: `alice@${account}.test`, account, role: 'user', identity: 'client:alice', password },
  ];
  for (const u of users) await addConsoleUser(home, u);
  return true;
}

/** Sign-in against the users file (read at each sign-in, so users added while the stack runs can sign in). */
export function localConsoleAuth(home: string, now: () => Date = () => new Date()): ConsoleAuth {
  const sessions = new Map<string, { user: ConsoleUser; expiresAt: number }>();
  // A wrong email costs the same scrypt as a wrong password: the answer's timing tells nothing.
  const decoy = hashPassword(randomBytes(16).toString('hex'));
  return {
    async signIn(email, password) {
      const found = ((await readConsoleUsers(home)) ?? []).find((u) => u.email === email.toLowerCase());
      const ok = await verifyPassword(password, found?.passwordHash ?? (await decoy));
      if (!ok || found === undefined) return undefined;
      const token = randomBytes(32).toString('base64url');
      const expiresAt = now().getTime() + SESSION_HOURS * 3_600_000;
      const user: ConsoleUser = { email: found.email, account: found.account, role: found.role as ConsoleRole, ...(found.identity ? { identity: found.identity } : {}) };
      sessions.set(token, { user, expiresAt });
      return { token, expiresAt: new Date(expiresAt).toISOString(), user };
    },
    async verify(token) {
      const session = sessions.get(token);
      if (session === undefined) return undefined;
      if (session.expiresAt <= now().getTime()) {
        sessions.delete(token);
        return undefined;
      }
      return session.user;
    },
    async signOut(token) {
      sessions.delete(token);
    },
  };
}
