/**
 * `--dry-run`: the import's first pass — every row read with the same CSV reader and checked by
 * the same row rules, against the account's stored settings — run on this machine, writing
 * nothing anywhere. The rules are the core's (`readCsv`, `validateCodeRow`, `validateUserRow`,
 * `DuplicateTracker`); this file only mirrors how the importer strings them together.
 */
import { CODE_COLUMNS, DuplicateTracker, duplicateCodeError, HIDDEN_CODE, validateCodeRow, type CodeRow, type RowError } from '../functions/core/code-rows.ts';
import { CsvFormatError, readCsv, type ColumnSpec, type CsvRecord } from '../functions/core/csv.ts';
import type { Settings } from '../functions/core/settings.ts';
import { duplicateUserError, USER_COLUMNS, validateUserRow } from '../functions/core/user-rows.ts';
import { MAX_REPORTED_ERRORS } from '../functions/services/importer.ts';

export interface LocalCheck {
  readonly rows: number;
  readonly errorCount: number;
  /** The first 1,000, as a report lists them. */
  readonly errors: readonly RowError[];
}

async function check<R extends { line: number }>(
  source: AsyncIterable<Uint8Array>,
  columns: ColumnSpec,
  validate: (rec: CsvRecord) => { ok: true; row: R } | { ok: false; errors: RowError[] },
  keyOf: (row: R) => string,
  duplicate: (row: R, firstLine: number) => RowError,
): Promise<{ rows: number; errorCount: number; errors: RowError[] }> {
  const errors: RowError[] = [];
  let errorCount = 0;
  const add = (...list: RowError[]): void => {
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
    add(...err.problems.map((p) => ({ line: p.line, column: p.column, value: p.value, message: p.message })));
  }
  return { rows, errorCount, errors };
}

/** A codes file as the import would judge it (`replace`: the file is the whole list). */
export async function checkCodesFile(source: AsyncIterable<Uint8Array>, settings: Settings, mode: 'merge' | 'replace'): Promise<LocalCheck> {
  // As the importer does: a repeat of a code that is secret somewhere in the file (an
  // authorization code, or a delete that may name one) stays hidden even on an `account` row.
  const secret = new DuplicateTracker();
  const keyOf = (row: CodeRow): string => {
    if (row.kind === 'authorization' || row.action === 'delete') secret.see(row.code, row.line);
    return row.code;
  };
  const duplicate = (row: CodeRow, firstLine: number): RowError => {
    const error = duplicateCodeError(row, firstLine);
    return secret.see(row.code, row.line) === undefined ? error : { ...error, value: HIDDEN_CODE };
  };
  const result = await check(
    source,
    CODE_COLUMNS,
    (rec) => {
      const r = validateCodeRow(rec, settings);
      if (r.ok && mode === 'replace' && r.row.action === 'delete') {
        return {
          ok: false,
          errors: [{ line: rec.line, column: 'action', value: 'delete', message: 'a replace file is the whole code list: leave out the codes to remove instead of marking them delete' }],
        };
      }
      return r;
    },
    keyOf,
    duplicate,
  );
  if (result.errorCount === 0 && result.rows === 0 && mode === 'replace') {
    result.errorCount = 1;
    result.errors.push({
      line: 1,
      column: '',
      value: '',
      message: 'a replace file with no rows would delete every code: to remove codes, upload a codes/ file with action=delete rows',
    });
  }
  return result;
}

/** A users file as the import would judge it. */
export function checkUsersFile(source: AsyncIterable<Uint8Array>, settings: Settings): Promise<LocalCheck> {
  return check(source, USER_COLUMNS, (rec) => validateUserRow(rec, settings), (row) => row.user.id, duplicateUserError);
}
