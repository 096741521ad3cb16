// The Tollgate console: sign-in, the navigation each role gets, and the page the address
// names (/console/codes, /console/calls …). Everything it shows comes from the JSON API and
// is rendered as text (Preact escapes it): a description cannot run as markup.
import { html, render, useEffect, useState } from './vendor/preact-htm.js';
import { api, currentSession, onSessionChange, signIn, signOut } from './api.js';
import { CallsPage } from './calls.js';
import { CodesPage } from './codes.js';
import { ReportsPage } from './reports.js';
import { ActivityPage, SecurityPage } from './security.js';
import { SettingsPage } from './settings.js';
import { UsersPage } from './users.js';
import { Field, Message } from './ui.js';

// `settings`: the page needs the account's settings (its time zone) before it can show anything.
const PAGES = {
  codes: { title: 'Codes', component: CodesPage, roles: ['admin', 'finance', 'user'] },
  users: { title: 'Users & groups', component: UsersPage, roles: ['admin', 'finance'] },
  settings: { title: 'Settings', component: SettingsPage, roles: ['admin', 'finance'] },
  calls: { title: 'Calls', component: CallsPage, roles: ['admin', 'finance', 'user'], settings: true },
  reports: { title: 'Reports', component: ReportsPage, roles: ['admin', 'finance'] },
  security: { title: 'Security', component: SecurityPage, roles: ['admin', 'finance'] },
  activity: { title: 'Activity', component: ActivityPage, roles: ['admin', 'finance'] },
};

function pageTitle(name, role) {
  if (role === 'user' && name === 'calls') return 'My calls';
  if (role === 'user' && name === 'codes') return 'My codes';
  return PAGES[name].title;
}

function pageFromPath(role) {
  const name = location.pathname.replace(/^\/console\/?/, '').split('/')[0];
  const allowed = Object.keys(PAGES).filter((p) => PAGES[p].roles.includes(role));
  if (allowed.includes(name)) return name;
  return role === 'user' ? 'calls' : 'codes';
}

function App() {
  const [session, setSession] = useState(currentSession());
  useEffect(() => onSessionChange(setSession), []);
  if (!session) return html`<${SignIn} />`;
  return html`<${Shell} session=${session} />`;
}

function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      await signIn(email, password);
    } catch (err) {
      setMessage({ error: err.message });
      setBusy(false);
    }
  };
  return html`<section class="signin" aria-labelledby="signin-title">
    <h1 id="signin-title">Tollgate</h1>
    <p>Account codes and authorization codes for your calls.</p>
    <form onSubmit=${submit} aria-label="Sign in">
      <${Field} id="signin-email" label="Email">
        <input id="signin-email" type="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />
      <//>
      <${Field} id="signin-password" label="Password">
        <input id="signin-password" type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      <//>
      <${Message} message=${message} />
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </section>`;
}

function Shell({ session }) {
  const role = session.user.role;
  const [page, setPage] = useState(() => pageFromPath(role));
  const [me, setMe] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('/api/me').then(setMe, (err) => setError(err.message));
    const onPop = () => setPage(pageFromPath(role));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, [role]);
  useEffect(() => {
    document.title = `${pageTitle(page, role)} · Tollgate`;
  }, [page, role]);
  const go = (name) => (e) => {
    e.preventDefault();
    history.pushState(null, '', `/console/${name}`);
    setPage(name);
  };
  const Page = PAGES[page].component;
  // The page loads its data at once, beside /api/me: only a page that needs the settings waits for them.
  const ready = me !== null || !PAGES[page].settings;
  const pageMe = me ?? { user: session.user, settings: null };
  return html`<div class="shell">
    <header>
      <a class="skip" href="#content">Skip to content</a>
      <strong class="brand">Tollgate</strong>
      <span class="who">${session.user.email} · ${role} · ${session.user.account}</span>
      <button type="button" onClick=${() => signOut()}>Sign out</button>
    </header>
    <nav aria-label="Console">
      <ul>
        ${Object.keys(PAGES)
          .filter((p) => PAGES[p].roles.includes(role))
          .map(
            (p) =>
              html`<li>
                <a href=${`/console/${p}`} aria-current=${p === page ? 'page' : undefined} onClick=${go(p)}>${pageTitle(p, role)}</a>
              </li>`,
          )}
      </ul>
    </nav>
    <main id="content" tabindex="-1">
      ${error && html`<p role="alert" class="message error">${error}</p>`}
      ${ready && html`<${Page} me=${pageMe} key=${page} />`}
    </main>
  </div>`;
}

const root = document.getElementById('app');
root.replaceChildren();
render(html`<${App} />`, root);
