/**
 * The web console (docs/console.md): the browser app under `/console/` and its JSON API under
 * `/api/`, one origin, one Hono app that runs the same on Lambda (the console function) and in
 * the local stack. Sign-in differs (Cognito in AWS, the local users file locally); after
 * `auth.verify` every request carries a {@link ConsoleUser} and one code path serves both.
 *
 * The API reads the signed-in user's account only: an id from another account answers 404, as
 * if it did not exist. State changes need the bearer token (no cookies, so no cross-site
 * request can make one), and the role is checked here, on the server, for every change.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ConsoleUser } from '../../core/ports.ts';
import { CONSOLE_MAX_BODY_BYTES } from '../../routes.ts';
import { ApiError, type ConsoleDeps, type ConsoleEnv } from './context.ts';
import { callRoutes } from './calls.ts';
import { codeRoutes } from './codes.ts';
import { reportRoutes } from './reports.ts';
import { securityRoutes } from './security.ts';
import { settingsRoutes } from './settings.ts';
import { uploadRoutes } from './uploads.ts';
import { userRoutes } from './users.ts';

/** Scripts, styles and data only from the app itself; no inline script, no frames. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function makeConsoleApp(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.use('*', securityHeaders);
  app.get('/', (c) => c.redirect('/console/', 302));
  app.get('/console', (c) => c.redirect('/console/', 301));
  app.get('/console/*', (c) => serveAsset(deps, c.req.path));
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: CONSOLE_MAX_BODY_BYTES,
      onError: () => Promise.reject(new ApiError(413, `the upload is over ${CONSOLE_MAX_BODY_BYTES / 1024 / 1024} MB: upload larger files to the bucket's imports/ folder`)),
    }),
  );
  sessionRoutes(app, deps);
  app.use('/api/*', authenticate(deps));
  app.get('/api/me', async (c) => {
    const user = c.get('user');
    const settings = await deps.accounts.getSettings(user.account);
    return c.json({ user, settings: settings === undefined ? null : { timeZone: settings.timeZone, codeLength: settings.codeLength, selfTagDays: settings.selfTagDays } });
  });
  codeRoutes(app, deps);
  callRoutes(app, deps);
  reportRoutes(app, deps);
  securityRoutes(app, deps);
  uploadRoutes(app, deps);
  userRoutes(app, deps);
  settingsRoutes(app, deps);
  app.all('/api/*', () => {
    throw new ApiError(404, 'no such API path');
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      if (err.status === 401) c.header('WWW-Authenticate', 'Bearer');
      return c.json({ error: err.message, ...(err.fields === undefined ? {} : { fields: err.fields }) }, err.status);
    }
    deps.log.error('console request failed', { path: c.req.path, method: c.req.method, error: (err as Error).message });
    return c.json({ error: 'something went wrong on our side; try again, and tell the operator if it keeps happening' }, 500);
  });
  app.notFound((c) => c.text('not found', 404));
  return app;
}

const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Frame-Options', 'DENY');
  if (c.req.path.startsWith('/api/')) c.header('Cache-Control', 'no-store');
};

function serveAsset(deps: ConsoleDeps, path: string): Response {
  const name = path === '/console/' ? 'index.html' : path.slice('/console/'.length);
  // A page of the app (`/console/codes`) is the app itself: it routes in the browser.
  const asset = deps.assets.get(name) ?? (name.includes('.') ? undefined : deps.assets.get('index.html'));
  if (asset === undefined) return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  const cache = name.endsWith('.html') || !name.includes('.') ? 'no-cache' : 'public, max-age=300';
  return new Response(asset.body, { headers: { 'content-type': asset.type, 'cache-control': cache } });
}

function sessionRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.post('/api/session', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as { email?: unknown; password?: unknown } | undefined;
    if (typeof body?.email !== 'string' || typeof body.password !== 'string' || body.email.trim() === '' || body.password === '') {
      throw new ApiError(400, 'give your email and password');
    }
    const session = await deps.auth.signIn(body.email.trim().toLowerCase(), body.password);
    if (session === undefined) throw new ApiError(401, 'wrong email or password');
    deps.log.info('console sign-in', { account: session.user.account, role: session.user.role });
    return c.json(session);
  });
  app.delete('/api/session', async (c) => {
    const token = bearer(c.req.header('authorization'));
    if (token !== undefined) await deps.auth.signOut(token);
    return c.body(null, 204);
  });
}

function authenticate(deps: ConsoleDeps): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const token = bearer(c.req.header('authorization'));
    const user: ConsoleUser | undefined = token === undefined ? undefined : await deps.auth.verify(token);
    if (user === undefined) {
      throw new ApiError(401, token === undefined ? 'sign in first' : 'your session has ended: sign in again');
    }
    c.set('user', user);
    await next();
  };
}

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}
