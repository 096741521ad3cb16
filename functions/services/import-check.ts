/**
 * An import's first pass (docs/data-model.md "whole file first"): every row read and checked, duplicates
 * found, nothing written. The import function runs it before applying anything; the CLI's
 * `--dry-run` runs the very same functions on the admin's machine.
 */
import { CODE_COLUMNS, codeRowKey, DuplicateTracker, duplicateCodeError, HIDDEN_CODE, holdsSecretDigits, validateCodeRow, type CodeRow, type RowError } from '../core/code-rows.ts';
import { CsvFormatError, readCsv, type ColumnSpec, type CsvRecord } from '../core/csv.ts';
import type { Settings } from '../core/settings.ts';
import { duplicateUserError, USER_COLUMNS, validateUserRow } from '../core/user-rows.ts';

/** The errors a report lists; the rest are only counted. */
export const MAX_REPORTED_ERRORS = 1000;

export type RowCheck<R> = (rec: CsvRecord) => { ok: true; row: R } | { ok: false; errors: RowError[] };

export interface FileCheck {
  readonly rows: number;
  readonly errorCount: number;
  /** The first 1,000, as a report lists them. */
  readonly errors: readonly RowError[];
}

async function checkFile<R>(
  source: AsyncIterable<Uint8Array>,
  columns: ColumnSpec,
  validate: RowCheck<R>,
  keyOf: (row: R) => string,
  duplicate: (row: R, firstLine: number) => RowError,
): Promise<{ rows: number; errorCount: number; errors: RowError[] }> {
  const errors: RowError[] = [];
  let errorCount = 0;
  const add = (...list: readonly RowError[]): void => {
    for (const e of list) {
      errorCount++;
      if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
    }
  };
  const seen = new DuplicateTracker();
  let rows = 0;
  try {
    for await (const rec of readCsv(source, columns)) {
      rows++;
      const result = validate(rec);
      if (!result.ok) {
        add(...result.errors);
        continue;
      }
      const first = seen.see(keyOf(result.row), rec.line);
      if (first !== undefined) add(duplicate(result.row, first));
    }
  } catch (err) {
    if (!(err instanceof CsvFormatError)) throw err;
    // Every header problem on its own line of the report, in the report's shape (the error's
    // own message joins them and prefixes "line N:", which the report has a field for).
    add(...err.problems.map((p) => ({ line: p.line, column: p.column, value: p.value, message: p.message })));
  }
  return { rows, errorCount, errors };
}

/** The row rule of a codes file: docs/data-model.md, and in `replace` mode no `delete` rows. */
export function codeRowCheck(settings: Settings, mode: 'merge' | 'replace'): RowCheck<CodeRow> {
  return (rec) => {
    const result = validateCodeRow(rec, settings);
    if (result.ok && mode === 'replace' && result.row.action === 'delete') {
      return {
        ok: false,
        errors: [
          { line: rec.line, column: 'action', value: 'delete', message: 'a replace file is the whole code list: leave out the codes to remove instead of marking them delete' },
        ],
      };
    }
    return result;
  };
}

export function userRowCheck(settings: Settings): RowCheck<ReturnType<typeof validateUserRow> extends { ok: true; row: infer R } | { ok: false } ? R : never> {
  return (rec) => validateUserRow(rec, settings);
}

/** What the first pass learns of a codes file besides its errors. */
export interface CodesFileCheck extends FileCheck {
  /** Some row holds digits that may be an authorization code's: the file must not rest in the bucket. */
  readonly secretDigits: boolean;
  /** Rows that name an authorization code by its ref, which the import resolves before applying anything. */
  readonly refs: readonly { readonly ref: string; readonly line: number }[];
}

/** A codes file as the import judges it (`replace`: the file is the whole list). */
export async function checkCodesFile(source: AsyncIterable<Uint8Array>, settings: Settings, mode: 'merge' | 'replace'): Promise<CodesFileCheck> {
  // The codes whose digits are secret (authorization codes, and deletes that may name one),
  // so that a repeat of one stays hidden even when the repeating row says `account`.
  const secret = new DuplicateTracker();
  let secretDigits = false;
  const refs: { ref: string; line: number }[] = [];
  const keyOf = (row: CodeRow): string => {
    if (holdsSecretDigits(row)) {
      secretDigits = true;
      secret.see(row.code, row.line);
    }
    if (row.ref !== undefined) refs.push({ ref: row.ref, line: row.line });
    return codeRowKey(row);
  };
  const duplicate = (row: CodeRow, firstLine: number): RowError => {
    const error = duplicateCodeError(row, firstLine);
    return row.ref !== undefined || secret.see(row.code, row.line) === undefined ? error : { ...error, value: HIDDEN_CODE };
  };
  const result = await checkFile(source, CODE_COLUMNS, codeRowCheck(settings, mode), keyOf, duplicate);
  if (result.errorCount === 0 && result.rows === 0 && mode === 'replace') {
    result.errorCount = 1;
    result.errors.push({
      line: 1,
      column: '',
      value: '',
      message: 'a replace file with no rows would delete every code: to remove codes, upload a codes/ file with action=delete rows',
    });
  }
  return { ...result, secretDigits, refs };
}

/** A users file as the import judges it. */
export function checkUsersFile(source: AsyncIterable<Uint8Array>, settings: Settings): Promise<FileCheck> {
  return checkFile(source, USER_COLUMNS, userRowCheck(settings), (row) => row.user.id, duplicateUserError);
}
