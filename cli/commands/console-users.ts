/**
 * `tollgate console-users add | list`: who may sign in to the local stack's web console
 * (docs/console.md). Passwords are kept only as scrypt hashes in `$TOLLGATE_HOME/console-users.json`;
 * the stack reads the file at each sign-in, so a user added while it runs can sign in at once.
 * In AWS, console users live in the stack's Cognito user pool instead (README, "Deploy to AWS").
 */
import { ACCOUNT_SLUG } from '../../functions/core/identifiers.ts';
import { checkIdentity } from '../../functions/core/csv-values.ts';
import { addConsoleUser, consoleUserProblem, readConsoleUsers } from '../../local/console-users.ts';
import { readSecret, usageError } from '../io.ts';
import { TableWriter } from '../output.ts';
import { localHome } from '../target.ts';
import { expectPositionals, parseCommand, str, withAccount, type Command } from './common.ts';

const add: Command = {
  name: 'console-users add',
  summary: 'let someone sign in to the local web console',
  help: `Usage: tollgate console-users add EMAIL --role admin|finance|user [--identity ID] [--password P] [--account NAME]

Adds EMAIL as a console user of the account, or gives an existing one a new role or password.
  admin     everything in the account
  finance   reads codes, calls, reports and downloads; changes nothing
  user      their own calls (tagging their untagged ones) and the codes they may use;
            needs --identity, the identity they call from (client:alice, sip:…, +1…)

Without --password the password is asked for (twice, without echo): a password on the
command line stays in your shell history. At least 8 characters.

Options:
  --role ROLE        admin, finance or user
  --identity ID      a user's calling identity
  --password P       the password (asked for when left out)
  --account NAME     the account (default: the only account of the running local stack)`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { role: { type: 'string' }, identity: { type: 'string' }, password: { type: 'string' }, account: { type: 'string' } });
    if (parsed === undefined) return 0;
    const [email] = expectPositionals(this, parsed.positionals, ['EMAIL']) as [string];
    const role = str(parsed.values, 'role') ?? '';
    if (role === '') throw usageError('tollgate console-users add: --role is missing: admin, finance or user');
    const identityText = str(parsed.values, 'identity');
    const identity = identityText === undefined ? undefined : checkIdentity(identityText);
    if (identity !== undefined && !identity.ok) throw usageError(`--identity "${identityText}": ${identity.message}`);
    const early = consoleUserProblem({ email, role, identity: identity?.value, password: 'placeholder' });
    if (early !== undefined) throw usageError(`tollgate console-users add: ${early}`);
    let password = str(parsed.values, 'password');
    if (password === undefined) {
      password = await readSecret(io, 'Password: ');
      if (io.stdin.isTTY === true && (await readSecret(io, 'Password again: ')) !== password) throw usageError('the two passwords differ: nothing was changed');
    }
    const problem = consoleUserProblem({ email, role, identity: identity?.value, password });
    if (problem !== undefined) throw usageError(`tollgate console-users add: ${problem}`);
    const account = str(parsed.values, 'account');
    const save = async (name: string) => {
      const done = await addConsoleUser(localHome(io), { email, account: name, role: role as 'admin', password, ...(identity?.value ? { identity: identity.value } : {}) });
      io.stdout.write(`${done} console user ${email.toLowerCase()} (${role} of ${name}); they sign in at the console the local stack prints\n`);
      return 0;
    };
    if (account !== undefined) {
      if (!ACCOUNT_SLUG.test(account)) throw usageError(`--account "${account}" is not an account name: 1-40 lower-case letters, digits or "-"`);
      return save(account);
    }
    return withAccount(io, parsed.values, (_target, name) => save(name));
  },
};

const list: Command = {
  name: 'console-users list',
  summary: 'who may sign in to the local web console',
  help: `Usage: tollgate console-users list

Lists the local console's users: email, account, role and, for users, their calling identity.`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, {});
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const users = (await readConsoleUsers(localHome(io))) ?? [];
    if (users.length === 0) {
      io.stdout.write('no console users yet: the first npm start adds three, or add one with tollgate console-users add\n');
      return 0;
    }
    const table = new TableWriter(io.stdout, ['EMAIL', 'ACCOUNT', 'ROLE', 'IDENTITY']);
    for (const u of users) table.row([u.email, u.account, u.role, u.identity ?? '']);
    table.end();
    return 0;
  },
};

export const consoleUsersCommands = [add, list] as const;
