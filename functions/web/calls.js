// The Calls page (and a user's "My calls"): one day's calls with filters, one call's detail,
// tagging and retagging with an account code.
import { html, useState } from './vendor/preact-htm.js';
import { api } from './api.js';
import { Field, Message, Table, useLoad } from './ui.js';

const FILTERS = [
  { name: 'user', label: 'Caller', hint: 'client:alice, sip:… or +1…' },
  { name: 'code', label: 'Code' },
  { name: 'class', label: 'Call class', hint: 'international, premium, emergency…' },
  { name: 'outcome', label: 'Outcome', hint: 'completed, busy, blocked…' },
];

export function CallsPage({ me }) {
  const mine = me.user.role === 'user';
  const [query, setQuery] = useState({ date: today(me), user: '', code: '', class: '', outcome: '' });
  const [draft, setDraft] = useState(query);
  const [selected, setSelected] = useState(null);
  const [message, setMessage] = useState(null);
  const [data, error, reload] = useLoad(() => api(`/api/calls?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== ''))}`), [JSON.stringify(query)]);
  const columns = [
    { label: 'Started', value: (c) => c.started_at.slice(11, 19) },
    { label: 'Caller', value: (c) => c.user },
    { label: 'Destination', value: (c) => c.destination },
    { label: 'Class', value: (c) => c.destination_class },
    { label: 'Code', value: (c) => c.code || (c.code_kind === 'authorization' ? 'authorization' : '') },
    { label: 'Description', value: (c) => c.code_description },
    { label: 'Code status', value: (c) => c.code_status },
    { label: 'Talk (s)', value: (c) => c.talk_s },
    { label: 'Outcome', value: (c) => c.outcome },
    {
      label: 'Details',
      value: (c) =>
        html`<button type="button" aria-label=${`Details of the call to ${c.destination} at ${c.started_at.slice(11, 16)}`} onClick=${() => setSelected(c.call_sid)}>Details</button>`,
    },
  ];
  return html`<section aria-labelledby="calls-title">
    <h2 id="calls-title">${mine ? 'My calls' : 'Calls'}</h2>
    <form
      class="search"
      aria-label="Choose calls"
      onSubmit=${(e) => {
        e.preventDefault();
        setQuery(draft);
      }}
    >
      <${Field} id="calls-date" label="Day">
        <input id="calls-date" type="date" required value=${draft.date} onInput=${(e) => setDraft({ ...draft, date: e.currentTarget.value })} />
      <//>
      ${FILTERS.filter((f) => !(mine && f.name === 'user')).map(
        (f) => html`<${Field} id=${`calls-${f.name}`} label=${f.label} hint=${f.hint}>
          <input id=${`calls-${f.name}`} value=${draft[f.name]} onInput=${(e) => setDraft({ ...draft, [f.name]: e.currentTarget.value.trim() })} />
        <//>`,
      )}
      <button type="submit">Show calls</button>
    </form>
    <${Message} message=${message} />
    ${error && html`<p role="alert" class="message error">${error}</p>`}
    ${
      selected &&
      html`<${CallDetail}
        sid=${selected}
        onClose=${() => setSelected(null)}
        onTagged=${(text) => {
          setMessage({ ok: text });
          reload();
        }}
      />`
    }
    ${data && html`<${Table} caption=${`Calls on ${data.date}`} columns=${columns} rows=${data.calls} empty=${`No calls on ${data.date}.`} rowKey=${(c) => c.call_sid} />`}
  </section>`;
}

function today(me) {
  const zone = me.settings?.timeZone ?? 'UTC';
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

const DETAIL = [
  ['call_sid', 'Call SID'],
  ['direction', 'Direction'],
  ['started_at', 'Started'],
  ['ended_at', 'Ended'],
  ['duration_s', 'Duration (s)'],
  ['talk_s', 'Talk (s)'],
  ['user', 'Caller'],
  ['caller', 'From'],
  ['destination', 'Destination'],
  ['destination_class', 'Call class'],
  ['code', 'Code'],
  ['code_description', 'Code description'],
  ['code_kind', 'Code kind'],
  ['code_status', 'Code status'],
  ['attempts', 'Attempts'],
  ['outcome', 'Outcome'],
  ['entry_point', 'Entry point'],
  ['tagged_by', 'Tagged by'],
  ['tagged_at', 'Tagged at'],
];

function CallDetail({ sid, onClose, onTagged }) {
  const [data, error, reload] = useLoad(() => api(`/api/calls/${encodeURIComponent(sid)}`), [sid]);
  const [code, setCode] = useState('');
  const [message, setMessage] = useState(null);
  const call = data?.call;
  const tag = async (e) => {
    e.preventDefault();
    setMessage(null);
    try {
      const answer = await api(`/api/calls/${encodeURIComponent(sid)}/tag`, { method: 'POST', json: { code } });
      const text = answer.changed ? `Tagged the call with code ${answer.call.code}.` : `The call already carries code ${answer.call.code}.`;
      setMessage({ ok: text });
      setCode('');
      reload();
      onTagged(text);
    } catch (err) {
      setMessage({ error: err.message });
    }
  };
  return html`<section class="card" aria-label="Call details">
    <h3>Call details</h3>
    ${error && html`<p role="alert" class="message error">${error}</p>`}
    ${
      call &&
      html`<dl class="detail">
        ${DETAIL.filter(([k]) => call[k] !== '').map(([k, label]) => html`<dt>${label}</dt><dd>${call[k]}</dd>`)}
      </dl>`
    }
    ${
      call?.can_tag &&
      html`<form aria-label="Tag this call" onSubmit=${tag}>
        <${Field} id="tag-code" label="Account code" hint=${call.code ? 'Retag: the new code replaces the one the call has' : 'The client or matter this call is billed to'}>
          <input id="tag-code" inputmode="numeric" autocomplete="off" required value=${code} onInput=${(e) => setCode(e.currentTarget.value.trim())} />
        <//>
        <button type="submit">${call.code ? 'Retag call' : 'Tag call'}</button>
      </form>`
    }
    <${Message} message=${message} />
    <button type="button" onClick=${onClose}>Close details</button>
  </section>`;
}
