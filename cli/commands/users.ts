/** `tollgate users import` (docs/data-model.md). */
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { csvLine, UTF8_BOM } from '../../functions/core/csv-write.ts';
import { USER_EXPORT_COLUMNS, userExportRow } from '../../functions/core/user-rows.ts';
import { checkUsersFile } from '../../functions/services/import-check.ts';
import { plural, TableWriter } from '../output.ts';
import { accountSettings, TARGET_HELP, TARGET_OPTIONS } from '../target.ts';
import { importKey, printReport, uploadAndWait } from '../transfer.ts';
import { printCheck } from './codes.ts';
import { accountOnly, CHANGE_OPTIONS, changeOptions, expectPositionals, fileError, flag, parseCommand, str, userPath, withAccount, type Command } from './common.ts';

const importCmd: Command = {
  name: 'users import',
  summary: 'merge a users CSV file into an account',
  help: `Usage: tollgate users import FILE [--dry-run] [--account NAME] [--local]

Uploads FILE to imports/<account>/users/ and waits for the import report. Users are added
or updated; rows with action=delete are removed. The whole file is checked first.

Columns (any order, any case; only user is required):
  user (client:alice | sip:bob@acme.sip.twilio.com | +14155550123), name, group, caller_id,
  max_attempts, proceed_after_max_attempts, validate, default, <call class>… (a treatment:
  free, optional, required, authorized, blocked), action (upsert|delete)

Options:
  --dry-run        check the file here against the account's settings; upload nothing
  --timeout SECS   how long to wait for the report

${TARGET_HELP}

Exit status: 0 applied (or valid, with --dry-run), 1 rejected, 2 usage error.`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, 'dry-run': { type: 'boolean' }, ...CHANGE_OPTIONS });
    if (parsed === undefined) return 0;
    const [file] = expectPositionals(this, parsed.positionals, ['FILE']) as [string];
    const path = userPath(io, file);
    try {
      if ((await stat(path)).isDirectory()) throw Object.assign(new Error('folder'), { code: 'EISDIR' });
    } catch (err) {
      throw fileError(file, err);
    }
    return withAccount(io, parsed.values, async (target, account) => {
      if (flag(parsed.values, 'dry-run')) {
        const result = await checkUsersFile(createReadStream(path), await accountSettings(target, account));
        return printCheck(io, file, account, 'merge', result);
      }
      const report = await uploadAndWait(io, target, importKey(account, 'users', file), { file: path, contentType: 'text/csv' }, changeOptions(io, parsed.values));
      return printReport(io, target, report);
    });
  },
};

const list: Command = {
  name: 'users list',
  summary: "print an account's users as a table",
  help: `Usage: tollgate users list [--account NAME] [--local | --stack NAME]

Prints the users of the account (from its users files): identity, name, group and caller ID,
and the treatments they override. Callers not listed are members of defaultGroup.

${TARGET_HELP}`,
  async run(args, io) {
    return accountOnly(this, args, io, async (target, account) => {
      const table = new TableWriter(io.stdout, ['USER', 'NAME', 'GROUP', 'CALLER ID', 'OVERRIDES']);
      let count = 0;
      for await (const u of target.stores.users.listUsers(account)) {
        count++;
        const overrides = Object.entries(u.calls ?? {}).map(([c, t]) => `${c}=${t}`);
        if (u.maxAttempts !== undefined) overrides.push(`max_attempts=${u.maxAttempts}`);
        table.row([u.id, u.name ?? '', u.group ?? '(default group)', u.callerId ?? '', overrides.join(' ')]);
      }
      table.end();
      io.stdout.write(count === 0 ? `${account} has no users listed: add them with tollgate users import FILE\n` : `${plural(count, 'user')} in ${account}\n`);
      return 0;
    });
  },
};

const exportCmd: Command = {
  name: 'users export',
  summary: "write an account's users as CSV (imports back as it is)",
  help: `Usage: tollgate users export [--out FILE] [--account NAME] [--local | --stack NAME]

Writes the account's users as a users file — UTF-8 with a BOM, CRLF — to FILE, or to the
terminal. Edit it and import it again with tollgate users import.

Columns: ${USER_EXPORT_COLUMNS.join(',')}

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, out: { type: 'string' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const out = str(parsed.values, 'out');
    return withAccount(io, parsed.values, async (target, account) => {
      let text = UTF8_BOM + csvLine(USER_EXPORT_COLUMNS, { formulaSafe: true });
      let count = 0;
      for await (const u of target.stores.users.listUsers(account)) {
        text += csvLine(userExportRow(u), { formulaSafe: true });
        count++;
      }
      if (out === undefined) {
        io.stdout.write(text);
        return 0;
      }
      await writeFile(userPath(io, out), text);
      io.stderr.write(`wrote ${plural(count, 'user')} of ${account} to ${out}\n`);
      return 0;
    });
  },
};

export const usersCommands = [importCmd, list, exportCmd] as const;
