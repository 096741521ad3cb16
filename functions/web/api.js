// The console's calls to its JSON API: the session's bearer token on every request (no
// cookies, so another site cannot make a request count as the signed-in user), errors as
// messages a person can act on, and a change followed until its import report arrives.

const SESSION_KEY = 'tollgate.session';
const listeners = new Set();

export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    if (session && Date.parse(session.expiresAt) > Date.now()) return session;
  } catch {
    // A damaged entry: treated as signed out.
  }
  return null;
}

function setSession(session) {
  if (session === null) sessionStorage.removeItem(SESSION_KEY);
  else sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  for (const listener of listeners) listener(session);
}

/** Call `listener(session)` whenever someone signs in or out (or a session ends). */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export class ApiError extends Error {
  constructor(status, message, fields) {
    super(message);
    this.status = status;
    this.fields = fields ?? [];
  }
}

export async function signIn(email, password) {
  const res = await fetch('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data.error ?? `sign-in failed (${res.status})`);
  setSession(data);
  return data;
}

export async function signOut() {
  const session = currentSession();
  setSession(null);
  if (session) await fetch('/api/session', { method: 'DELETE', headers: { Authorization: `Bearer ${session.token}` } }).catch(() => undefined);
}

/**
 * A request to the API. `json` sends a JSON body, `file` sends a file's bytes as CSV. A 401 ends
 * the session (the page shows the sign-in form again).
 */
export async function api(path, { method = 'GET', json, file } = {}) {
  const session = currentSession();
  if (!session) {
    setSession(null);
    throw new ApiError(401, 'sign in first');
  }
  const headers = { Authorization: `Bearer ${session.token}` };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (file !== undefined) {
    headers['Content-Type'] = 'text/csv';
    body = file;
  }
  const res = await fetch(path, { method, headers, body });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) {
    setSession(null);
    throw new ApiError(401, data?.error ?? 'your session has ended: sign in again');
  }
  if (!res.ok) throw new ApiError(res.status, data?.error ?? `the request failed (${res.status})`, data?.fields);
  return data;
}

/** A change: its report once the import has run (asking again while it is still pending). */
export async function change(path, options) {
  let answer = await api(path, options);
  while (answer?.status === 'pending') answer = await api(`/api/changes/${encodeURIComponent(answer.ticket)}`);
  return answer;
}

/** Open a file the API hands out as a short-lived link (usage exports). */
export async function download(key) {
  const { url } = await api(`/api/downloads?key=${encodeURIComponent(key)}`);
  openLink(url);
}

/** Follow a download link (a short-lived link to the bucket). */
export function openLink(url) {
  const link = document.createElement('a');
  link.href = url;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
}
