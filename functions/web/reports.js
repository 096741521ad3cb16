// The Reports page: a month per code, per user and per class, a bar chart of billable minutes
// per code (SVG drawn here: no chart library, no inline script), and the month's files.
import { html, useState } from './vendor/preact-htm.js';
import { api, download } from './api.js';
import { Field, formatBytes, formatMinutes, Message, Table, useLoad } from './ui.js';

export function ReportsPage() {
  const [month, setMonth] = useState(new Date().toISOString().slice(0, 7));
  const [draft, setDraft] = useState(month);
  const [message, setMessage] = useState(null);
  const [data, error] = useLoad(() => api(`/api/reports?month=${month}`), [month]);
  const tally = [
    { label: 'Calls', value: (r) => r.calls },
    { label: 'Talk (s)', value: (r) => r.talkS },
    { label: 'Billable minutes', value: (r) => formatMinutes(r.billableMinutes) },
  ];
  return html`<section aria-labelledby="reports-title">
    <h2 id="reports-title">Reports</h2>
    <form
      class="search"
      aria-label="Choose a month"
      onSubmit=${(e) => {
        e.preventDefault();
        setMonth(draft);
      }}
    >
      <${Field} id="report-month" label="Month">
        <input id="report-month" type="month" required value=${draft} onInput=${(e) => setDraft(e.currentTarget.value)} />
      <//>
      <button type="submit">Show month</button>
    </form>
    <${Message} message=${message} />
    ${error && html`<p role="alert" class="message error">${error}</p>`}
    ${
      data &&
      html`<${Chart} rows=${data.perCode} />
      <${Table}
        caption=${`Per code, ${data.month}`}
        columns=${[
          { label: 'Code', value: (r) => r.code || (r.kind === 'authorization' ? `ref ${r.ref}` : 'no code') },
          { label: 'Description', value: (r) => r.description },
          { label: 'Kind', value: (r) => r.kind },
          ...tally,
        ]}
        rows=${data.perCode}
        empty="No calls this month."
      />
      <${Table} caption=${`Per user, ${data.month}`} columns=${[{ label: 'User', value: (r) => r.user }, ...tally]} rows=${data.perUser} empty="No calls this month." />
      <${Table} caption=${`Per call class, ${data.month}`} columns=${[{ label: 'Call class', value: (r) => r.class }, ...tally]} rows=${data.perClass} empty="No calls this month." />
      <h3>Files</h3>
      ${
        data.files.length === 0
          ? html`<p class="empty">No usage files for ${data.month} yet: the export writes each day once it has ended.</p>`
          : html`<ul class="files">
              ${data.files.map(
                (f) =>
                  html`<li>
                    <button type="button" onClick=${() => download(f.key).catch((e) => setMessage({ error: e.message }))}>Download ${f.name}</button>
                    <span>${formatBytes(f.size)}</span>
                  </li>`,
              )}
            </ul>`
      }`
    }
  </section>`;
}

/** Billable minutes per code as horizontal bars, with the numbers as text (the table says the same). */
function Chart({ rows }) {
  const bars = rows.filter((r) => r.billableMinutes > 0).slice(0, 20);
  if (bars.length === 0) return null;
  const max = Math.max(...bars.map((r) => r.billableMinutes));
  const rowHeight = 24;
  const label = (r) => r.code || (r.kind === 'authorization' ? `ref ${r.ref}` : 'no code');
  return html`<figure class="chart">
    <figcaption>Billable minutes per code</figcaption>
    <svg viewBox=${`0 0 600 ${bars.length * rowHeight}`} role="img" aria-label="Bar chart of billable minutes per code">
      ${bars.map(
        (r, i) => html`<g>
          <text x="0" y=${i * rowHeight + 16} class="chart-label">${label(r)}</text>
          <rect x="120" y=${i * rowHeight + 4} height="16" width=${Math.max(2, (r.billableMinutes / max) * 400)} class="chart-bar" />
          <text x=${130 + (r.billableMinutes / max) * 400} y=${i * rowHeight + 16} class="chart-value">${formatMinutes(r.billableMinutes)}</text>
        </g>`,
      )}
    </svg>
  </figure>`;
}
