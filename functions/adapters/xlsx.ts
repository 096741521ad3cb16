/**
 * The `.xlsx` twin of a usage file: the same columns and rows as the CSV, with typed cells, so
 * it opens right in Excel, LibreOffice and Numbers without an import dialog — times as dates
 * (the account's wall-clock time, as the CSV shows it), durations and counts as numbers, codes
 * as text (leading zeros kept). Written streaming (exceljs' WorkbookWriter, no shared strings),
 * so a month of a million calls passes through a bounded amount of memory.
 *
 * A text cell is never a formula, whatever it starts with: the CSV's formula guard (a leading
 * `'`) is not needed, and not added.
 */
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';

import type { CellKind } from '../core/usage.ts';

export interface SheetColumn {
  readonly header: string;
  readonly kind: CellKind;
}

const TIME_FORMAT = 'yyyy-mm-dd hh:mm:ss';
/** `2026-06-02T10:00:00-04:00`: the local time and its offset, as the CSV writes it. */
const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[+-]\d{2}:\d{2}|Z)$/;

/**
 * An xlsx file of one sheet, as bytes, from rows of CSV values (before quoting). The file is
 * produced while it is read; a failure ends the stream with the error.
 */
export function xlsxFile(sheetName: string, columns: readonly SheetColumn[], rows: AsyncIterable<readonly string[]>): AsyncIterable<Uint8Array> {
  const out = new PassThrough();
  void (async () => {
    const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    // Fixed dates: the same rows make the same sheet, whenever it is written.
    book.created = new Date(0);
    book.modified = new Date(0);
    const sheet = book.addWorksheet(sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = columns.map((c) => ({
      header: c.header,
      key: c.header,
      width: c.kind === 'time' ? 20 : c.kind === 'number' ? 12 : Math.max(12, c.header.length + 2),
      ...(c.kind === 'time' ? { style: { numFmt: TIME_FORMAT } } : c.kind === 'text' ? { style: { numFmt: '@' } } : {}),
    }));
    sheet.getRow(1).font = { bold: true };
    sheet.getRow(1).commit();
    for await (const values of rows) sheet.addRow(columns.map((c, i) => cellValue(c.kind, values[i] ?? ''))).commit();
    sheet.commit();
    await book.commit();
  })().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return out;
}

/** One value typed for its column; an empty value is an empty cell. */
export function cellValue(kind: CellKind, value: string): string | number | Date | null {
  if (value === '') return null;
  if (kind === 'number') {
    const n = Number(value);
    return Number.isFinite(n) ? n : value;
  }
  if (kind === 'time') {
    const m = LOCAL_ISO.exec(value);
    // The wall-clock time the CSV shows: a spreadsheet has no time zones.
    return m === null ? value : new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  return value;
}
