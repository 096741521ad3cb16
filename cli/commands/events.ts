/**
 * `tollgate events tail | secret`: the local stack's call-record events (docs/events.md) as they
 * happen, and the webhook secret an account's receivers check signatures with.
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallRecordEvent } from '../../functions/core/events.ts';
import { EVENTS_LOG, webhookSecret } from '../../local/events.ts';
import { localHome } from '../target.ts';
import { expectPositionals, flag, parseCommand, str, withAccount, type Command } from './common.ts';

const POLL_MS = 250;

const tail: Command = {
  name: 'events tail',
  summary: 'show call-record events as they happen (local stack)',
  help: `Usage: tollgate events tail [--account NAME] [--json] [--no-follow]

Prints each call-record event of the local stack — a usage record that completed, or was
retagged — one a line, from the last 20 on, and goes on printing new ones until Ctrl-C.
The same JSON goes to the account's webhook URLs (settings "webhooks"), signed.

Options:
  --account NAME   only this account's events
  --json           the events' JSON, one a line
  --no-follow      print what there is and stop`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { account: { type: 'string' }, json: { type: 'boolean' }, 'no-follow': { type: 'boolean' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    const path = join(localHome(io), EVENTS_LOG);
    const account = str(parsed.values, 'account');
    const json = flag(parsed.values, 'json');
    const show = (line: string) => {
      let event: CallRecordEvent;
      try {
        event = JSON.parse(line) as CallRecordEvent;
      } catch {
        return;
      }
      if (account !== undefined && event.account !== account) return;
      const d = event.detail;
      io.stdout.write(
        json
          ? `${line}\n`
          : `${event.time}  ${event['detail-type'].padEnd(14)}  ${event.account}  ${d.call_sid}  ${d.user ?? ''} → ${d.destination ?? ''}  code ${d.code ?? '-'} (${d.code_status})  ${d.outcome ?? ''}  talk ${d.talk_s ?? 0} s\n`,
      );
    };
    let offset = 0;
    let rest = '';
    const read = async (firstTime: boolean) => {
      const size = await stat(path).then(
        (s) => s.size,
        () => 0,
      );
      if (size < offset) offset = 0;
      if (size === offset) return;
      const handle = await open(path, 'r');
      try {
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(size - offset), 0, size - offset, offset);
        offset += bytesRead;
        const lines = (rest + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of firstTime ? lines.slice(-20) : lines) if (line.trim() !== '') show(line);
      } finally {
        await handle.close();
      }
    };
    await read(true);
    if (flag(parsed.values, 'no-follow')) return 0;
    io.stderr.write(`following ${path} (Ctrl-C to stop)\n`);
    for (;;) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      await read(false);
    }
  },
};

const secret: Command = {
  name: 'events secret',
  summary: "the webhook secret an account's event receivers check signatures with (local)",
  help: `Usage: tollgate events secret [--account NAME]

Prints the account's webhook secret (made the first time it is asked for): receivers check
each event's Tollgate-Signature header with it (docs/events.md). Keep it like a password.`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { account: { type: 'string' } });
    if (parsed === undefined) return 0;
    expectPositionals(this, parsed.positionals, []);
    return withAccount(io, parsed.values, async (_target, account) => {
      io.stdout.write(`${await webhookSecret(localHome(io), account)}\n`);
      return 0;
    });
  },
};

export const eventsCommands = [tail, secret] as const;
