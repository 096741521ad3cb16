/** `tollgate usage export` and `tollgate usage download` (docs/data-model.md, docs/call-flow.md). */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { readObject } from '../../functions/adapters/s3/client.ts';
import { s3ExportFiles } from '../../functions/adapters/s3/export-files.ts';
import { isIsoDate, localDate } from '../../functions/core/time.ts';
import { daysOfMonth, isMonth, lastDueDay, usageMonthPrefix } from '../../functions/core/usage.ts';
import { exportDays, ExportLockedError, type ExporterDeps, type WrittenFile } from '../../functions/services/exporter.ts';
import type { Logger } from '../../functions/services/logger.ts';
import { CliError, usageError, type CliIo } from '../io.ts';
import { formatBytes, plural, StatusLine } from '../output.ts';
import { accountSettings, resolveAccount, TARGET_HELP, TARGET_OPTIONS, type Target } from '../target.ts';
import { expectPositionals, flag, osUser, parseCommand, str, targetFlags, userPath, withTarget, type Command } from './common.ts';
import { xlsxFile } from '../../functions/adapters/xlsx.ts';

export { osUser };

/** Exporter dependencies over the target, with progress on the status line. */
function exporterDeps(io: CliIo, target: Target, status: StatusLine): ExporterDeps {
  const log: Logger = {
    debug() {},
    info(message, fields) {
      if (typeof fields?.key === 'string') status.set(`${message}: ${basename(fields.key)}`);
    },
    warn(message) {
      io.stderr.write(`tollgate: ${message}\n`);
    },
    error() {},
  };
  return {
    accounts: target.stores.accounts,
    usage: target.stores.calls,
    ledger: target.stores.exports,
    lock: target.stores.exports,
    files: s3ExportFiles(target.s3, target.bucket),
    spreadsheet: xlsxFile,
    now: () => new Date(),
    log,
    owner: `cli:${osUser(io)}@${hostname()}#${process.pid}`,
  };
}

const exportCmd: Command = {
  name: 'usage export',
  summary: 'write the usage file of a day or a month now, and the month summary',
  help: `Usage: tollgate usage export --date YYYY-MM-DD | --month YYYY-MM [--account NAME] [--local]

Writes the usage file of a day, or of every day of a month up to today, and the month's
summary, now — whether or not the hourly export has written them already — and says what it
wrote. Days are local days in the account's time zone.

  exports/<account>/usage/YYYY/MM/usage-YYYY-MM-DD.csv   one row per call that started that day
  exports/<account>/usage/YYYY/MM/summary-YYYY-MM.csv    one row per code, month to date

The hourly export writes each day once it ended exportDelayMinutes ago (settings), and writes
it again when its records change (late callbacks, tollgate calls tag). A day that has not
ended yet can be written too: the hourly export writes it again once it has.

Options:
  --date YYYY-MM-DD   one day
  --month YYYY-MM     every day of the month so far

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, date: { type: 'string' }, month: { type: 'string' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const date = str(parsed.values, 'date');
    const month = str(parsed.values, 'month');
    if ((date === undefined) === (month === undefined)) throw usageError(`tollgate ${this.name}: give --date YYYY-MM-DD or --month YYYY-MM (see tollgate ${this.name} --help)`);
    if (date !== undefined && !isIsoDate(date)) throw usageError(`--date "${date}" is not a date: use YYYY-MM-DD, e.g. 2026-03-08`);
    if (month !== undefined && !isMonth(month)) throw usageError(`--month "${month}" is not a month: use YYYY-MM, e.g. 2026-03`);
    return withTarget(io, targetFlags(parsed.values), async (target) => {
      const account = await resolveAccount(target, str(parsed.values, 'account'));
      const settings = await accountSettings(target, account);
      const now = new Date();
      const today = localDate(now, settings.timeZone);
      const days = date !== undefined ? [date] : daysOfMonth(month as string).filter((d) => d <= today);
      if (days.length === 0 || (days[0] as string) > today) {
        throw new CliError(`${date ?? month} has not begun yet in ${account}'s time zone (${settings.timeZone}; today is ${today} there): nothing to write`);
      }
      const status = new StatusLine(io.stderr);
      let files: WrittenFile[];
      try {
        status.set(`Writing ${plural(days.length, 'day')} of usage for ${account}…`);
        files = await exportDays(exporterDeps(io, target, status), account, days);
      } catch (err) {
        if (err instanceof ExportLockedError) throw new CliError(`${err.message} (the hourly export, or another tollgate usage export)`);
        throw err;
      } finally {
        status.clear();
      }
      for (const f of files) {
        const what = f.kind === 'usage' ? plural(f.rows, 'call') : `${plural(f.rows, 'row')}, month to date`;
        io.stdout.write(`wrote ${target.location(f.key)}  (${what}, ${formatBytes(f.bytes)})\n`);
      }
      const lastDue = lastDueDay(now, settings.timeZone, settings.exportDelayMinutes);
      const early = days.filter((d) => d > lastDue);
      if (early.length > 0) {
        const one = early.length === 1;
        io.stdout.write(
          `note: ${early.join(', ')} ${one ? 'is' : 'are'} not due yet (a day is due ${settings.exportDelayMinutes} minutes after it ends in ${settings.timeZone}): ` +
            `the hourly export writes ${one ? 'it' : 'them'} again once due\n`,
        );
      }
      return 0;
    });
  },
};

/** The usage files of a month in the bucket, by name. */
async function monthFiles(target: Target, account: string, month: string): Promise<{ key: string; name: string; size: number }[]> {
  const prefix = usageMonthPrefix(account, month);
  const files: { key: string; name: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const out = await target.s3.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
    for (const o of out.Contents ?? []) {
      const name = (o.Key ?? '').slice(prefix.length);
      if (/^(usage-\d{4}-\d{2}-\d{2}|summary-\d{4}-\d{2})\.csv$/.test(name)) files.push({ key: o.Key as string, name, size: o.Size ?? 0 });
    }
    token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  // Days in order, the summary last.
  return files.sort((a, b) => (a.name.startsWith('summary') ? 1 : 0) - (b.name.startsWith('summary') ? 1 : 0) || (a.name < b.name ? -1 : 1));
}

/** Presigned links are valid for at most 7 days (SigV4). */
const MAX_EXPIRES = 604_800;

const download: Command = {
  name: 'usage download',
  summary: "fetch a month's usage files and summary (or print links to them)",
  help: `Usage: tollgate usage download --month YYYY-MM [--out DIR] [--presign [--expires SECONDS]] [--account NAME] [--local]

Downloads the month's daily usage files and its summary from
exports/<account>/usage/YYYY/MM/ into DIR (default: usage-<account>-YYYY-MM), replacing
files of the same name there.

Options:
  --month YYYY-MM     the month
  --out DIR           where to put the files
  --presign           download nothing: print a link to each file, one a line, that anyone
                      holding it can open until it expires (finance, a browser, curl)
  --expires SECONDS   how long the links work (default 3600, at most 604800 = 7 days)

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, {
      ...TARGET_OPTIONS,
      month: { type: 'string' },
      out: { type: 'string', short: 'o' },
      presign: { type: 'boolean' },
      expires: { type: 'string' },
    });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const month = str(parsed.values, 'month');
    if (month === undefined) throw usageError(`tollgate ${this.name}: --month YYYY-MM is missing (see tollgate ${this.name} --help)`);
    if (!isMonth(month)) throw usageError(`--month "${month}" is not a month: use YYYY-MM, e.g. 2026-03`);
    const presign = flag(parsed.values, 'presign');
    const expiresText = str(parsed.values, 'expires');
    if (expiresText !== undefined && !presign) throw usageError('--expires goes with --presign');
    const expires = expiresText === undefined ? 3600 : /^[0-9]{1,7}$/.test(expiresText) ? Number(expiresText) : NaN;
    if (!(expires >= 1 && expires <= MAX_EXPIRES)) throw usageError(`--expires "${expiresText}": use a number of seconds from 1 to ${MAX_EXPIRES} (7 days)`);
    if (presign && str(parsed.values, 'out') !== undefined) throw usageError('--out and --presign do not go together: --presign downloads nothing');
    return withTarget(io, targetFlags(parsed.values), async (target) => {
      const account = await resolveAccount(target, str(parsed.values, 'account'));
      const files = await monthFiles(target, account, month);
      if (files.length === 0) {
        throw new CliError(
          `no usage files for ${month} in account ${account} yet: the export writes each day once it ended (exportDelayMinutes after midnight); write them now with tollgate usage export --month ${month}`,
        );
      }
      if (presign) {
        for (const f of files) {
          const url = await getSignedUrl(target.s3, new GetObjectCommand({ Bucket: target.bucket, Key: f.key }), { expiresIn: expires });
          io.stdout.write(`${url}\n`);
        }
        io.stderr.write(`${plural(files.length, 'link')} to the ${month} usage files of ${account}, valid until ${new Date(Date.now() + expires * 1000).toISOString()}\n`);
        return 0;
      }
      const dir = userPath(io, str(parsed.values, 'out') ?? `usage-${account}-${month}`);
      await mkdir(dir, { recursive: true });
      const status = new StatusLine(io.stderr);
      let bytes = 0;
      try {
        for (const f of files) {
          status.set(`Downloading ${f.name}…`);
          const path = join(dir, f.name);
          const part = `${path}.part`;
          try {
            await pipeline(await readObject(target.s3, target.bucket, f.key), createWriteStream(part));
            await rename(part, path);
          } catch (err) {
            await rm(part, { force: true });
            throw err;
          }
          bytes += f.size;
        }
      } finally {
        status.clear();
      }
      const shown = relative(io.cwd, dir) || '.';
      io.stdout.write(`downloaded ${plural(files.length, 'file')} (${formatBytes(bytes)}) of ${account}'s ${month} usage to ${shown.startsWith('..') ? dir : shown}/\n`);
      for (const f of files) io.stdout.write(`  ${f.name}\n`);
      return 0;
    });
  },
};

export const usageCommands = [exportCmd, download] as const;
