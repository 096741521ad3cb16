/** `tollgate settings validate | apply | show | schema` (docs/settings.md, docs/call-flow.md). */
import { locateProblems } from '../../functions/core/json-locate.ts';
import { parseSettingsText, settingsJsonSchema } from '../../functions/core/settings.ts';
import { usageError } from '../io.ts';
import { accountSettings, TARGET_HELP, TARGET_OPTIONS } from '../target.ts';
import { printReport, uploadAndWait } from '../transfer.ts';
import { accountOnly, CHANGE_OPTIONS, changeOptions, expectPositionals, parseCommand, readUserFile, str, targetFlags, withTarget, type Command } from './common.ts';

function problemsText(file: string, text: string, problems: readonly { path: string; message: string }[]): string {
  const located = locateProblems(text, problems);
  const lines = located.map((p) => `  line ${p.line}, ${p.path}: ${p.message}${p.value === '' ? '' : ` (it says ${p.value})`}`);
  return `${file} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}\n`;
}

const validate: Command = {
  name: 'settings validate',
  summary: 'check a settings.json file against the schema (nothing is uploaded)',
  help: `Usage: tollgate settings validate FILE

Checks FILE against the settings schema (tollgate settings schema) and prints each problem
as "line N, path: message (it says VALUE)", or "valid". Needs no running stack.

Exit status: 0 valid, 1 not valid, 2 usage error.`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, {});
    if (parsed === undefined) return 0;
    const [file] = expectPositionals(this, parsed.positionals, ['FILE']) as [string];
    const text = (await readUserFile(io, file)).toString('utf8');
    const result = parseSettingsText(text);
    if (!result.ok) {
      io.stdout.write(problemsText(file, text, result.problems));
      return 1;
    }
    io.stdout.write(`${file}: valid (account "${result.value.account}")\n`);
    return 0;
  },
};

const apply: Command = {
  name: 'settings apply',
  summary: "replace an account's settings (creates the account)",
  help: `Usage: tollgate settings apply FILE [--account NAME] [--local]

Validates FILE, uploads it to imports/<account>/settings.json (the account is the file's
"account") and waits for the import report. A new account is created; an existing one has
its settings replaced.

Options:
  --timeout SECS   give up waiting for the report after SECS

${TARGET_HELP}

Exit status: 0 applied, 1 not valid or rejected, 2 usage error.`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { ...TARGET_OPTIONS, ...CHANGE_OPTIONS });
    if (parsed === undefined) return 0;
    const [file] = expectPositionals(this, parsed.positionals, ['FILE']) as [string];
    const bytes = await readUserFile(io, file);
    const result = parseSettingsText(bytes.toString('utf8'));
    if (!result.ok) {
      io.stdout.write(problemsText(file, bytes.toString('utf8'), result.problems));
      io.stderr.write('nothing was uploaded: correct the file and apply it again\n');
      return 1;
    }
    const account = result.value.account;
    const requested = str(parsed.values, 'account');
    if (requested !== undefined && requested !== account) {
      throw usageError(`${file} is the settings of account "${account}", not "${requested}": correct "account" in the file or --account`);
    }
    return withTarget(io, targetFlags(parsed.values), async (target) => {
      const key = `imports/${account}/settings.json`;
      const report = await uploadAndWait(io, target, key, { body: bytes, contentType: 'application/json' }, changeOptions(io, parsed.values));
      return printReport(io, target, report);
    });
  },
};

const show: Command = {
  name: 'settings show',
  summary: "print an account's stored settings (defaults filled in)",
  help: `Usage: tollgate settings show [--account NAME] [--local]

Prints the settings the account runs with, as JSON, every default filled in.

${TARGET_HELP}`,
  async run(args, io) {
    return accountOnly(this, args, io, async (target, account) => {
      io.stdout.write(`${JSON.stringify(await accountSettings(target, account), null, 2)}\n`);
      return 0;
    });
  },
};

const schema: Command = {
  name: 'settings schema',
  summary: 'print the JSON Schema of settings.json (for editors)',
  help: `Usage: tollgate settings schema

Prints the JSON Schema of the settings document. Save it and point your editor at it
(VS Code: "json.schemas" in settings.json) to get completion and checks while you type.`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, {});
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    io.stdout.write(`${JSON.stringify(settingsJsonSchema(), null, 2)}\n`);
    return 0;
  },
};

export const settingsCommands: readonly Command[] = [validate, apply, show, schema];
