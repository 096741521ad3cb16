/**
 * The rows of a users CSV file (docs/data-model.md):
 * `user,name,group,caller_id,max_attempts,proceed_after_max_attempts,validate,language,after_call_prompt,<class>…,action`,
 * where each `<class>` column (a call class of docs/security.md, or `default`) holds a treatment or is
 * empty for "not set here". One {@link CsvRecord} in, one {@link UserRow} or its errors out.
 */
import type { ColumnSpec, CsvRecord } from './csv.ts';
import { checkAction, checkE164, checkFlag, checkIdentity, checkText, unknownGroupsMessage, type RowError } from './csv-values.ts';
import type { CallTreatments, Settings, UserRecord } from './settings.ts';
import { CALL_CLASSES, PROMPT_LANGUAGES, TREATMENTS, type CallClass, type Treatment } from './types.ts';

/** The treatment columns: every call class, and `default` for the classes not listed. */
export const TREATMENT_COLUMNS = ['default', ...CALL_CLASSES] as const;

export const USER_COLUMNS: ColumnSpec = {
  user: { required: true, synonyms: ['identity', 'user id'] },
  name: { synonyms: ['display name', 'full name'] },
  group: { synonyms: ['class of service', 'cos'] },
  caller_id: { synonyms: ['cli', 'outbound caller id'] },
  max_attempts: { synonyms: ['attempts'] },
  proceed_after_max_attempts: { synonyms: ['proceed'] },
  validate: {},
  language: { synonyms: ['lang', 'prompt language'] },
  after_call_prompt: { synonyms: ['after call prompt', 'tag after call'] },
  ...Object.fromEntries(TREATMENT_COLUMNS.map((c) => [c, c === 'international' ? { synonyms: ['intl'] } : {}])),
  action: { synonyms: ['operation'] },
};

export interface UserRow {
  line: number;
  action: 'upsert' | 'delete';
  /** For a delete row only `id` is set. */
  user: UserRecord;
}

function checkTreatment(raw: string, cls: CallClass | 'default'): { ok: true; value: Treatment | undefined } | { ok: false; message: string } {
  const v = raw.trim().toLowerCase();
  if (v === '') return { ok: true, value: undefined };
  if (cls === 'emergency') {
    return v === 'free' ? { ok: true, value: 'free' } : { ok: false, message: "emergency calls are always free (Kari's Law): leave the column empty or write free" };
  }
  const t = TREATMENTS.find((x) => x === v);
  return t !== undefined ? { ok: true, value: t } : { ok: false, message: `must be one of ${TREATMENTS.join(', ')}, or empty for not set` };
}

/**
 * Checks one row of a users file against docs/settings.md, docs/data-model.md and the account's settings. A delete row
 * needs only `user`; its other columns are ignored.
 */
export function validateUserRow(rec: CsvRecord, settings: Settings): { ok: true; row: UserRow } | { ok: false; errors: RowError[] } {
  const f = rec.fields;
  const line = rec.line;
  const errors: RowError[] = [];
  const raw = (column: string): string => f[column] ?? '';
  const fail = (column: string, message: string): void => {
    errors.push({ line, column, value: raw(column), message });
  };

  const action = checkAction(raw('action'));
  if (!action.ok) fail('action', action.message);
  const id =
    raw('user').trim() === ''
      ? { ok: false as const, message: 'a user is required on every row: client:<identity>, sip:<user>@<domain> or an E.164 number' }
      : checkIdentity(raw('user'));
  if (!id.ok) fail('user', id.message);
  if (action.ok && action.value === 'delete') {
    return id.ok ? { ok: true, row: { line, action: 'delete', user: { id: id.value } } } : { ok: false, errors };
  }

  const name = checkText(raw('name'));
  if (!name.ok) fail('name', name.message);

  const group = raw('group').trim();
  if (group !== '' && !Object.hasOwn(settings.groups, group)) fail('group', unknownGroupsMessage([group], settings));

  const callerId = raw('caller_id').trim() === '' ? undefined : checkE164(raw('caller_id'));
  if (callerId !== undefined && !callerId.ok) fail('caller_id', callerId.message);

  const attemptsText = raw('max_attempts').trim();
  const maxAttempts = /^[1-9]$/u.test(attemptsText) ? Number(attemptsText) : undefined;
  if (attemptsText !== '' && maxAttempts === undefined) fail('max_attempts', "must be a whole number from 1 to 9, or empty for the group's or account's");

  const validate = checkFlag(raw('validate'));
  if (!validate.ok) fail('validate', `${validate.message}, or empty for the group's or account's`);

  const proceed = checkFlag(raw('proceed_after_max_attempts'));
  if (!proceed.ok) fail('proceed_after_max_attempts', `${proceed.message}, or empty for the group's or account's`);
  else if (proceed.value === true && !settings.proceedAfterMaxAttempts) {
    fail('proceed_after_max_attempts', 'can be true only when the account allows it: set "proceedAfterMaxAttempts": true in settings.json first, or leave this empty');
  }

  const afterCall = checkFlag(raw('after_call_prompt'));
  if (!afterCall.ok) fail('after_call_prompt', `${afterCall.message}, or empty for the group's or account's`);

  const languageText = raw('language').trim();
  const language = PROMPT_LANGUAGES.find((l) => l.toLowerCase() === languageText.toLowerCase());
  if (languageText !== '' && language === undefined) fail('language', `must be one of the languages prompts ship in: ${PROMPT_LANGUAGES.join(', ')}, or empty for the account's`);

  const calls: CallTreatments = {};
  let anyCall = false;
  for (const cls of TREATMENT_COLUMNS) {
    const t = checkTreatment(raw(cls), cls);
    if (!t.ok) fail(cls, t.message);
    else if (t.value !== undefined) {
      calls[cls] = t.value;
      anyCall = true;
    }
  }

  if (errors.length > 0 || !id.ok) return { ok: false, errors };
  const user: {
    -readonly [K in keyof UserRecord]: UserRecord[K];
  } = { id: id.value };
  if (name.ok && name.value !== undefined) user.name = name.value;
  if (group !== '') user.group = group;
  if (callerId?.ok === true) user.callerId = callerId.value;
  if (maxAttempts !== undefined) user.maxAttempts = maxAttempts;
  if (validate.ok && validate.value !== undefined) user.validate = validate.value;
  if (proceed.ok && proceed.value !== undefined) user.proceedAfterMaxAttempts = proceed.value;
  if (language !== undefined) user.language = language;
  if (afterCall.ok && afterCall.value !== undefined) user.afterCallPrompt = afterCall.value;
  if (anyCall) user.calls = calls;
  return { ok: true, row: { line, action: 'upsert', user } };
}

/** The report error for a user listed earlier in the same file. */
export function duplicateUserError(row: UserRow, firstLine: number): RowError {
  return {
    line: row.line,
    column: 'user',
    value: row.user.id,
    message: `duplicate of line ${firstLine}: each user may appear once in a file (identities compare as normalized: SIP in lower case); keep one of the two rows`,
  };
}

/** The columns `users export` writes: a users file that imports back as it is. */
export const USER_EXPORT_COLUMNS = [
  'user',
  'name',
  'group',
  'caller_id',
  'max_attempts',
  'proceed_after_max_attempts',
  'validate',
  'language',
  'after_call_prompt',
  ...TREATMENT_COLUMNS,
] as const;

/** A user as a row of {@link USER_EXPORT_COLUMNS}. */
export function userExportRow(u: UserRecord): string[] {
  const flagText = (v: boolean | undefined) => (v === undefined ? '' : v ? 'true' : 'false');
  return [
    u.id,
    u.name ?? '',
    u.group ?? '',
    u.callerId ?? '',
    u.maxAttempts === undefined ? '' : String(u.maxAttempts),
    flagText(u.proceedAfterMaxAttempts),
    flagText(u.validate),
    u.language ?? '',
    flagText(u.afterCallPrompt),
    ...TREATMENT_COLUMNS.map((c) => u.calls?.[c] ?? ''),
  ];
}
