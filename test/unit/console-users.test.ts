/**
 * Local console sign-in: passwords kept only as scrypt hashes, the same answer for a wrong
 * password and an unknown email, sessions that end after SESSION_HOURS or at sign-out.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addConsoleUser,
  consoleUserProblem,
  CONSOLE_USERS_FILE,
  hashPassword,
  localConsoleAuth,
  SESSION_HOURS,
  seedConsoleUsers,
  verifyPassword,
} from '../../local/console-users.ts';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'tollgate-console-users-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('console users on the local stack', () => {
  it('keeps a salted scrypt hash, never the password, in a file only its owner reads', async () => {
    await addConsoleUser(home, { email: 'Ops@Demo.test', account: 'demo', role: 'admin', password: 'correct horse' });
    const path = join(home, CONSOLE_USERS_FILE);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('correct horse');
    expect(JSON.parse(text).users[0]).toMatchObject({ email: 'ops@demo.test', passwordHash: expect.stringMatching(/^scrypt\$131072\$8\$1\$/) });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const a = await hashPassword('same');
    const b = await hashPassword('same');
    expect(a).not.toBe(b);
    expect(await verifyPassword('same', a)).toBe(true);
    expect(await verifyPassword('other', a)).toBe(false);
  });

  it('says what is wrong with a new user', () => {
    expect(consoleUserProblem({ email: 'nope', role: 'admin', password: 'long enough' })).toMatch(/not an email/);
    expect(consoleUserProblem({ email: 'a@b.test', role: 'boss', password: 'long enough' })).toMatch(/use admin, finance or user/);
    expect(consoleUserProblem({ email: 'a@b.test', role: 'user', password: 'long enough' })).toMatch(/needs --identity/);
    expect(consoleUserProblem({ email: 'a@b.test', role: 'finance', password: 'short' })).toMatch(/at least 8/);
    expect(consoleUserProblem({ email: 'a@b.test', role: 'user', identity: 'client:alice', password: 'long enough' })).toBeUndefined();
  });

  it('seeds the three demo users once, and never over users already there', async () => {
    expect(await seedConsoleUsers(home, 'demo', 'tollgate-local')).toBe(true);
    expect(await seedConsoleUsers(home, 'demo', 'other-password')).toBe(false);
    const auth = localConsoleAuth(home);
    expect((await auth.signIn('alice@demo.test', 'tollgate-local'))?.user).toEqual({ email: 'alice@demo.test', account: 'demo', role: 'user', identity: 'client:alice' });
    expect(await auth.signIn('alice@demo.test', 'other-password')).toBeUndefined();
  });

  it('ends a session after its hours, or at sign-out; a wrong password and an unknown email get no session', async () => {
    await addConsoleUser(home, { email: 'fin@demo.test', account: 'demo', role: 'finance', password: 'finance-pass' });
    let now = Date.parse('2026-12-04T09:00:00Z');
    const auth = localConsoleAuth(home, () => new Date(now));
    expect(await auth.signIn('fin@demo.test', 'wrong-pass')).toBeUndefined();
    expect(await auth.signIn('nobody@demo.test', 'finance-pass')).toBeUndefined();
    const session = await auth.signIn('FIN@demo.test', 'finance-pass');
    expect(session?.expiresAt).toBe(new Date(now + SESSION_HOURS * 3_600_000).toISOString());
    const token = session?.token as string;
    expect(await auth.verify(token)).toMatchObject({ email: 'fin@demo.test', role: 'finance' });
    now += SESSION_HOURS * 3_600_000;
    expect(await auth.verify(token)).toBeUndefined();
    const again = (await auth.signIn('fin@demo.test', 'finance-pass'))?.token as string;
    await auth.signOut(again);
    expect(await auth.verify(again)).toBeUndefined();
  });
});
