/**
 * `tollgate codes import | export | list | add | delete | reindex` (docs/data-model.md, docs/call-flow.md). Changes are import
 * files uploaded to the bucket; reads (`list`, `export`) come straight from the code store.
 * The digits of an authorization code are never printed: listings and exports show its `ref`.
 */
import { EXPORT_COLUMNS } from '../../functions/core/code-rows.ts';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { codeChangeFile, codeExportRow, codeSearch, validateCodeRow } from '../../functions/core/code-rows.ts';
import { CODE_LENGTH_MAX, CODE_LENGTH_MIN } from '../../functions/core/settings.ts';
import type { CodeItem } from '../../functions/core/ports.ts';
import { csvLine, UTF8_BOM } from '../../functions/core/csv-write.ts';
import { CliError, confirm, readSecret, usageError, type CliIo, type OutStream } from '../io.ts';
import { checkCodesFile } from '../../functions/services/import-check.ts';
import { formatRowError, plural, StatusLine, TableWriter } from '../output.ts';
import { accountSettings, TARGET_HELP, TARGET_OPTIONS, type Target } from '../target.ts';
import { fileStamp, importKey, printReport, uploadAndWait } from '../transfer.ts';
import { accountOnly, CHANGE_OPTIONS, changeOptions, expectPositionals, fileError, flag, parseCommand, str, userPath, withAccount, type Command } from './common.ts';

export { EXPORT_COLUMNS };

/** How a listing names a code: its digits, or for an authorization code only its ref. */
export function codeLabel(item: CodeItem): string {
  return item.kind === 'authorization' ? `(authorization, ref ${item.ref ?? '?'})` : (item.code ?? '?');
}

const importCmd: Command = {
  name: 'codes import',
  summary: 'merge (or --replace) a codes CSV file into an account',
  help: `Usage: tollgate codes import FILE [--replace] [--dry-run] [--account NAME] [--local]

Uploads FILE to imports/<account>/codes/ (merge: rows are added or updated, rows with
action=delete are removed) or with --replace to imports/<account>/codes-replace/ (the file
becomes the whole code list), then waits for the import report and prints it. The whole file
is checked before anything changes: one bad row rejects it.

Columns (any order, any case; only code is required):
  code, description, kind (account|authorization), enabled, expires (YYYY-MM-DD),
  level (0-255, authorization only), users, groups, caller_ids (lists separated by ;),
  action (upsert|delete)

Options:
  --replace        the file is the whole code list: stored codes it does not name are deleted
  --dry-run        check the file here against the account's settings; upload nothing
  --timeout SECS   give up waiting for the report after SECS (default: wait while the
                   stack is importing the file)

${TARGET_HELP}

Exit status: 0 applied (or valid, with --dry-run), 1 rejected, 2 usage error.`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, {
      ...TARGET_OPTIONS,
      replace: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      ...CHANGE_OPTIONS,
    });
    if (parsed === undefined) return 0;
    const [file] = expectPositionals(this, parsed.positionals, ['FILE']) as [string];
    const path = userPath(io, file);
    await assertFile(file, path);
    const mode = flag(parsed.values, 'replace') ? 'replace' : 'merge';
    return withAccount(io, parsed.values, async (target, account) => {
      if (flag(parsed.values, 'dry-run')) {
        const settings = await accountSettings(target, account);
        const result = await checkCodesFile(createReadStream(path), settings, mode);
        return printCheck(io, file, account, mode, result);
      }
      const key = importKey(account, mode === 'replace' ? 'codes-replace' : 'codes', file);
      const report = await uploadAndWait(io, target, key, { file: path, contentType: 'text/csv' }, changeOptions(io, parsed.values));
      return printReport(io, target, report);
    });
  },
};

/** The outcome of a dry run, worded like a report, and its exit code. */
export function printCheck(
  io: CliIo,
  file: string,
  account: string,
  mode: 'merge' | 'replace',
  result: { readonly rows: number; readonly errorCount: number; readonly errors: readonly Parameters<typeof formatRowError>[0][] },
): number {
  if (result.errorCount === 0) {
    io.stdout.write(`valid: ${file} (${mode}) for account ${account}: ${plural(result.rows, 'row')}; dry run, nothing was uploaded\n`);
    return 0;
  }
  const lines = [`rejected: ${file} (${mode}) for account ${account}: ${plural(result.rows, 'row')} read, ${plural(result.errorCount, 'error')}:`];
  for (const e of result.errors.slice(0, 50)) lines.push(`  ${formatRowError(e)}`);
  if (result.errorCount > 50) lines.push(`  … and ${(result.errorCount - 50).toLocaleString('en-US')} more`);
  lines.push('  dry run: nothing was uploaded');
  io.stdout.write(`${lines.join('\n')}\n`);
  return 1;
}

async function assertFile(file: string, path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw Object.assign(new Error('folder'), { code: 'EISDIR' });
  } catch (err) {
    throw fileError(file, err);
  }
}

const exportCmd: Command = {
  name: 'codes export',
  summary: "write an account's codes as CSV (authorization codes by ref only)",
  help: `Usage: tollgate codes export [--out FILE] [--account NAME] [--local]

Writes every code of the account as CSV to FILE, or to standard output:
  ${EXPORT_COLUMNS.join(',')}
UTF-8 with a byte-order mark, CRLF line ends, RFC 4180 quotes, so Excel opens it cleanly; a
value that a spreadsheet would run as a formula (starting with = + - @) gets a leading '.
Authorization codes have an empty code and their ref (the first 8 hex digits of the code's
keyed hash): their digits are not stored, so no export can show them.

Options:
  --out FILE   write to FILE instead of standard output

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, out: { type: 'string', short: 'o' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const outFile = str(parsed.values, 'out');
    return withAccount(io, parsed.values, async (target, account) => {
      const out: OutStream = outFile === undefined ? io.stdout : createWriteStream(userPath(io, outFile));
      const status = new StatusLine(io.stderr);
      const counts = { account: 0, authorization: 0 };
      try {
        await write(out, UTF8_BOM + csvLine(EXPORT_COLUMNS, { formulaSafe: true }));
        for await (const item of target.stores.codes.listCodes(account)) {
          counts[item.kind]++;
          await write(out, csvLine(codeExportRow(item), { formulaSafe: true }));
          if (outFile !== undefined && (counts.account + counts.authorization) % 1000 === 0) {
            status.set(`Exporting: ${plural(counts.account + counts.authorization, 'code')}`);
          }
        }
      } finally {
        status.clear();
        if (out !== io.stdout) {
          out.end();
          await once(out, 'close').catch(() => undefined);
        }
      }
      const total = counts.account + counts.authorization;
      const where = outFile === undefined ? '' : ` to ${outFile}`;
      io.stderr.write(`exported ${plural(total, 'code')} of ${account}${where} (${counts.account} account, ${counts.authorization} authorization)\n`);
      return 0;
    });
  },
};

/** Write with backpressure, so a million-code export to a slow pipe stays flat in memory. */
async function write(out: OutStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

function allowedFor(item: CodeItem): string {
  const parts = [...(item.users ?? []), ...(item.groups ?? []).map((g) => `group:${g}`)];
  return parts.length === 0 ? 'everyone' : parts.join(', ');
}

const list: Command = {
  name: 'codes list',
  summary: "print an account's codes as a table",
  help: `Usage: tollgate codes list [--kind account|authorization] [--search TEXT] [--account NAME] [--local]

Prints the account's codes in order: account codes by their digits, authorization codes as
"(authorization, ref XXXXXXXX)" — their digits are not stored.

Options:
  --kind KIND     only account codes, or only authorization codes
  --search TEXT   only codes whose digits (or an authorization code's ref) start with TEXT,
                  or whose description has a word starting each word of TEXT (any case,
                  accents ignored: "muller" finds "Müller")

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, kind: { type: 'string' }, search: { type: 'string' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const kind = str(parsed.values, 'kind');
    if (kind !== undefined && kind !== 'account' && kind !== 'authorization') throw usageError(`--kind "${kind}": use account or authorization`);
    const matches = codeSearch(str(parsed.values, 'search'));
    return withAccount(io, parsed.values, async (target, account) => {
      const table = new TableWriter(io.stdout, ['CODE', 'ENABLED', 'EXPIRES', 'LEVEL', 'ALLOWED', 'DESCRIPTION']);
      const counts = { account: 0, authorization: 0 };
      for await (const item of target.stores.codes.listCodes(account)) {
        if ((kind !== undefined && item.kind !== kind) || !matches(item)) continue;
        counts[item.kind]++;
        table.row([
          codeLabel(item),
          item.enabled ? 'yes' : 'no',
          item.expires ?? '',
          item.kind === 'authorization' ? String(item.level ?? 0) : '',
          allowedFor(item),
          item.description ?? '',
        ]);
      }
      table.end();
      const total = counts.account + counts.authorization;
      const filtered = kind !== undefined || str(parsed.values, 'search') !== undefined;
      io.stdout.write(
        total === 0 && filtered
          ? `no code of ${account} matches\n`
          : total === 0
            ? `${account} has no codes yet: add some with tollgate codes import FILE\n`
            : `${plural(total, 'code')} in ${account} (${counts.account} account, ${counts.authorization} authorization)\n`,
      );
      return 0;
    });
  },
};

const add: Command = {
  name: 'codes add',
  summary: 'add or replace one code',
  help: `Usage: tollgate codes add CODE [options] [--account NAME] [--local]
       tollgate codes add --kind authorization --level N [options]   (asks for the code)

Writes a one-row import file (imports/<account>/codes/cli-add-<time>.csv), so the change is
checked like any import and kept in the bucket, and waits for its report. A code that exists
is replaced by this row.

For an authorization code, leave CODE out: it is asked for without echo (or read from
standard input), so its digits stay out of your shell history. They are never printed.

Options:
  --description TEXT      up to 100 characters (client, matter, purpose)
  --kind account|authorization   (default account)
  --level N               0-255, authorization codes only
  --users A;B             only these users may use it (client:…, sip:…, +E.164)
  --groups G;H            only members of these groups may use it
  --expires YYYY-MM-DD    last valid day, in the account's time zone
  --caller-ids +1…;+1…    inbound calls from these numbers are tagged with it
  --disabled              store it disabled
  --timeout SECS          how long to wait for the report

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, {
      ...TARGET_OPTIONS,
      description: { type: 'string' },
      kind: { type: 'string' },
      level: { type: 'string' },
      users: { type: 'string' },
      groups: { type: 'string' },
      expires: { type: 'string' },
      'caller-ids': { type: 'string' },
      disabled: { type: 'boolean' },
      ...CHANGE_OPTIONS,
    });
    if (parsed === undefined) return 0;
    const v = parsed.values;
    const kindText = str(v, 'kind') ?? 'account';
    const secret = /^auth/i.test(kindText.trim());
    if (parsed.positionals.length > 1) throw usageError(`tollgate codes add: one code at a time (see tollgate codes add --help)`);
    let code = parsed.positionals[0];
    if (code === undefined || code === '-') {
      if (!secret) throw usageError('tollgate codes add: CODE is missing (see tollgate codes add --help)');
    } else if (secret) {
      io.stderr.write('note: an authorization code given on the command line stays in your shell history; leave it out to be asked for it\n');
    }
    return withAccount(io, v, async (target, account) => {
      const settings = await accountSettings(target, account);
      if (code === undefined || code === '-') code = await readSecret(io, 'Authorization code: ');
      const fields: Record<string, string> = {
        code,
        description: str(v, 'description') ?? '',
        kind: kindText,
        enabled: flag(v, 'disabled') ? 'false' : 'true',
        expires: str(v, 'expires') ?? '',
        level: str(v, 'level') ?? '',
        users: str(v, 'users') ?? '',
        groups: str(v, 'groups') ?? '',
        caller_ids: str(v, 'caller-ids') ?? '',
      };
      // The same rules the import applies, here first, so a typo costs no upload.
      const checked = validateCodeRow({ line: 2, fields }, settings);
      if (!checked.ok) {
        const option = (column: string): string => (column === 'code' ? 'CODE' : `--${column.replace('_', '-')}`);
        const lines = checked.errors.map((e) => `  ${option(e.column)}: ${e.message}${e.value !== '' ? ` (${e.value})` : ''}`);
        io.stdout.write(`not added: the code is not valid for ${account}:\n${lines.join('\n')}\n`);
        return 1;
      }
      const body = codeChangeFile([fields]);
      const key = `imports/${account}/codes/cli-add-${fileStamp()}.csv`;
      const result = await uploadAndWait(io, target, key, { body, contentType: 'text/csv' }, changeOptions(io, v));
      const exit = printReport(io, target, result);
      if (exit === 0) {
        const r = result.report;
        const what = checked.row.kind === 'authorization' ? 'authorization code (its digits are not shown or stored)' : `code ${checked.row.code}`;
        const how = r.created > 0 ? 'added to' : r.updated > 0 ? 'updated in' : 'already as given in';
        io.stdout.write(`${what} ${how} ${account}\n`);
      }
      return exit;
    });
  },
};

const del: Command = {
  name: 'codes delete',
  summary: 'delete codes (asks for confirmation)',
  help: `Usage: tollgate codes delete CODE... [--yes] [--account NAME] [--local]

Writes an import file of action=delete rows (imports/<account>/codes/cli-delete-<time>.csv)
and waits for its report. Asks "Delete N codes from <account>? [y/N]" first; without a
terminal, --yes is required. Codes that do not exist are counted, not an error.

Options:
  --yes            do not ask
  --timeout SECS   how long to wait for the report

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, yes: { type: 'boolean', short: 'y' }, ...CHANGE_OPTIONS });
    if (parsed === undefined) return 0;
    const codes = [...new Set(parsed.positionals.map((c) => c.trim()))];
    if (codes.length === 0) throw usageError('tollgate codes delete: name at least one CODE (see tollgate codes delete --help)');
    const bad = codes.filter((c) => !new RegExp(`^[0-9]{${CODE_LENGTH_MIN},${CODE_LENGTH_MAX}}$`).test(c));
    if (bad.length > 0) {
      throw usageError(
        `tollgate codes delete: ${plural(bad.length, 'argument')} ${bad.length === 1 ? 'is' : 'are'} not a code (${CODE_LENGTH_MIN}-${CODE_LENGTH_MAX} digits, leading zeros kept)`,
      );
    }
    return withAccount(io, parsed.values, async (target: Target, account) => {
      if (!flag(parsed.values, 'yes')) {
        if (io.stdin.isTTY !== true) {
          throw new CliError(`refusing to delete ${plural(codes.length, 'code')} from ${account} without confirmation: there is no terminal to ask on; add --yes`);
        }
        if (!(await confirm(io, `Delete ${plural(codes.length, 'code')} from ${account}?`))) {
          io.stderr.write('nothing was deleted\n');
          return 1;
        }
      }
      const body = codeChangeFile(codes.map((code) => ({ code, action: 'delete' })));
      const key = `imports/${account}/codes/cli-delete-${fileStamp()}.csv`;
      const result = await uploadAndWait(io, target, key, { body, contentType: 'text/csv' }, changeOptions(io, parsed.values));
      const exit = printReport(io, target, result);
      if (exit === 0) {
        const missing = result.report.unchanged;
        io.stdout.write(`deleted ${plural(result.report.deleted, 'code')} from ${account}${missing > 0 ? `; ${missing} ${missing === 1 ? 'was' : 'were'} not there` : ''}\n`);
      }
      return exit;
    });
  },
};

const reindex: Command = {
  name: 'codes reindex',
  summary: "rebuild the console's description index; make the next imports read every row",
  help: `Usage: tollgate codes reindex [--account NAME] [--local]

Writes the console's description word index entry for every code of the account, and moves
the account's codes generation on, so the next upload of each codes file reads every row
instead of trusting the last one it applied. Both follow every change on their own: run this
once for codes written before the index existed, or after restoring the codes table from a
backup. Safe to repeat; searches and imports keep working while it runs.

${TARGET_HELP}`,
  async run(args, io) {
    return accountOnly(this, args, io, async (target, account) => {
      const count = await target.stores.codeWords.rebuild(account, target.stores.codes.listCodes(account));
      await target.stores.ledger.advanceCodesGeneration(account, undefined, true);
      io.stdout.write(`indexed the description words of ${plural(count, 'code')} in ${account}\n`);
      return 0;
    });
  },
};

export const codesCommands: readonly Command[] = [importCmd, exportCmd, list, add, del, reindex];
