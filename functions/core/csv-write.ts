/**
 * Writing CSV: RFC 4180 quoting and CRLF always; for files meant for a spreadsheet (exports),
 * also the byte-order mark Excel needs to read UTF-8 and the formula guard of docs/data-model.md. Files
 * the CLI uploads for import carry the values exactly, with no guard (a `'` would become part
 * of the value).
 */

/** What Excel needs to read a CSV as UTF-8 rather than the locale's code page. */
export const UTF8_BOM = '\ufeff';

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;
// A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)$/;
// One E.164 number, or a `;`-separated list of them (caller IDs): digits, `+` and `;` only.
const E164_LIST = /^\+[1-9]\d{1,14}(?:;\+[1-9]\d{1,14})*$/;

/** One field, quoted when it must be; `formulaSafe` adds the leading `'` of docs/data-model.md. */
export function csvField(value: string, options: { readonly formulaSafe: boolean }): string {
  let v = value;
  if (options.formulaSafe && FORMULA_START.test(v) && !PLAIN_NUMBER.test(v) && !E164_LIST.test(v)) v = `'${v}`;
  return NEEDS_QUOTES.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One record with its CRLF. */
export function csvLine(values: readonly string[], options: { readonly formulaSafe: boolean }): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += i === 0 ? csvField(values[i] as string, options) : `,${csvField(values[i] as string, options)}`;
  return `${line}\r\n`;
}
