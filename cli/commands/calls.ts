/** `tollgate calls show` and `tollgate calls tag` (docs/data-model.md, docs/call-flow.md): one usage record, read or tagged after the call. */
import { normalizeIdentity } from '../../functions/core/codes.ts';
import { isIsoDate, toLocalIso } from '../../functions/core/time.ts';
import { USAGE_COLUMNS, usageValues, type UsageRecord } from '../../functions/core/usage.ts';
import { tagCall } from '../../functions/services/tagging.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { localEvents } from '../../local/events.ts';
import { CliError, usageError } from '../io.ts';
import { plural, TableWriter } from '../output.ts';
import { accountSettings, TARGET_HELP, TARGET_OPTIONS, type Target } from '../target.ts';
import { expectPositionals, flag, osUser, parseCommand, requireIdentity, str, targetFlags, withAccount, withTarget, type Command } from './common.ts';

const CALL_SID = /^CA[0-9a-f]{32}$/i;
// Values come from Twilio's form posts; a terminal must not run escape sequences in them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function printable(v: string): string {
  return v.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function checkSid(command: { readonly name: string }, sid: string): void {
  if (!CALL_SID.test(sid)) throw usageError(`tollgate ${command.name}: "${printable(sid)}" is not a Call SID (CA followed by 32 hex digits)`);
}

/** The record and its account, checked against --account when given. */
async function loadCall(target: Target, sid: string, account: string | undefined): Promise<{ record: UsageRecord; revision: number; timeZone: string }> {
  const stored = await target.stores.calls.get(sid);
  if (stored === undefined) throw new CliError(`there is no call ${sid} in ${target.label} (or its record has expired)`);
  const record = stored.state as UsageRecord;
  if (account !== undefined && account !== record.account) throw new CliError(`call ${sid} belongs to account ${record.account}, not ${account}`);
  const settings = await target.stores.accounts.getSettings(record.account);
  return { record, revision: stored.revision, timeZone: settings?.timeZone ?? 'UTC' };
}

/** A record as `name  value` lines: the usage columns, then what else the record keeps. */
export function formatCall(record: UsageRecord, revision: number, timeZone: string): string {
  const values = usageValues(record, timeZone);
  const rows: [string, string][] = USAGE_COLUMNS.map((c, i) => [c, values[i] ?? '']);
  const at = (iso: string | undefined) => (iso === undefined ? '' : toLocalIso(new Date(iso), timeZone));
  const extra: [string, string | undefined][] = [
    ['code_ref', record.codeKind === 'authorization' ? `${record.codeRef ?? ''} (an authorization code; its digits are never kept)` : undefined],
    ['tagged_by', record.taggedBy],
    ['tagged_at', record.taggedAt === undefined ? undefined : at(record.taggedAt)],
    ['treatment', record.treatment],
    ['group', record.group],
    ['phase', record.phase === 'ended' ? undefined : `${record.phase} (the call has not ended)`],
    ['revision', String(revision)],
  ];
  for (const [k, v] of extra) if (v !== undefined && v !== '') rows.push([k, v]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${printable(v)}`.trimEnd()).join('\n')}\n`;
}

const show: Command = {
  name: 'calls show',
  summary: 'print the usage record of a call',
  help: `Usage: tollgate calls show CALLSID [--json] [--account NAME] [--local]

Prints a call's usage record: the columns of the usage file (times in the account's time
zone), then who tagged it after the call, if anyone, and the call's treatment and group.

Options:
  --json   the stored record as JSON instead

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, json: { type: 'boolean' } });
    if (parsed === undefined) return 0;
    const [sid] = expectPositionals(this, parsed.positionals, ['CALLSID']) as [string];
    checkSid(this, sid);
    return withTarget(io, targetFlags(parsed.values), async (target) => {
      const { record, revision, timeZone } = await loadCall(target, sid, str(parsed.values, 'account'));
      if (flag(parsed.values, 'json')) io.stdout.write(`${JSON.stringify({ ...record, revision }, null, 2)}\n`);
      else io.stdout.write(formatCall(record, revision, timeZone));
      return 0;
    });
  },
};

const MAX_BY = 100;

const tag: Command = {
  name: 'calls tag',
  summary: 'give an ended call an account code after the fact',
  help: `Usage: tollgate calls tag CALLSID CODE [--by NAME] [--account NAME] [--local]

Tags an ended call with an account code, as if the caller had entered it: code_status becomes
"tagged" and the record keeps who tagged it and when. The code is checked as the account's
settings require for that call — the code length, and, unless the call's policy has
validate: false, that the code exists, is enabled, had not expired on the day of the call and
is allowed for the call's user or group.

Only account codes tag calls. A call that went through on an authorization code keeps it: that
is the record of who authorized it.

The day's usage file is written again by the next hourly export (or at once with
tollgate usage export --date DAY).

Options:
  --by NAME   who tags, for the record (default: your user name, ${'"'}$USER${'"'})

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, by: { type: 'string' } });
    if (parsed === undefined) return 0;
    const [sid, code] = expectPositionals(this, parsed.positionals, ['CALLSID', 'CODE']) as [string, string];
    checkSid(this, sid);
    const by = str(parsed.values, 'by') ?? osUser(io);
    if (by.trim() === '' || by.length > MAX_BY || /[\u0000-\u001f\u007f-\u009f]/.test(by)) {
      throw usageError(`--by: give a name of 1 to ${MAX_BY} printable characters`);
    }
    return withTarget(io, targetFlags(parsed.values), async (target) => {
      const { timeZone } = await loadCall(target, sid, str(parsed.values, 'account'));
      // Locally the retag is published from here (events.log and the webhooks, one try each: the
      // CLI does not stay to retry); in AWS the calls table's stream publishes it.
      const events = target.info.kind === 'local' ? localEvents({ home: target.info.home, log: silentLogger, giveUpAfterMs: 0 }) : undefined;
      const deps = { calls: target.stores.calls, codes: target.stores.codes, accounts: target.stores.accounts, exports: target.stores.exports, now: () => new Date() };
      const result = await tagCall(events === undefined ? deps : { ...deps, events }, sid, code.trim(), by.trim());
      await events?.idle();
      if (!result.ok) throw new CliError(`cannot tag call ${sid}: ${result.message}`);
      const r = result.record;
      const named = r.codeDescription === undefined ? '' : ` (${printable(r.codeDescription)})`;
      if (!result.changed) {
        io.stdout.write(`call ${sid} already carries account code ${r.code}${named}: nothing changed\n`);
        return 0;
      }
      const p = result.previous;
      const before = p.code !== undefined && p.codeKind === 'account' ? `account code ${p.code} (code_status ${p.codeStatus})` : `no code (code_status ${p.codeStatus})`;
      io.stdout.write(`tagged call ${sid} with account code ${r.code}${named}; it had ${before}\n`);
      io.stdout.write(`tagged by ${printable(r.taggedBy ?? '')} at ${toLocalIso(new Date(r.taggedAt ?? Date.now()), timeZone)}\n`);
      io.stdout.write(`the usage file of ${result.day} is written again by the next hourly export (now: tollgate usage export --date ${result.day})\n`);
      return 0;
    });
  },
};

const list: Command = {
  name: 'calls list',
  summary: "one day's calls of an account, optionally of one user or code",
  help: `Usage: tollgate calls list --date YYYY-MM-DD [--user ID] [--code CODE] [--account NAME] [--local]

Lists the calls that started on a local day (the account's time zone), in start order: when,
who, where to, the class, the code and how it was come by, the outcome and the talk time.
The usage file of the day has every column; tollgate calls show CALLSID has one call.

Options:
  --date DAY    the local day (required)
  --user ID     only this caller: client:alice, sip:alice@acme.sip.twilio.com or +14155550123
  --code CODE   only calls tagged with this account code

${TARGET_HELP}`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, date: { type: 'string' }, user: { type: 'string' }, code: { type: 'string' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const day = str(parsed.values, 'date');
    if (day === undefined) throw usageError('tollgate calls list: --date is missing (the local day, YYYY-MM-DD)');
    if (!isIsoDate(day)) throw usageError(`--date "${printable(day)}": give a day as YYYY-MM-DD`);
    const userText = str(parsed.values, 'user');
    const user = userText === undefined ? undefined : normalizeIdentity(requireIdentity(this, userText));
    const code = str(parsed.values, 'code');
    return withAccount(io, parsed.values, async (target, account) => {
      const { timeZone } = await accountSettings(target, account);
      const table = new TableWriter(io.stdout, ['STARTED', 'USER', 'DESTINATION', 'CLASS', 'CODE', 'STATUS', 'OUTCOME', 'TALK', 'CALL']);
      let count = 0;
      for await (const { state } of target.stores.calls.callsOfDay(account, day)) {
        if (user !== undefined && state.user !== user) continue;
        if (code !== undefined && !(state.codeKind === 'account' && state.code === code)) continue;
        count++;
        const codeText = state.codeKind === 'authorization' ? `(authorization ${state.codeRef ?? ''})` : (state.code ?? '');
        table.row([
          toLocalIso(new Date(state.startedAt), timeZone),
          printable(state.user),
          printable(state.destination),
          state.destinationClass,
          printable(codeText),
          state.codeStatus,
          state.outcome ?? '(in progress)',
          state.talkS === undefined ? '' : `${state.talkS} s`,
          state.callSid,
        ]);
      }
      table.end();
      io.stdout.write(`${count === 0 ? 'no calls' : plural(count, 'call')} in ${account} on ${day}\n`);
      return 0;
    });
  },
};

export const callsCommands = [show, tag, list] as const;
