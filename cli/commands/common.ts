/** What every command shares: argument parsing with one-line errors, and the target's lifetime. */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { awsDataError } from '../aws-target.ts';
import { CliError, usageError, type CliIo } from '../io.ts';
import { openTarget, resolveAccount, TARGET_OPTIONS, type Target, type TargetFlags } from '../target.ts';

export interface Command {
  /** `codes import`, as typed. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse a command's arguments strictly; a mistake is a usage error naming the command's
 * `--help`. Returns undefined after printing the help when `--help` is given.
 */
export function parseCommand<O extends Options>(
  command: { readonly name: string; readonly help: string },
  args: readonly string[],
  io: CliIo,
  options: O,
): { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] } | undefined {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const message =
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown option ${/'([^']+)'/.exec(e.message)?.[1] ?? ''}`.trim()
        : e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
          ? (e.message.split('\n')[0] ?? e.message).replace(/^Option '([^']+)' argument missing$/, '$1 needs a value')
          : (e.message.split('\n')[0] ?? e.message);
    throw usageError(`tollgate ${command.name}: ${message} (see tollgate ${command.name} --help)`);
  }
  if (parsed.values.help === true) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return undefined;
  }
  return parsed as { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] };
}

export function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: Record<string, unknown>, name: string): boolean {
  return values[name] === true;
}

export function targetFlags(values: Record<string, unknown>): TargetFlags {
  return { account: str(values, 'account'), local: values.local === true ? true : undefined, stack: str(values, 'stack') };
}

/** Exactly `count` positionals, or a usage error saying what is missing or extra. */
export function expectPositionals(command: { readonly name: string }, positionals: readonly string[], names: readonly string[]): string[] {
  if (positionals.length < names.length) {
    throw usageError(`tollgate ${command.name}: ${names[positionals.length]} is missing (see tollgate ${command.name} --help)`);
  }
  if (positionals.length > names.length) {
    throw usageError(`tollgate ${command.name}: unexpected argument "${positionals[names.length]}" (see tollgate ${command.name} --help)`);
  }
  return [...positionals];
}

/** Run `fn` against the target, closing its clients afterwards. */
export async function withTarget<T>(io: CliIo, flags: TargetFlags, fn: (target: Target) => Promise<T>): Promise<T> {
  const target = await openTarget(io, flags);
  try {
    return await fn(target);
  } catch (err) {
    throw target.info.kind === 'aws' ? awsDataError(err, target.info) : err;
  } finally {
    target.close();
  }
}

/** {@link withTarget} for the account `--account` names (or the only one there is). */
export function withAccount<T>(io: CliIo, values: Record<string, unknown>, fn: (target: Target, account: string) => Promise<T>): Promise<T> {
  return withTarget(io, targetFlags(values), async (target) => fn(target, await resolveAccount(target, str(values, 'account'))));
}

/** A command that takes only the target's options: parsed, then `fn` run for the account. */
export async function accountOnly(
  command: { readonly name: string; readonly help: string },
  args: readonly string[],
  io: CliIo,
  fn: (target: Target, account: string) => Promise<number>,
): Promise<number> {
  const parsed = parseCommand(command, args, io, TARGET_OPTIONS);
  if (parsed === undefined) return 0;
  expectPositionals(command, parsed.positionals, []);
  return withAccount(io, parsed.values, fn);
}

/** A file the user named, resolved against the working directory, with a clear error. */
export function userPath(io: CliIo, file: string): string {
  return resolve(io.cwd, file);
}

export async function readUserFile(io: CliIo, file: string): Promise<Buffer> {
  try {
    return await readFile(userPath(io, file));
  } catch (err) {
    throw fileError(file, err);
  }
}

export function fileError(file: string, err: unknown): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CliError(`cannot read ${file}: there is no such file`);
  if (code === 'EISDIR') return new CliError(`cannot read ${file}: it is a folder, not a file`);
  if (code === 'EACCES') return new CliError(`cannot read ${file}: permission denied`);
  return new CliError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
}

/** Who runs the CLI, for tags, the export lock and the audit trail: $USER (or %USERNAME%), else the OS account. */
export function osUser(io: CliIo): string {
  let name = io.env.USER ?? io.env.USERNAME;
  if (name === undefined || name.trim() === '') {
    try {
      name = userInfo().username;
    } catch {
      // No passwd entry (some containers).
      name = undefined;
    }
  }
  return name === undefined || name.trim() === '' ? 'unknown' : name.trim();
}

/** The options of every command that changes data: how long to wait for the report, and who makes the change. */
export const CHANGE_OPTIONS = { timeout: { type: 'string' }, as: { type: 'string' } } as const;

export const CHANGE_HELP = `  --as NAME        who makes the change, for the audit trail (default: your user name, $USER)
  --timeout SECONDS  how long to wait for the import report`;

const MAX_ACTOR = 100;

/** `--timeout` and `--as`, checked: what {@link uploadAndWait} takes. */
export function changeOptions(io: CliIo, values: Record<string, unknown>): { timeoutSeconds?: number; actor: string } {
  const raw = str(values, 'timeout');
  const actor = (str(values, 'as') ?? osUser(io)).trim();
  if (actor === '' || actor.length > MAX_ACTOR || /[\u0000-\u001f\u007f-\u009f]/.test(actor)) {
    throw usageError(`--as: give a name of 1 to ${MAX_ACTOR} printable characters`);
  }
  if (raw === undefined) return { actor };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--timeout ${raw}: give a whole number of seconds, at least 1`, { exitCode: 2 });
  return { timeoutSeconds: n, actor };
}

/**
 * A caller's identity typed in full — `client:alice`, `sip:alice@acme.sip.twilio.com` or an
 * E.164 number — or a usage error that shows those forms (a bare `alice` could be any of them).
 */
export function requireIdentity(command: { readonly name: string }, value: string): string {
  const v = value.trim();
  if (/^client:[^\s]+$/i.test(v) || /^sips?:[^\s@]+@[^\s@]+$/i.test(v) || /^\+[1-9][0-9]{1,14}$/.test(v)) return v;
  throw usageError(
    `tollgate ${command.name}: "${v.slice(0, 60)}" is not an identity: write it in full, as client:alice (Voice SDK), sip:alice@acme.sip.twilio.com (SIP domain) or +14155550123 (a number)`,
  );
}
