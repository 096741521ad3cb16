/** `tollgate users import` (SPEC §8). */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { checkUsersFile } from '../../functions/services/import-check.ts';
import { accountSettings, resolveAccount, TARGET_HELP, TARGET_OPTIONS } from '../target.ts';
import { importKey, printReport, uploadAndWait } from '../transfer.ts';
import { printCheck } from './codes.ts';
import { CHANGE_OPTIONS, changeOptions, expectPositionals, fileError, flag, parseCommand, str, targetFlags, userPath, withTarget, type Command } from './common.ts';

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
    return withTarget(io, targetFlags(parsed.values), async (target) => {
      const account = await resolveAccount(target, str(parsed.values, 'account'));
      if (flag(parsed.values, 'dry-run')) {
        const result = await checkUsersFile(createReadStream(path), await accountSettings(target, account));
        return printCheck(io, file, account, 'merge', result);
      }
      const report = await uploadAndWait(io, target, importKey(account, 'users', file), { file: path, contentType: 'text/csv' }, changeOptions(io, parsed.values));
      return printReport(io, target, report);
    });
  },
};

export const usersCommands = [importCmd] as const;
