// The Users & groups page: the users, editing one, uploading a users file, and the
// class-of-service matrix (call class × group → treatment, as a call resolves it).
import { html, useState } from './vendor/preact-htm.js';
import { api, change } from './api.js';
import { UploadForm } from './upload.js';
import { Field, Message, Table, useLoad } from './ui.js';

const EDITABLE = [
  ['name', 'Name'],
  ['group', 'Group'],
  ['caller_id', 'Caller ID'],
  ['max_attempts', 'Attempts per call'],
  ['language', 'Language (en-US, es-US, fr-CA)'],
  ['after_call_prompt', 'After-call prompt (true, false or empty)'],
];

export function UsersPage({ me }) {
  const admin = me.user.role === 'admin';
  const [message, setMessage] = useState(null);
  const [editing, setEditing] = useState(null);
  const [data, error, reload] = useLoad(() => api('/api/users'), []);
  const done = (m) => {
    setMessage(m);
    setEditing(null);
    reload();
  };
  const columns = [
    { label: 'User', value: (u) => u.user },
    { label: 'Name', value: (u) => u.name },
    { label: 'Group', value: (u) => u.group || `${data?.defaultGroup ?? ''} (default)` },
    { label: 'Caller ID', value: (u) => u.caller_id },
    { label: 'Language', value: (u) => u.language },
  ];
  if (admin) columns.push({ label: 'Edit', value: (u) => html`<button type="button" aria-label=${`Edit ${u.user}`} onClick=${() => setEditing(u)}>Edit</button>` });
  return html`<section aria-labelledby="users-title">
    <h2 id="users-title">Users & groups</h2>
    <${Message} message=${message} />
    ${error && html`<p role="alert" class="message error">${error}</p>`}
    ${editing && html`<${EditUser} user=${editing} onDone=${done} onCancel=${() => setEditing(null)} />`}
    ${data && html`<${Table} caption="Users" columns=${columns} rows=${data.users} empty="No users are listed: callers are in the default group." rowKey=${(u) => u.user} />`}
    ${data && html`<${Matrix} matrix=${data.matrix} />`}
    ${admin && html`<${UploadForm} kind="users" title="Upload a users file" columns=${data?.columns.join(', ') ?? 'user, name, group, …'} modes=${[{ value: 'merge', label: 'Merge' }]} onDone=${done} />`}
  </section>`;
}

function Matrix({ matrix }) {
  const classes = Object.keys(matrix[0]?.treatments ?? {});
  return html`<div class="table-wrap">
    <table class="matrix">
      <caption>
        Class of service: what each call class means for each group
      </caption>
      <thead>
        <tr>
          <th scope="col">Group</th>
          ${classes.map((c) => html`<th scope="col">${c}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${matrix.map(
          (row) => html`<tr>
            <th scope="row">${row.group ?? 'callers not in the users list'}</th>
            ${classes.map((c) => html`<td class=${`treatment ${row.treatments[c]}`}>${row.treatments[c]}</td>`)}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function EditUser({ user, onDone, onCancel }) {
  const [f, setF] = useState(Object.fromEntries(EDITABLE.map(([k]) => [k, user[k] ?? ''])));
  const [message, setMessage] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      const answer = await change(`/api/users/${encodeURIComponent(user.user)}`, { method: 'PUT', json: f });
      if (answer.status === 'applied') onDone({ ok: `Saved ${user.user}.` });
      else setMessage({ error: `Not saved: ${answer.report.errors.map((x) => `${x.column}: ${x.message}`).join('; ')}` });
    } catch (err) {
      setMessage({ error: err.message });
    }
  };
  return html`<form class="card" aria-label=${`Edit ${user.user}`} onSubmit=${submit}>
    <h3>Edit ${user.user}</h3>
    <${Message} message=${message} />
    ${EDITABLE.map(
      ([k, label]) => html`<${Field} id=${`user-${k}`} label=${label}>
        <input id=${`user-${k}`} value=${f[k]} onInput=${(e) => setF({ ...f, [k]: e.currentTarget.value })} />
      <//>`,
    )}
    <button type="submit">Save user</button>
    <button type="button" onClick=${onCancel}>Cancel</button>
  </form>`;
}
