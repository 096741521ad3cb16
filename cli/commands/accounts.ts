/**
 * `tollgate accounts bind SID ACCOUNT`: the operator binds a Twilio Account SID to an account
 * (docs/security.md, "Tenancy"). Locally, where one person is operator and every tenant, a SID
 * nobody holds goes to the first account whose settings name it; this moves it. In AWS the
 * bindings live in the Twilio token secret, which only the operator can change.
 */
import { ACCOUNT_SID, ACCOUNT_SLUG } from '../../functions/core/identifiers.ts';
import { CliError, usageError } from '../io.ts';
import { TableWriter } from '../output.ts';
import { expectPositionals, parseCommand, withTarget, type Command } from './common.ts';

const bind: Command = {
  name: 'accounts bind',
  summary: "bind a Twilio Account SID to an account (the operator's decision)",
  help: `Usage: tollgate accounts bind SID ACCOUNT [--local]

Makes the calls of Twilio Account SID (AC followed by 32 hex digits) belong to ACCOUNT, taking
it from whichever account held it. ACCOUNT's settings.json should list the SID under
"twilioAccountSids"; the account that held it keeps its other SIDs.

Locally the first account whose settings name a free SID gets it; this command is how the
operator moves it. In AWS the operator binds SIDs in the Twilio token secret instead:
{ "AC…": { "account": "acme", "tokens": ["primary", "secondary"] } } — a tenant's settings
cannot name a SID that is not bound to it there.

Options:
  --local   the local stack running in $TOLLGATE_HOME (default: .tollgate)  [default]`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { local: { type: 'boolean' } });
    if (parsed === undefined) return 0;
    const [sid, account] = expectPositionals(this, parsed.positionals, ['SID', 'ACCOUNT']) as [string, string];
    if (!ACCOUNT_SID.test(sid)) throw usageError(`tollgate accounts bind: "${sid.slice(0, 40)}" is not a Twilio Account SID (AC followed by 32 hex digits)`);
    if (!ACCOUNT_SLUG.test(account)) throw usageError(`tollgate accounts bind: "${account.slice(0, 40)}" is not an account name (1-40 lower-case letters, digits or "-")`);
    return withTarget(io, { local: true }, async (target) => {
      if ((await target.stores.accounts.getSettings(account)) === undefined) {
        throw new CliError(`there is no account "${account}" in ${target.label}: upload imports/${account}/settings.json first`);
      }
      await target.stores.accounts.bindSid(sid, account);
      io.stdout.write(`Twilio Account SID ${sid} is now bound to account ${account}\n`);
      return 0;
    });
  },
};

const list: Command = {
  name: 'accounts list',
  summary: 'the accounts and the Twilio Account SIDs bound to them',
  help: `Usage: tollgate accounts list [--local]

Lists every account with the Twilio Account SIDs its settings name, and whether each is bound
to it — calls of a SID go to the account it is bound to, and to no other.`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { local: { type: 'boolean' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    return withTarget(io, { local: true }, async (target) => {
      const table = new TableWriter(io.stdout, ['ACCOUNT', 'TWILIO ACCOUNT SID', 'BOUND']);
      const accounts = await target.stores.accounts.listAccounts();
      for (const account of accounts) {
        const settings = await target.stores.accounts.getSettings(account);
        for (const sid of settings?.twilioAccountSids ?? []) {
          const owner = await target.stores.accounts.accountForSid(sid);
          table.row([account, sid, owner === account ? 'yes' : owner === undefined ? 'no: nobody holds it' : 'no: another account holds it']);
        }
      }
      table.end();
      if (accounts.length === 0) io.stdout.write(`there are no accounts in ${target.label} yet: apply a settings file with tollgate settings apply FILE\n`);
      return 0;
    });
  },
};

export const accountsCommands = [bind, list] as const;
