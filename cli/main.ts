/**
 * The `tollgate` command line: finds the command named by the first words of `argv` and runs
 * it. Failures the user can act on are one line on stderr and a non-zero exit status.
 */
import { accountsCommands } from './commands/accounts.ts';
import { adminCommands } from './commands/admin.ts';
import { callCommand } from './commands/call.ts';
import { callsCommands } from './commands/calls.ts';
import { codesCommands } from './commands/codes.ts';
import { consoleUsersCommands } from './commands/console-users.ts';
import type { Command } from './commands/common.ts';
import { devCommand } from './commands/dev.ts';
import { eventsCommands } from './commands/events.ts';
import { settingsCommands } from './commands/settings.ts';
import { usageCommands } from './commands/usage.ts';
import { usersCommands } from './commands/users.ts';
import { CliError, type CliIo } from './io.ts';
import { isConnectionError } from './transfer.ts';

export const COMMANDS: readonly Command[] = [
  devCommand,
  callCommand,
  ...settingsCommands,
  ...codesCommands,
  ...usersCommands,
  ...usageCommands,
  ...callsCommands,
  ...adminCommands,
  ...accountsCommands,
  ...consoleUsersCommands,
  ...eventsCommands,
];

/** In docs/call-flow.md, arriving with later issues. */
const LATER: Record<string, string> = {};

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: tollgate <command> [options]

Account codes and authorization codes for Twilio Programmable Voice.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "tollgate <command> --help" for a command's options. Data commands act on the local
stack started with npm start (found through TOLLGATE_HOME, default .tollgate).
`;
}

/** Run the command `argv` names; resolves with the exit status. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(overview());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write('tollgate 0.1.0\n');
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === first) ?? COMMANDS.find((c) => c.name === `${first} ${second}`);
  try {
    if (command === undefined) {
      const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
      if (group.length > 0) {
        const subs = group.map((c) => c.name.slice(first.length + 1)).join(', ');
        const what = second === undefined || second.startsWith('-') ? 'needs a subcommand' : `has no subcommand "${second}"`;
        if (second === '--help' || second === '-h') {
          io.stdout.write(`Usage: tollgate ${first} <${subs.replaceAll(', ', '|')}> [options]\n\n${group.map((c) => `  ${c.name}  ${c.summary}`).join('\n')}\n`);
          return 0;
        }
        throw new CliError(`tollgate ${first} ${what}: use one of ${subs}`, { exitCode: 2 });
      }
      if (LATER[first] !== undefined) throw new CliError(`tollgate ${first} is not available in this version yet: ${LATER[first]}`, { exitCode: 2 });
      throw new CliError(`unknown command "${first}": run tollgate --help for the list`, { exitCode: 2 });
    }
    const rest = argv.slice(command.name.split(' ').length);
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(err.message.startsWith('tollgate ') ? `${err.message}\n` : `tollgate: ${err.message}\n`);
      return err.exitCode;
    }
    // The reader of our output went away (`| head`): stop quietly, as Unix tools do.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0;
    if (isConnectionError(err)) {
      io.stderr.write('tollgate: lost the connection to the local stack: is it still running? start it with npm start\n');
      return 1;
    }
    const e = err as Error;
    io.stderr.write(`tollgate: unexpected error: ${e?.message ?? String(err)}\n`);
    if (io.env.TOLLGATE_DEBUG === '1' && e?.stack !== undefined) io.stderr.write(`${e.stack}\n`);
    else io.stderr.write('tollgate: set TOLLGATE_DEBUG=1 for the stack trace, and report it if it looks like a bug\n');
    return 1;
  }
}
