/**
 * Run `tollgate` commands in process, as a terminal or a pipe would, and keep what they print.
 */
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../../cli/io.ts';
import { run } from '../../../cli/main.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunner {
  (args: readonly string[], options?: { readonly stdin?: string; readonly tty?: boolean; readonly env?: Record<string, string> }): Promise<CliRun>;
  /** Everything every command printed so far, for "never printed" checks. */
  readonly transcript: string[];
}

class Capture extends PassThrough {
  text = '';
  readonly isTTY: boolean;
  constructor(isTTY: boolean) {
    super();
    this.isTTY = isTTY;
    this.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('utf8');
    });
  }
}

/** A runner whose commands see `env` (TOLLGATE_HOME…) and `cwd`. */
export function cliRunner(base: { readonly env: Record<string, string>; readonly cwd: string }): CliRunner {
  const transcript: string[] = [];
  const runner = (async (args, options = {}) => {
    const stdout = new Capture(false);
    const stderr = new Capture(false);
    const stdin = Object.assign(new PassThrough(), { isTTY: options.tty === true });
    if (options.stdin !== undefined) stdin.end(options.stdin);
    const io: CliIo = { stdout, stderr, stdin, env: { ...base.env, ...options.env }, cwd: base.cwd };
    const code = await run(args, io);
    const result = { code, stdout: stdout.text, stderr: stderr.text };
    transcript.push(result.stdout, result.stderr);
    return result;
  }) as CliRunner;
  Object.defineProperty(runner, 'transcript', { value: transcript });
  return runner;
}
