// The Security page (lockouts with unlock, failed attempts, emergency calls) and the Activity
// page (the audit trail: every change, who, when, the outcome).
import { html, useState } from './vendor/preact-htm.js';
import { api } from './api.js';
import { Message, Table, useLoad } from './ui.js';

export function SecurityPage({ me }) {
  const admin = me.user.role === 'admin';
  const [message, setMessage] = useState(null);
  const [locks, lockError, reloadLocks] = useLoad(() => api('/api/lockouts'), []);
  const [summary, summaryError] = useLoad(() => api('/api/security?days=7'), []);
  const unlock = async (user) => {
    try {
      const answer = await api(`/api/lockouts/${encodeURIComponent(user)}`, { method: 'DELETE' });
      setMessage({ ok: answer.cleared ? `Unlocked ${who(answer.user)}.` : `${who(answer.user)} was not locked out; their failed attempts were forgotten.` });
      reloadLocks();
    } catch (err) {
      setMessage({ error: err.message });
    }
  };
  const lockColumns = [
    { label: 'Caller', value: (l) => who(l.user) },
    { label: 'Locked until', value: (l) => new Date(l.lockedUntil).toLocaleString() },
  ];
  if (admin) lockColumns.push({ label: 'Unlock', value: (l) => html`<button type="button" aria-label=${`Unlock ${who(l.user)}`} onClick=${() => unlock(l.user)}>Unlock</button>` });
  return html`<section aria-labelledby="security-title">
    <h2 id="security-title">Security</h2>
    <${Message} message=${message} />
    ${(lockError || summaryError) && html`<p role="alert" class="message error">${lockError || summaryError}</p>`}
    ${locks && html`<${Table} caption="Locked out of code entry" columns=${lockColumns} rows=${locks.lockouts} empty="Nobody is locked out of code entry." rowKey=${(l) => l.user} />`}
    ${
      summary &&
      html`<${Table}
          caption=${`Failed code attempts, last ${summary.days} days`}
          columns=${[{ label: 'Caller', value: (r) => r.user }, { label: 'Failed attempts', value: (r) => r.failed }, { label: 'Calls', value: (r) => r.calls }]}
          rows=${summary.failedAttempts}
          empty="No failed code attempts."
        />
        <${Table}
          caption=${`Emergency calls, last ${summary.days} days`}
          columns=${[
            { label: 'Started', value: (c) => c.started_at },
            { label: 'Caller', value: (c) => c.user },
            { label: 'Dialled', value: (c) => c.destination },
            { label: 'Outcome', value: (c) => c.outcome },
          ]}
          rows=${summary.emergencyCalls}
          empty="No emergency calls."
        />`
    }
  </section>`;
}

const who = (user) => (user === '*account' ? 'the account-wide throttle' : user);

export function ActivityPage() {
  const [data, error] = useLoad(() => api('/api/activity'), []);
  return html`<section aria-labelledby="activity-title">
    <h2 id="activity-title">Activity</h2>
    ${error && html`<p role="alert" class="message error">${error}</p>`}
    ${
      data &&
      html`<${Table}
        caption="Every change to the account, newest first"
        columns=${[
          { label: 'When', value: (r) => new Date(r.startedAt).toLocaleString() },
          { label: 'Who', value: (r) => r.actor },
          { label: 'What', value: (r) => r.file },
          { label: 'Outcome', value: outcome },
        ]}
        rows=${data.activity}
        empty="No changes yet."
      />`
    }
  </section>`;
}

function outcome(r) {
  if (r.status === 'rejected') return `rejected: ${r.errorCount} ${r.errorCount === 1 ? 'error' : 'errors'}`;
  const parts = ['created', 'updated', 'deleted', 'unchanged'].filter((k) => r[k] > 0).map((k) => `${r[k]} ${k}`);
  return `applied${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}
