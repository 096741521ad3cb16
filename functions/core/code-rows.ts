/**
 * The rows of a codes CSV file (docs/data-model.md): one {@link CsvRecord} in, one {@link CodeRow} or the
 * list of everything wrong with it out. Pure: the importer reads, checks duplicates and writes.
 *
 * The digits of an authorization code are a secret: they never appear in a {@link RowError},
 * and neither do the digits of a row whose kind cannot be read (it may have meant
 * authorization) or of a delete row that does not say it deletes an account code.
 */
import { searchWords, wordsMatch } from './search-words.ts';
import type { ColumnSpec, CsvRecord } from './csv.ts';
import { checkAction, checkE164, checkFlag, checkIdentity, checkText, splitList, unknownGroupsMessage, type Checked, type RowError } from './csv-values.ts';
import { CODE_LENGTH_MAX, CODE_LENGTH_MIN, type Settings } from './settings.ts';
import { isIsoDate } from './time.ts';
import type { CodeKind } from './types.ts';
import type { StoredCode } from './codes.ts';
import { csvLine } from './csv-write.ts';

export { DuplicateTracker, type RowError } from './csv-values.ts';

/** The columns of a codes file and the names spreadsheets and PBX exports give them. */
export const CODE_COLUMNS: ColumnSpec = {
  code: {
    required: true,
    synonyms: [
      'account code',
      'authorization code',
      'authorisation code',
      'auth code',
      'pin',
      'pin code',
      'access code',
      'billing code',
      'client matter code',
      'forced authorization code',
      'fac',
      'cmc',
    ],
  },
  description: { synonyms: ['desc', 'name', 'client', 'matter', 'client matter', 'label'] },
  kind: { synonyms: ['type', 'code type', 'code kind'] },
  enabled: { synonyms: ['active'] },
  expires: { synonyms: ['expiry', 'expiry date', 'expiration', 'expiration date', 'expires on', 'valid until'] },
  level: { synonyms: ['auth level', 'authorization level', 'authorisation level', 'fac level'] },
  users: { synonyms: ['user'] },
  groups: { synonyms: ['group'] },
  caller_ids: { synonyms: ['caller id', 'caller ids', 'cli'] },
  action: { synonyms: ['operation'] },
  ref: { synonyms: ['reference', 'code ref'] },
};

/** The columns an export writes, in order: a codes file that imports back as it is. */
export const EXPORT_COLUMNS = ['code', 'ref', 'description', 'kind', 'enabled', 'expires', 'level', 'users', 'groups', 'caller_ids'] as const;

/** What names an authorization code in files: the first 8 hex digits of its keyed hash. */
export const CODE_REF = /^[0-9a-f]{8}$/;

/** A valid row, ready to store (upsert) or remove (delete). */
export interface CodeRow {
  line: number;
  action: 'upsert' | 'delete';
  /**
   * The digits as written, leading zeros kept. Secret for authorization codes: never log it.
   * Empty for a row that names an authorization code by its {@link CodeRow.ref}.
   */
  code: string;
  /** An authorization code named without its digits (an export imported back): its ref. */
  ref?: string;
  /**
   * For a delete row, what the file says (`account` when it says nothing): the importer should
   * delete the code whatever its stored kind, as a code's digits are unique in an account.
   */
  kind: CodeKind;
  description?: string;
  enabled: boolean;
  expires?: string;
  level?: number;
  users?: string[];
  groups?: string[];
  callerIds?: string[];
}

/** What an error shows instead of a code that may be secret. */
export const HIDDEN_CODE = '(hidden: authorization code)';

const FORMULA = /^="(.*)"$/su;
// What a spreadsheet makes of a code it took for a number: 1.2E+05, 1234.0 / 1234,0, 1,234 / 1.234 / 1 234.
const SPREADSHEET_NUMBER = [/^[0-9](?:[.,][0-9]+)?E[+-]?[0-9]+$/iu, /^[0-9]+[.,]0+$/u, /^[0-9]{1,3}(?:[,. \u00a0'][0-9]{3})+$/u];

/** The digits of a code cell: trimmed, Excel's `="0042"` unwrapped. */
function codeText(raw: string): string {
  const v = raw.trim();
  return FORMULA.exec(v)?.[1]?.trim() ?? v;
}

function lengthWords(min: number, max: number): string {
  return min === max ? `exactly ${min} digits` : `${min}-${max} digits`;
}

/**
 * A code: digits only, leading zeros kept, of a length in `length`. Messages never contain the
 * digits when `secret`.
 */
function checkCode(raw: string, length: { readonly min: number; readonly max: number }, secret: boolean): Checked<string> {
  const v = codeText(raw);
  const range = lengthWords(length.min, length.max);
  if (v === '') return { ok: false, message: `a code is required on every row: ${range}` };
  if (/^[0-9]+$/u.test(v)) {
    if (v.length >= length.min && v.length <= length.max) return { ok: true, value: v };
    const count = secret ? '' : ` (this one has ${v.length})`;
    const zeros = v.length < length.min ? '; if a spreadsheet dropped leading zeros, format the column as Text and export again, or write the code as ="0042"' : '';
    return { ok: false, message: `codes of this account are ${range} long (codeLength in settings)${count}${zeros}` };
  }
  if (SPREADSHEET_NUMBER.some((re) => re.test(v))) {
    const shown = secret ? '' : ` (${v})`;
    return {
      ok: false,
      message: `looks like a spreadsheet changed the code into a number${shown}: format the column as Text and export again, or write it as ="0042"`,
    };
  }
  return { ok: false, message: `must be ${range} (0-9) and nothing else; leading zeros are kept` };
}

function checkKind(raw: string): Checked<CodeKind> {
  switch (raw.trim().toLowerCase()) {
    case '':
    case 'account':
      return { ok: true, value: 'account' };
    // British spelling and the short form are what people type.
    case 'authorization':
    case 'authorisation':
    case 'auth':
      return { ok: true, value: 'authorization' };
    default:
      return { ok: false, message: 'must be account or authorization (empty means account)' };
  }
}

function checkLevel(raw: string): Checked<number | undefined> {
  const v = raw.trim();
  if (v === '') return { ok: true, value: undefined };
  const n = /^[0-9]{1,3}$/u.test(v) ? Number(v) : NaN;
  return n <= 255 ? { ok: true, value: n } : { ok: false, message: 'must be a whole number from 0 to 255' };
}

function checkExpires(raw: string): Checked<string | undefined> {
  const v = raw.trim();
  if (v === '') return { ok: true, value: undefined };
  if (isIsoDate(v)) return { ok: true, value: v };
  if (/^\d{4}-\d{2}-\d{2}$/u.test(v)) return { ok: false, message: 'is not a real date: check the month and day (YYYY-MM-DD)' };
  if (/^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$/u.test(v) || /^\d{4}-\d{2}-\d{2}[T ]/u.test(v) || /^\d{5}$/u.test(v)) {
    return {
      ok: false,
      message: 'looks like a spreadsheet reformatted the date: write it as YYYY-MM-DD (e.g. 2026-12-31), formatting the column as Text or with the custom format yyyy-mm-dd',
    };
  }
  return { ok: false, message: 'must be the last valid day, written YYYY-MM-DD (e.g. 2026-12-31), or empty for no expiry' };
}

/** Identities separated by `;`, each normalized; duplicates within the cell dropped. */
function checkUsers(raw: string): Checked<string[] | undefined> {
  const out = new Set<string>();
  for (const piece of splitList(raw)) {
    const id = checkIdentity(piece);
    if (!id.ok) return { ok: false, message: `"${piece}": ${id.message}; separate users with ";"` };
    out.add(id.value);
  }
  return { ok: true, value: out.size === 0 ? undefined : [...out] };
}

/** Group names separated by `;`, each defined in the settings. */
function checkGroups(raw: string, settings: Settings): Checked<string[] | undefined> {
  const out = new Set<string>();
  const unknown: string[] = [];
  for (const name of splitList(raw)) {
    if (Object.hasOwn(settings.groups, name)) out.add(name);
    else unknown.push(name);
  }
  if (unknown.length > 0) return { ok: false, message: unknownGroupsMessage(unknown, settings) };
  return { ok: true, value: out.size === 0 ? undefined : [...out] };
}

function checkCallerIds(raw: string): Checked<string[] | undefined> {
  const out = new Set<string>();
  for (const piece of splitList(raw)) {
    const n = checkE164(piece);
    if (!n.ok) return { ok: false, message: `"${piece}" ${n.message}; separate numbers with ";"` };
    out.add(n.value);
  }
  return { ok: true, value: out.size === 0 ? undefined : [...out] };
}

/**
 * Checks one row of a codes file against docs/data-model.md and the account's settings. A delete row needs
 * only its code, and any code of 2–14 digits may be deleted (codes made before `codeLength`
 * changed must still be removable); the other columns of a delete row are ignored.
 */
export function validateCodeRow(rec: CsvRecord, settings: Settings): { ok: true; row: CodeRow } | { ok: false; errors: RowError[] } {
  const f = rec.fields;
  const line = rec.line;
  const errors: RowError[] = [];
  const raw = (column: string): string => f[column] ?? '';
  const fail = (column: string, message: string, value = raw(column)): void => {
    errors.push({ line, column, value, message });
  };

  const action = checkAction(raw('action'));
  if (!action.ok) fail('action', action.message);
  const kind = checkKind(raw('kind'));
  const isDelete = action.ok && action.value === 'delete';
  // Unknown kind: it may have meant authorization. A delete row may name an authorization code
  // without saying so. Either way the digits stay out of the report.
  const secret = !kind.ok || kind.value === 'authorization' || (isDelete && raw('kind').trim() === '');
  const codeValue = secret && raw('code').trim() !== '' ? HIDDEN_CODE : raw('code');

  // An authorization code named by its ref, as exports show it: its other fields change, its
  // digits are never needed (and nobody need know them).
  const ref = raw('ref').trim().toLowerCase();
  const byRef = codeText(raw('code')) === '' && ref !== '';
  if (byRef) {
    if (!CODE_REF.test(ref)) fail('ref', 'must be the 8 hex digits an export shows for an authorization code, or empty when the row has a code');
    if (kind.ok && raw('kind').trim() !== '' && kind.value !== 'authorization') {
      fail('kind', 'only authorization codes are named by a ref: write the code for an account code, or set kind to authorization');
    }
    if (isDelete) return errors.length > 0 ? { ok: false, errors } : { ok: true, row: { line, action: 'delete', code: '', ref, kind: 'authorization', enabled: true } };
  }

  if (isDelete) {
    const code = checkCode(raw('code'), { min: CODE_LENGTH_MIN, max: CODE_LENGTH_MAX }, secret);
    if (!code.ok) return { ok: false, errors: [{ line, column: 'code', value: codeValue, message: code.message }] };
    return { ok: true, row: { line, action: 'delete', code: code.value, kind: kind.ok ? kind.value : 'account', enabled: true } };
  }

  const code: Checked<string> = byRef ? { ok: true, value: '' } : checkCode(raw('code'), settings.codeLength, secret);
  if (!code.ok) fail('code', code.message, codeValue);
  if (!kind.ok) fail('kind', kind.message);
  const rowKind: CodeKind = byRef ? 'authorization' : kind.ok ? kind.value : 'account';

  const description = checkText(raw('description'));
  if (!description.ok) fail('description', description.message);
  const enabled = checkFlag(raw('enabled'));
  if (!enabled.ok) fail('enabled', `${enabled.message}; empty means true`);
  const expires = checkExpires(raw('expires'));
  if (!expires.ok) fail('expires', expires.message);

  const level = checkLevel(raw('level'));
  if (!level.ok) fail('level', level.message);
  else if (level.value !== undefined && kind.ok && rowKind === 'account') {
    fail('level', 'a level applies only to authorization codes: clear it, or set kind to authorization');
  }

  const users = checkUsers(raw('users'));
  if (!users.ok) fail('users', users.message);
  const groups = checkGroups(raw('groups'), settings);
  if (!groups.ok) fail('groups', groups.message);

  const callerIds = checkCallerIds(raw('caller_ids'));
  if (!callerIds.ok) fail('caller_ids', callerIds.message);
  else if (callerIds.value !== undefined && kind.ok && rowKind === 'authorization') {
    fail('caller_ids', 'caller IDs tag inbound calls with an account code; an authorization code cannot have them: clear the column or set kind to account');
  }

  if (errors.length > 0 || !code.ok || !kind.ok) return { ok: false, errors };
  const row: CodeRow = { line, action: 'upsert', code: code.value, kind: rowKind, enabled: enabled.ok ? (enabled.value ?? true) : true };
  if (byRef) row.ref = ref;
  if (description.ok && description.value !== undefined) row.description = description.value;
  if (expires.ok && expires.value !== undefined) row.expires = expires.value;
  if (level.ok && level.value !== undefined) row.level = level.value;
  if (users.ok && users.value !== undefined) row.users = users.value;
  if (groups.ok && groups.value !== undefined) row.groups = groups.value;
  if (callerIds.ok && callerIds.value !== undefined) row.callerIds = callerIds.value;
  return { ok: true, row };
}

/** The report error for a code seen earlier in the same file, the secret kept. */
export function duplicateCodeError(row: CodeRow, firstLine: number): RowError {
  if (row.ref !== undefined) {
    return { line: row.line, column: 'ref', value: row.ref, message: `duplicate of line ${firstLine}: each code may appear once in a file; keep one of the two rows` };
  }
  const secret = row.kind === 'authorization' || row.action === 'delete';
  return {
    line: row.line,
    column: 'code',
    value: secret ? HIDDEN_CODE : row.code,
    message: `duplicate of line ${firstLine}: each code may appear once in a file; keep one of the two rows`,
  };
}

/** The columns of the redacted copy that replaces an uploaded codes file: an export's, and `action`. */
export const REDACTED_COLUMNS = [...EXPORT_COLUMNS, 'action'] as const;

/**
 * A valid row as the redacted copy of its file keeps it: an authorization code's digits (and a
 * delete row's, which may be one) replaced by `ref`, everything else as the row said it.
 */
export function redactedRow(row: CodeRow, ref: string | undefined): string[] {
  const hide = holdsSecretDigits(row) || row.ref !== undefined;
  return [
    hide ? '' : row.code,
    hide ? (row.ref ?? ref ?? '') : '',
    row.description ?? '',
    row.action === 'delete' && row.ref === undefined ? '' : row.kind,
    row.action === 'delete' ? '' : row.enabled ? 'true' : 'false',
    row.expires ?? '',
    row.level === undefined ? '' : String(row.level),
    (row.users ?? []).join(';'),
    (row.groups ?? []).join(';'),
    (row.callerIds ?? []).join(';'),
    row.action,
  ];
}

/** The key a file's rows are told apart by: the digits, or for a row that names a code by its ref, the ref. */
export function codeRowKey(row: CodeRow): string {
  return row.ref === undefined ? row.code : `ref:${row.ref}`;
}

/** A row may hold an authorization code's digits: an authorization upsert, or a delete that does not say it deletes an account code. */
export function holdsSecretDigits(row: CodeRow): boolean {
  return row.code !== '' && (row.kind === 'authorization' || row.action === 'delete');
}

/**
 * A search (the CLI's `--search`, the console's search box): digits (or a ref) that start with
 * the text, or a description with a word starting each word of it, in any case and without
 * regard to accents (search-words.ts).
 */
export function codeSearch(text: string | undefined): (item: StoredCode) => boolean {
  const query = text?.trim().toLowerCase() ?? '';
  if (query === '') return () => true;
  const words = searchWords(query);
  return (item) => {
    const name = item.kind === 'authorization' ? (item.ref ?? '') : (item.code ?? '');
    return name.startsWith(query) || wordsMatch(words, item.description);
  };
}

/** A code as a row of {@link EXPORT_COLUMNS}: an authorization code by its ref, never its digits. */
export function codeExportRow(item: StoredCode): string[] {
  const auth = item.kind === 'authorization';
  return [
    auth ? '' : (item.code ?? ''),
    auth ? (item.ref ?? '') : '',
    item.description ?? '',
    item.kind,
    item.enabled ? 'true' : 'false',
    item.expires ?? '',
    auth ? String(item.level ?? 0) : '',
    (item.users ?? []).join(';'),
    (item.groups ?? []).join(';'),
    (item.callerIds ?? []).join(';'),
  ];
}

/** A codes file of these rows, their columns in the order the first row names them: what the CLI and the console upload for a change. */
export function codeChangeFile(rows: readonly Readonly<Record<string, string>>[]): string {
  const columns = Object.keys(rows[0] ?? {});
  return (
    csvLine(columns, PLAIN_CSV) +
    rows
      .map((r) =>
        csvLine(
          columns.map((c) => r[c] ?? ''),
          PLAIN_CSV,
        ),
      )
      .join('')
  );
}

const PLAIN_CSV = { formulaSafe: false } as const;
