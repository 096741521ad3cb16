// Pieces every page uses: tables with header cells, status and error messages that screen
// readers announce, an import report with every bad line, and a confirmation step.
import { html, useEffect, useState } from './vendor/preact-htm.js';

/** A status line (role=status) or an error (role=alert); nothing when there is no message. */
export function Message({ message }) {
  if (!message) return null;
  if (message.error) return html`<p class="message error" role="alert">${message.error}</p>`;
  return html`<p class="message ok" role="status">${message.ok}</p>`;
}

/** A real table: a caption, header cells, one row per item. `columns`: [{ label, value(row) }]. */
export function Table({ caption, columns, rows, empty, rowKey }) {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap">
    <table>
      <caption>${caption}</caption>
      <thead>
        <tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr>
      </thead>
      <tbody>
        ${rows.map((row, i) => html`<tr key=${rowKey ? rowKey(row) : i}>${columns.map((c) => html`<td>${c.value(row)}</td>`)}</tr>`)}
      </tbody>
    </table>
  </div>`;
}

/** What an import did, or why it was refused: every bad line with its column and message. */
export function ReportView({ title, report }) {
  if (!report) return null;
  const bad = report.status === 'rejected';
  const counts = ['created', 'updated', 'unchanged', 'deleted'].filter((k) => report[k] > 0).map((k) => `${report[k]} ${k}`);
  return html`<section class=${`report ${bad ? 'bad' : 'good'}`} aria-label=${title}>
    <h3>${title}</h3>
    <p role=${bad ? 'alert' : 'status'}>
      ${statusWords(report)}: ${report.rows} ${report.rows === 1 ? 'row' : 'rows'}${counts.length > 0 ? `, ${counts.join(', ')}` : ''}${report.errorCount > 0 ? `, ${report.errorCount} ${report.errorCount === 1 ? 'error' : 'errors'}` : ''}.
    </p>
    ${
      report.errors?.length > 0 &&
      html`<${Table}
        caption="Lines with errors"
        columns=${[
          { label: 'Line', value: (e) => e.line },
          { label: 'Column', value: (e) => e.column },
          { label: 'Value', value: (e) => e.value ?? '' },
          { label: 'Problem', value: (e) => e.message },
        ]}
        rows=${report.errors}
        empty=""
      />`
    }
    ${report.errorCount > (report.errors?.length ?? 0) && html`<p>… and ${report.errorCount - report.errors.length} more.</p>`}
  </section>`;
}

function statusWords(report) {
  if (report.status === 'valid') return 'The file is valid (nothing has changed yet)';
  if (report.status === 'rejected' && report.file === undefined) return 'The file has errors; nothing was changed';
  if (report.status === 'rejected') return 'Rejected; nothing was changed';
  return 'Applied';
}

/** A question with two buttons, in the page (keyboard-usable, no browser dialog). */
export function Confirm({ question, confirmLabel, onConfirm, onCancel }) {
  const [busy, setBusy] = useState(false);
  return html`<div class="confirm" role="alertdialog" aria-label=${question}>
    <p>${question}</p>
    <button
      type="button"
      class="danger"
      disabled=${busy}
      onClick=${async () => {
        setBusy(true);
        await onConfirm();
      }}
    >
      ${confirmLabel}
    </button>
    <button type="button" onClick=${onCancel}>Cancel</button>
  </div>`;
}

/** Load something when the inputs change; `[value, error, reload]`. */
export function useLoad(load, inputs) {
  const [state, setState] = useState({ value: undefined, error: undefined });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => live && setState({ value, error: undefined }),
      (err) => live && setState({ value: undefined, error: err.message }),
    );
    return () => {
      live = false;
    };
  }, [...inputs, tick]);
  return [state.value, state.error, () => setTick((t) => t + 1)];
}

/** A labelled field: the label names the control, the hint describes it. */
export function Field({ label, hint, error, children, id }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${children}
    ${hint && html`<small id=${`${id}-hint`}>${hint}</small>`}
    ${error && html`<small class="field-error" id=${`${id}-error`}>${error}</small>`}
  </div>`;
}

export const formatMinutes = (n) => (Math.round(n * 10) / 10).toLocaleString('en-US');
export const formatBytes = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);
