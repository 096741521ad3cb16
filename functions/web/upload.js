// Uploading a codes or users file from the console: pick it, see the dry run's report (every
// bad line, as the bucket's report has it) before anything changes, then apply it through the
// same import as a bucket upload.
import { html, useState } from './vendor/preact-htm.js';
import { api, change } from './api.js';
import { Field, Message, ReportView } from './ui.js';

/** Pick a file, see its dry-run report (every bad line), then apply it. */
export function UploadForm({ kind, title, columns, modes, onDone }) {
  const [file, setFile] = useState(null);
  const [mode, setMode] = useState(modes[0].value);
  const [check, setCheck] = useState(null);
  const [report, setReport] = useState(null);
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = async (work) => {
    setBusy(true);
    setMessage(null);
    try {
      await work();
    } catch (err) {
      setMessage({ error: err.message });
    } finally {
      setBusy(false);
    }
  };
  const dryRun = (e) => {
    e.preventDefault();
    setReport(null);
    if (!file) return setMessage({ error: 'Choose a CSV file first.' });
    return run(async () => setCheck(await api(`/api/${kind}/check?mode=${mode}`, { method: 'POST', file })));
  };
  const apply = () =>
    run(async () => {
      const answer = await change(`/api/${kind}/upload?mode=${mode}&name=${encodeURIComponent(file.name)}`, { method: 'POST', file });
      setReport(answer.report);
      setCheck(null);
      if (answer.status === 'applied') onDone({ ok: `Applied ${file.name}.` });
    });
  const id = `upload-${kind}`;
  return html`<form class="card" aria-label=${title} onSubmit=${dryRun}>
    <h3>${title}</h3>
    <p>A CSV with a header line: ${columns}. The whole file is checked first; one bad line changes nothing.</p>
    <${Field} id=${`${id}-file`} label=${kind === 'codes' ? 'Codes file' : 'Users file'}>
      <input
        id=${`${id}-file`}
        type="file"
        accept=".csv,text/csv"
        onChange=${(e) => {
          setFile(e.currentTarget.files[0] ?? null);
          setCheck(null);
        }}
      />
    <//>
    ${
      modes.length > 1 &&
      html`<${Field} id=${`${id}-mode`} label="How to apply it">
        <select id=${`${id}-mode`} value=${mode} onChange=${(e) => setMode(e.currentTarget.value)}>
          ${modes.map((m) => html`<option value=${m.value}>${m.label}</option>`)}
        </select>
      <//>`
    }
    <button type="submit" disabled=${busy}>Check file</button>
    <${Message} message=${message} />
    <${ReportView} title="Dry run" report=${check} />
    ${check?.status === 'valid' && html`<button type="button" disabled=${busy} onClick=${apply}>Apply file</button>`}
    <${ReportView} title="Import report" report=${report} />
  </form>`;
}
