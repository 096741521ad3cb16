/**
 * What a command may touch of the outside world, passed in rather than read from `process`, so
 * the tests run commands in process with captured output and a fake terminal.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { AwsClients } from './aws-target.ts';

export type OutStream = Writable & { readonly isTTY?: boolean; readonly columns?: number };
export type InStream = Readable & { readonly isTTY?: boolean; setRawMode?(mode: boolean): unknown };

export interface CliIo {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly stdin: InStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** The AWS clients `--stack` uses. @default real clients over the standard credential chain */
  readonly aws?: AwsClients;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

import { CliError } from './errors.ts';

export { CliError, usageError } from './errors.ts';

/** Ask a yes/no question on the terminal; anything but y/yes is no. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  const answer = await readLine(io, `${question} [y/N] `);
  return /^y(es)?$/i.test(answer.trim());
}

/** One line from stdin, after writing `prompt` to stderr. */
export function readLine(io: CliIo, prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: false });
    io.stderr.write(prompt);
    let done = false;
    rl.once('line', (line) => {
      done = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!done) resolve('');
    });
  });
}

/**
 * A secret typed at the terminal without echo (an authorization code), or one line of piped
 * stdin. Never written anywhere.
 */
export async function readSecret(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  if (stdin.isTTY !== true || stdin.setRawMode === undefined) return (await readLine(io, '')).trim();
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: Buffer | string): void => {
        for (const ch of chunk.toString()) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            stdin.off('data', onData);
            resolve(value.trim());
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            reject(new CliError('cancelled'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    io.stderr.write('\n');
  }
}
