/**
 * Import reports (docs/data-model.md, "Imports"): one per object version applied or rejected,
 * written to `results/<account>/<name>.<UTC timestamp>.json`. They are the account's audit trail.
 */
import type { RowError } from './csv-values.ts';

/** The report of docs/data-model.md, written to `results/<account>/<name>.<UTC timestamp>.json`. */
export interface ImportReport {
  readonly file: string;
  readonly versionId: string | null;
  readonly status: 'applied' | 'rejected';
  readonly mode: 'merge' | 'replace';
  readonly rows: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly errorCount: number;
  readonly errors: readonly RowError[];
  readonly startedAt: string;
  readonly finishedAt: string;
  /**
   * Who made the change: the name the CLI or the console uploaded it as, the uploader's AWS
   * principal from the event, or both (`alice via AWS:AIDA…`); `unknown` when neither is known.
   */
  readonly actor: string;
}

/** The object metadata the CLI and the console name the person making a change in (URI-encoded). */
export const ACTOR_METADATA = 'tollgate-actor';

/**
 * `20261121T223000.123Z` (ISO 8601 basic format): sorts by time, has no characters that
 * trouble file systems, and keeps two quick imports of the same name (two `codes add` in one
 * second) from overwriting each other's report.
 */
export function reportTimestamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '');
}

/** `20261121T223000123Z`: names the import files the CLI and the console write, so two never collide. */
export function fileStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[-:.]/g, '');
}

/** What every report of one import name starts with: `results/<account>/<name>.` */
export function reportPrefix(account: string, name: string): string {
  return `results/${account}/${name}.`;
}

export function reportKey(account: string, name: string, at: Date): string {
  return `${reportPrefix(account, name)}${reportTimestamp(at)}.json`;
}
