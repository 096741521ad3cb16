// The Settings page: a form built from the settings JSON Schema — one field per setting with
// the schema's description beside it; nested settings (groups, call treatments…) as JSON —
// then a check that shows every problem beside its field and what would change, then apply.
import { html, useState } from './vendor/preact-htm.js';
import { api, change } from './api.js';
import { Message, Table, useLoad } from './ui.js';

export function SettingsPage({ me }) {
  const [data, error, reload] = useLoad(() => api('/api/settings'), []);
  const [notice, setNotice] = useState(null);
  if (error) return html`<p role="alert" class="message error">${error}</p>`;
  if (!data) return null;
  const applied = () => {
    setNotice({ ok: 'Settings applied.' });
    reload();
  };
  // A fresh form for each version in force: what it shows is what applies now.
  return html`<${Message} message=${notice} />
    <${SettingsForm} key=${JSON.stringify(data.settings)} data=${data} admin=${me.user.role === 'admin'} onApplied=${applied} onEdit=${() => setNotice(null)} />`;
}

/** What kind of control a schema property gets. */
function controlOf(prop) {
  if (Array.isArray(prop.enum)) return { kind: 'select', options: prop.enum };
  if (prop.type === 'boolean') return { kind: 'checkbox' };
  if (prop.type === 'integer' || prop.type === 'number') return { kind: 'number', min: prop.minimum, max: prop.maximum };
  if (prop.type === 'string') return { kind: 'text' };
  return { kind: 'json' };
}

function SettingsForm({ data, admin, onApplied, onEdit }) {
  const properties = data.schema.properties ?? {};
  const keys = Object.keys(properties).filter((k) => k !== 'account' && k !== '$schema');
  const formValues = (doc) => Object.fromEntries(keys.map((k) => [k, controlOf(properties[k]).kind === 'json' ? JSON.stringify(doc[k] ?? null, null, 2) : (doc[k] ?? '')]));
  const [values, setValues] = useState(() => formValues(data.settings));
  const [problems, setProblems] = useState({});
  const [checked, setChecked] = useState(null);
  const [message, setMessage] = useState(null);
  const document = () => {
    const doc = { account: data.settings.account };
    const bad = {};
    for (const k of keys) {
      const control = controlOf(properties[k]);
      const v = values[k];
      if (control.kind === 'json') {
        try {
          const parsed = JSON.parse(v || 'null');
          if (parsed !== null) doc[k] = parsed;
        } catch (err) {
          bad[k] = `is not valid JSON: ${err.message}`;
        }
      } else if (control.kind === 'number') {
        if (v !== '') doc[k] = Number(v);
      } else if (control.kind === 'checkbox') {
        doc[k] = v === true;
      } else if (v !== '') {
        doc[k] = v;
      }
    }
    return { doc, bad };
  };
  const check = async (e, given) => {
    e?.preventDefault();
    setMessage(null);
    setChecked(null);
    const { doc, bad } = given === undefined ? document() : { doc: given, bad: {} };
    if (Object.keys(bad).length > 0) return setProblems(bad);
    try {
      const answer = await api('/api/settings/check', { method: 'POST', json: { settings: doc } });
      const byKey = {};
      for (const p of answer.problems) {
        const key = p.path.split(/[.[]/)[0];
        byKey[key] = byKey[key] ? `${byKey[key]}; ${p.path}: ${p.message}` : `${p.path}: ${p.message}`;
      }
      setProblems(byKey);
      setChecked(answer.ok ? { doc, diff: answer.diff } : null);
      if (!answer.ok) setMessage({ error: `${answer.problems.length} ${answer.problems.length === 1 ? 'problem' : 'problems'}: see the fields marked below.` });
      else if (answer.diff.length === 0) setMessage({ ok: 'Valid, and the same as the settings in force: nothing to apply.' });
    } catch (err) {
      setMessage({ error: err.message });
    }
  };
  const apply = async () => {
    try {
      const answer = await change('/api/settings', { method: 'PUT', json: { settings: checked.doc } });
      if (answer.status !== 'applied') return setMessage({ error: `Not applied: ${answer.report.errors.map((x) => `${x.column}: ${x.message}`).join('; ')}` });
      setChecked(null);
      onApplied();
    } catch (err) {
      setMessage({ error: err.message });
    }
  };
  return html`<section aria-labelledby="settings-title">
    <h2 id="settings-title">Settings of ${data.settings.account}</h2>
    <${Message} message=${message} />
    <form class="settings" aria-label="Settings" novalidate onSubmit=${check}>
      ${keys.map(
        (k) => html`<${SettingField}
          name=${k}
          prop=${properties[k]}
          value=${values[k]}
          error=${problems[k]}
          disabled=${!admin}
          onChange=${(v) => {
            setValues({ ...values, [k]: v });
            setChecked(null);
            onEdit();
          }}
        />`,
      )}
      ${admin && html`<button type="submit">Check changes</button>`}
    </form>
    <${Table}
      caption="Earlier versions"
      columns=${[
        { label: 'Applied', value: (v) => new Date(v.at).toLocaleString() },
        { label: 'By', value: (v) => v.actor },
        ...(admin
          ? [
              {
                label: 'Revert',
                value: (v) =>
                  html`<button
                    type="button"
                    aria-label=${`Revert to the version of ${new Date(v.at).toLocaleString()}`}
                    onClick=${() => {
                      setValues(formValues(v.settings));
                      check(undefined, v.settings);
                    }}
                  >
                    Revert to this version
                  </button>`,
              },
            ]
          : []),
      ]}
      rows=${data.versions}
      empty="No earlier versions kept yet: each settings file applied from now on is."
    />
    ${
      checked &&
      checked.diff.length > 0 &&
      html`<section class="card" aria-label="Changes to apply">
        <${Table}
          caption="What changes"
          columns=${[
            { label: 'Setting', value: (d) => d.key },
            { label: 'Now', value: (d) => html`<pre>${JSON.stringify(d.before, null, 1)}</pre>` },
            { label: 'After', value: (d) => html`<pre>${JSON.stringify(d.after, null, 1)}</pre>` },
          ]}
          rows=${checked.diff}
          empty=""
        />
        <button type="button" onClick=${apply}>Apply settings</button>
      </section>`
    }
  </section>`;
}

function SettingField({ name, prop, value, error, disabled, onChange }) {
  const control = controlOf(prop);
  const id = `setting-${name}`;
  const describedBy = `${id}-hint${error ? ` ${id}-error` : ''}`;
  let input;
  if (control.kind === 'select') {
    input = html`<select id=${id} disabled=${disabled} aria-describedby=${describedBy} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${control.options.map((o) => html`<option value=${o}>${o}</option>`)}
    </select>`;
  } else if (control.kind === 'checkbox') {
    input = html`<input id=${id} type="checkbox" disabled=${disabled} aria-describedby=${describedBy} checked=${value === true} onChange=${(e) => onChange(e.currentTarget.checked)} />`;
  } else if (control.kind === 'json') {
    input = html`<textarea id=${id} rows=${Math.min(12, String(value).split('\n').length + 1)} disabled=${disabled} aria-describedby=${describedBy} spellcheck="false" value=${value} onInput=${(e) => onChange(e.currentTarget.value)} />`;
  } else {
    input = html`<input
      id=${id}
      type=${control.kind}
      min=${control.min}
      max=${control.max}
      disabled=${disabled}
      aria-describedby=${describedBy}
      value=${value}
      onInput=${(e) => onChange(e.currentTarget.value)}
    />`;
  }
  return html`<div class=${`field${error ? ' invalid' : ''}`}>
    <label for=${id}>${name}</label>
    ${input}
    <small id=${`${id}-hint`}>${prop.description ?? ''}</small>
    ${error && html`<small class="field-error" id=${`${id}-error`} role="alert">${error}</small>`}
  </div>`;
}
