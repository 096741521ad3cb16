/**
 * `tollgate lockouts list | clear USER` and `tollgate audit [--since DAY]`: who is locked out
 * of code entry and unlocking them, and the account's audit trail — every change, who made
 * it, when and with what outcome (the reports under `results/<account>/`).
 */
import { listReports } from '../../functions/adapters/s3/change-door.ts';
import { putJson } from '../../functions/adapters/s3/client.ts';
import { ACCOUNT_THROTTLE } from '../../functions/core/lockout.ts';
import { isIsoDate, toLocalIso } from '../../functions/core/time.ts';
import type { ImportReport } from '../../functions/services/importer.ts';
import { clearLockout, listLockouts } from '../../functions/services/lockouts.ts';
import { usageError } from '../io.ts';
import { TableWriter } from '../output.ts';
import { accountSettings, TARGET_HELP, TARGET_OPTIONS } from '../target.ts';
import { CHANGE_HELP, CHANGE_OPTIONS, changeOptions, expectPositionals, flag, parseCommand, requireIdentity, str, withAccount, type Command } from './common.ts';

const list: Command = {
  name: 'lockouts list',
  summary: 'who is locked out of code entry, and until when',
  help: `Usage: tollgate lockouts list [--account NAME] [--local | --stack NAME]

Lists every caller whose code entry is locked now (too many wrong codes within the lockout
window), with the time the lock ends in the account's time zone, and the account-wide throttle
when it holds (too many wrong codes from anyone: callers not in the users list are locked).
Emergency calls and calls that need no code go through whatever this says.

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    return withAccount(io, parsed.values, async (target, account) => {
      const { timeZone } = await accountSettings(target, account);
      const entries = await listLockouts({ lockouts: target.stores.lockouts, now: () => new Date() }, account);
      if (entries.length === 0) {
        io.stdout.write(`nobody is locked out of code entry in ${account}\n`);
        return 0;
      }
      const table = new TableWriter(io.stdout, ['USER', 'LOCKED UNTIL']);
      for (const e of entries) table.row([e.accountWide ? 'account-wide (callers not in the users list)' : e.user, toLocalIso(new Date(e.lockedUntil), timeZone)]);
      table.end();
      return 0;
    });
  },
};

const clear: Command = {
  name: 'lockouts clear',
  summary: 'unlock a caller (or the account-wide throttle), audited',
  help: `Usage: tollgate lockouts clear USER [--as NAME] [--account NAME] [--local | --stack NAME]
       tollgate lockouts clear --account-wide [--as NAME] …

Unlocks code entry for USER — client:alice, sip:alice@acme.sip.twilio.com or +14155550123 —
and forgets their failed attempts; with --account-wide, lifts the account-wide throttle.
Each clear is written to the audit trail (tollgate audit): who cleared whom, and when.

Options:
  --account-wide   the account-wide throttle instead of one caller
${CHANGE_HELP}

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, ...CHANGE_OPTIONS, 'account-wide': { type: 'boolean' } });
    if (parsed === undefined) return 0;
    const accountWide = flag(parsed.values, 'account-wide');
    const user = accountWide ? ACCOUNT_THROTTLE : requireIdentity(this, (expectPositionals(this, parsed.positionals, ['USER']) as [string])[0]);
    if (accountWide) expectPositionals(this, parsed.positionals, []);
    const { actor } = changeOptions(io, parsed.values);
    return withAccount(io, parsed.values, async (target, account) => {
      const result = await clearLockout(
        { lockouts: target.stores.lockouts, writeReport: (key, report) => putJson(target.s3, target.bucket, key, report), now: () => new Date() },
        account,
        user,
        actor,
      );
      const who = accountWide ? 'the account-wide throttle' : result.user;
      io.stdout.write(result.cleared ? `unlocked ${who} in ${account}\n` : `${who} was not locked out in ${account}; failed attempts forgotten\n`);
      io.stdout.write(`audit: ${target.location(result.reportKey)}\n`);
      return 0;
    });
  },
};

const audit: Command = {
  name: 'audit',
  summary: "the account's changes: when, who, what, the outcome",
  help: `Usage: tollgate audit [--since YYYY-MM-DD] [--json] [--account NAME] [--local | --stack NAME]

Lists every change made to the account — settings, codes and users files, however they were
uploaded, and lockout clears — oldest first: when it was made (the account's time zone), who
made it (the name the CLI or console gave, or the uploader's AWS principal), what it changed
and the outcome. Read from the import reports under results/<account>/.

Options:
  --since DAY   only changes on or after this day (the account's time zone)
  --json        one JSON report per line instead

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, since: { type: 'string' }, json: { type: 'boolean' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const since = str(parsed.values, 'since');
    if (since !== undefined && !isIsoDate(since)) throw usageError(`--since "${since}": give a day as YYYY-MM-DD`);
    return withAccount(io, parsed.values, async (target, account) => {
      const { timeZone } = await accountSettings(target, account);
      const reports = (await listReports(target.s3, target.bucket, account)).filter(
        (r) => since === undefined || toLocalIso(new Date(r.startedAt), timeZone).slice(0, 10) >= since,
      );
      reports.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      if (flag(parsed.values, 'json')) {
        for (const r of reports) io.stdout.write(`${JSON.stringify(r)}\n`);
        return 0;
      }
      if (reports.length === 0) {
        io.stdout.write(`no changes in ${account}${since === undefined ? '' : ` since ${since}`}\n`);
        return 0;
      }
      const table = new TableWriter(io.stdout, ['WHEN', 'WHO', 'WHAT', 'OUTCOME']);
      for (const r of reports) table.row([toLocalIso(new Date(r.startedAt), timeZone), r.actor ?? 'unknown', r.file, outcome(r)]);
      table.end();
      return 0;
    });
  },
};

function outcome(r: ImportReport): string {
  if (r.status === 'rejected') return `rejected: ${r.errorCount} ${r.errorCount === 1 ? 'error' : 'errors'}`;
  const parts = (['created', 'updated', 'deleted', 'unchanged'] as const).filter((k) => r[k] > 0).map((k) => `${r[k]} ${k}`);
  return `applied${parts.length === 0 ? '' : `: ${parts.join(', ')}`}`;
}

export const adminCommands = [list, clear, audit] as const;
