// The Codes page: search and page through the account's codes (a million pages as fast as
// ten), add, edit, disable, delete with a confirmation, upload a CSV after a dry run that shows
// every bad line, download. An authorization code is typed twice and never shown again.
import { html, useState } from './vendor/preact-htm.js';
import { api, change, openLink } from './api.js';
import { UploadForm } from './upload.js';
import { Confirm, Field, Message, Table, useLoad } from './ui.js';

const PAGE = 50;
const CODE_MODES = [
  { value: 'merge', label: 'Merge: add and update these codes, delete rows marked delete' },
  { value: 'replace', label: 'Replace: the file becomes the whole code list' },
];

export function CodesPage({ me }) {
  const admin = me.user.role === 'admin';
  const [filters, setFilters] = useState({ q: '', kind: '', status: '' });
  const [pages, setPages] = useState(['']); // the `after` of each page shown so far
  const [message, setMessage] = useState(null);
  const [editing, setEditing] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const after = pages.at(-1);
  const [page, error, reload] = useLoad(() => {
    const params = new URLSearchParams({ limit: String(PAGE), ...filters, ...(after ? { after } : {}) });
    return api(`/api/codes?${params}`);
  }, [filters.q, filters.kind, filters.status, after]);
  const search = (next) => {
    setFilters(next);
    setPages(['']);
  };
  const done = (text) => {
    setMessage(text);
    setEditing(null);
    setDeleting(null);
    reload();
  };
  const columns = [
    { label: 'Code', value: (c) => (c.kind === 'authorization' ? html`<span class="ref">ref ${c.ref}</span>` : c.code) },
    { label: 'Description', value: (c) => c.description },
    { label: 'Kind', value: (c) => c.kind },
    { label: 'Status', value: (c) => (!c.enabled ? 'disabled' : c.expired ? 'expired' : 'enabled') },
    { label: 'Expires', value: (c) => c.expires ?? '' },
    { label: 'Level', value: (c) => c.level ?? '' },
    { label: 'Users', value: (c) => c.users.join('; ') },
    { label: 'Groups', value: (c) => c.groups.join('; ') },
  ];
  if (admin) {
    columns.push({
      label: 'Actions',
      value: (c) => html`<button type="button" aria-label=${`Edit ${codeName(c)}`} onClick=${() => setEditing(c)}>Edit</button>
        <button type="button" class="danger" aria-label=${`Delete ${codeName(c)}`} onClick=${() => setDeleting(c)}>Delete</button>`,
    });
  }
  return html`<section aria-labelledby="codes-title">
    <h2 id="codes-title">${me.user.role === 'user' ? 'Codes you may use' : 'Codes'}</h2>
    <${SearchForm} filters=${filters} onSearch=${search} showFilters=${me.user.role !== 'user'} />
    <${Message} message=${message} />
    ${error && html`<p role="alert" class="message error">${error}</p>`}
    ${deleting && html`<${DeleteCode} code=${deleting} onDone=${done} onCancel=${() => setDeleting(null)} />`}
    ${editing && html`<${CodeForm} me=${me} code=${editing} onDone=${done} onCancel=${() => setEditing(null)} />`}
    ${page && html`<${Table} caption="Codes" columns=${columns} rows=${page.codes} empty="No codes match." rowKey=${(c) => c.key} />`}
    <nav class="pager" aria-label="Pages of codes">
      <button type="button" disabled=${pages.length === 1} onClick=${() => setPages(pages.slice(0, -1))}>Previous page</button>
      <span>Page ${pages.length}</span>
      <button type="button" disabled=${!page?.next} onClick=${() => setPages([...pages, page.next])}>Next page</button>
    </nav>
    ${admin && !editing && html`<${CodeForm} me=${me} onDone=${done} />`}
    ${
      admin &&
      html`<${UploadForm}
        kind="codes"
        title="Upload a codes file"
        columns="code, description, kind, enabled, expires, level, users, groups, caller_ids, action"
        modes=${CODE_MODES}
        onDone=${done}
      />`
    }
    ${me.user.role !== 'user' && html`<p><button type="button" onClick=${() => exportCodes().catch((e) => setMessage({ error: e.message }))}>Download codes (CSV)</button></p>`}
  </section>`;
}

/** Write every code to a file in the bucket, then download it. */
async function exportCodes() {
  const { url } = await api('/api/codes/export', { method: 'POST' });
  openLink(url);
}

const codeName = (c) => (c.kind === 'authorization' ? `authorization code ref ${c.ref}` : `code ${c.code}`);

function SearchForm({ filters, onSearch, showFilters }) {
  const [draft, setDraft] = useState(filters);
  return html`<form
    class="search"
    role="search"
    onSubmit=${(e) => {
      e.preventDefault();
      onSearch(draft);
    }}
  >
    <${Field} id="code-search" label="Search codes" hint="The first digits of a code, or words of its description">
      <input id="code-search" type="search" value=${draft.q} onInput=${(e) => setDraft({ ...draft, q: e.currentTarget.value })} />
    <//>
    ${
      showFilters &&
      html`<${Field} id="code-kind" label="Kind">
          <select id="code-kind" value=${draft.kind} onChange=${(e) => setDraft({ ...draft, kind: e.currentTarget.value })}>
            <option value="">All kinds</option>
            <option value="account">Account codes</option>
            <option value="authorization">Authorization codes</option>
          </select>
        <//>
        <${Field} id="code-status" label="Status">
          <select id="code-status" value=${draft.status} onChange=${(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
            <option value="">Any status</option>
            <option value="enabled">Enabled</option>
            <option value="disabled">Disabled</option>
            <option value="expired">Expired</option>
          </select>
        <//>`
    }
    <button type="submit">Search</button>
  </form>`;
}

/** Add a code (no `code`), or edit one: every field but the digits. */
function CodeForm({ me, code, onDone, onCancel }) {
  const editing = code !== undefined;
  const [f, setF] = useState(() => ({
    kind: code?.kind ?? 'account',
    code: '',
    confirm: '',
    description: code?.description ?? '',
    enabled: code?.enabled ?? true,
    expires: code?.expires ?? '',
    level: code?.level ?? '',
    users: code?.users.join('; ') ?? '',
    groups: code?.groups.join('; ') ?? '',
    callerIds: code?.callerIds.join('; ') ?? '',
  }));
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const secret = f.kind === 'authorization';
  const set = (name) => (e) => setF({ ...f, [name]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setMessage(null);
    if (!editing && secret && f.code !== f.confirm) {
      setErrors({ confirm: 'The two codes differ: type the same code twice.' });
      return;
    }
    const fields = {
      description: f.description,
      enabled: f.enabled,
      expires: f.expires,
      users: f.users,
      groups: f.groups,
      callerIds: f.callerIds,
      ...(secret ? { level: f.level } : {}),
    };
    setBusy(true);
    try {
      const answer = editing
        ? await change(`/api/codes/${encodeURIComponent(code.key)}`, { method: 'PUT', json: fields })
        : await change('/api/codes', { method: 'POST', json: { ...fields, kind: f.kind, code: f.code } });
      if (answer.status === 'rejected') {
        setMessage({ error: `Not saved: ${answer.report.errors.map((x) => x.message).join('; ')}` });
        return;
      }
      const name = editing ? codeName(code) : secret ? 'authorization code' : `code ${f.code}`;
      setF({ ...f, code: '', confirm: '' });
      onDone({ ok: `Saved ${name}${secret && !editing ? ' (its digits are not shown again)' : ''}.` });
    } catch (err) {
      setErrors(Object.fromEntries((err.fields ?? []).map((x) => [x.column === 'caller_ids' ? 'callerIds' : x.column, x.message])));
      setMessage({ error: err.message });
    } finally {
      setBusy(false);
    }
  };
  const id = editing ? 'edit' : 'add';
  return html`<form class="card" aria-label=${editing ? `Edit ${codeName(code)}` : 'Add a code'} onSubmit=${submit}>
    <h3>${editing ? `Edit ${codeName(code)}` : 'Add a code'}</h3>
    <${Message} message=${message} />
    ${
      !editing &&
      html`<${Field} id=${`${id}-kind`} label="Kind">
        <select id=${`${id}-kind`} value=${f.kind} onChange=${set('kind')}>
          <option value="account">Account code (billing tag)</option>
          <option value="authorization">Authorization code (secret)</option>
        </select>
      <//>
      <${Field} id=${`${id}-code`} label=${secret ? 'Authorization code' : 'Code'} error=${errors.code} hint=${`${me.settings?.codeLength?.min ?? 2}–${me.settings?.codeLength?.max ?? 14} digits; leading zeros count`}>
        <input id=${`${id}-code`} inputmode="numeric" autocomplete="off" type=${secret ? 'password' : 'text'} required value=${f.code} onInput=${set('code')} />
      <//>
      ${
        secret &&
        html`<${Field} id=${`${id}-confirm`} label="Authorization code again" error=${errors.confirm} hint="Typed twice: it is never shown again, only its ref">
          <input id=${`${id}-confirm`} inputmode="numeric" autocomplete="off" type="password" required value=${f.confirm} onInput=${set('confirm')} />
        <//>`
      }`
    }
    <${Field} id=${`${id}-description`} label="Description" error=${errors.description} hint="Client, matter or purpose; up to 100 characters">
      <input id=${`${id}-description`} maxlength="100" value=${f.description} onInput=${set('description')} />
    <//>
    ${
      secret &&
      html`<${Field} id=${`${id}-level`} label="Level" error=${errors.level} hint="0–255: calls whose class needs a higher level are refused">
        <input id=${`${id}-level`} type="number" min="0" max="255" value=${f.level} onInput=${set('level')} />
      <//>`
    }
    <${Field} id=${`${id}-expires`} label="Expires" error=${errors.expires} hint="The last valid day; empty for never">
      <input id=${`${id}-expires`} type="date" value=${f.expires} onInput=${set('expires')} />
    <//>
    <${Field} id=${`${id}-users`} label="Only these users" error=${errors.users} hint="Identities separated by ; (empty: everyone)">
      <input id=${`${id}-users`} value=${f.users} onInput=${set('users')} />
    <//>
    <${Field} id=${`${id}-groups`} label="Only these groups" error=${errors.groups} hint="Group names separated by ;">
      <input id=${`${id}-groups`} value=${f.groups} onInput=${set('groups')} />
    <//>
    ${
      !secret &&
      html`<${Field} id=${`${id}-callerids`} label="Caller IDs" error=${errors.callerIds} hint="Inbound calls from these numbers (E.164, separated by ;) are tagged with this code">
        <input id=${`${id}-callerids`} value=${f.callerIds} onInput=${set('callerIds')} />
      <//>`
    }
    <div class="field checkbox">
      <input id=${`${id}-enabled`} type="checkbox" checked=${f.enabled} onChange=${set('enabled')} />
      <label for=${`${id}-enabled`}>Enabled</label>
    </div>
    <button type="submit" disabled=${busy}>${editing ? 'Save changes' : 'Add code'}</button>
    ${editing && html`<button type="button" onClick=${onCancel}>Cancel</button>`}
  </form>`;
}

function DeleteCode({ code, onDone, onCancel }) {
  return html`<${Confirm}
    question=${`Delete ${codeName(code)}${code.description ? ` (${code.description})` : ''}? Calls already tagged keep it.`}
    confirmLabel="Delete"
    onCancel=${onCancel}
    onConfirm=${async () => {
      try {
        const answer = await change(`/api/codes/${encodeURIComponent(code.key)}`, { method: 'DELETE' });
        onDone(answer.status === 'applied' ? { ok: `Deleted ${codeName(code)}.` } : { error: `Not deleted: ${answer.report.errors.map((x) => x.message).join('; ')}` });
      } catch (err) {
        onDone({ error: err.message });
      }
    }}
  />`;
}
