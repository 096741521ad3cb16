/**
 * `tollgate dev` (`npm start`): the local stack in the foreground until Ctrl-C (docs/call-flow.md).
 *
 * s3rver's ListObjectsV2 continuation tokens use DES, which Node 22's OpenSSL 3 provides only
 * with `--openssl-legacy-provider` (docs/operations.md). `npm start` passes the flag; started any
 * other way (`npx tollgate dev`, the bin), the command runs itself again in a child process
 * with the flag, forwarding signals and the exit status. A runtime check of the cipher,
 * rather than of `process.execArgv`, also accepts the flag given through NODE_OPTIONS.
 */
import { spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { E164 } from '../../functions/core/identifiers.ts';
import type { LogLevel } from '../../functions/services/logger.ts';
import { readStackInfo } from '../../local/stack-info.ts';
import type { LocalStack } from '../../local/stack.ts';
import { CliError, confirm, usageError, type CliIo } from '../io.ts';
import { consoleLogger } from '../output.ts';
import { localHome } from '../target.ts';
import { flag, parseCommand, type Command } from './common.ts';

export const DEFAULT_PORT = 3000;
export const DEFAULT_AUTH_TOKEN = 'tollgate-local-token';
/** A stop that takes longer than this is abandoned (exit 1), so Ctrl-C always ends the process. */
const STOP_DEADLINE_MS = 20_000;

/** True when this process can use DES (the legacy provider is loaded). */
export function legacyProviderLoaded(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

export interface DevConfig {
  readonly port: number;
  readonly home: string;
  readonly publicUrl?: string;
  readonly authToken: string;
  readonly emergencyCallerId?: string;
  readonly consolePassword?: string;
  readonly logLevel: LogLevel;
}

/** PORT, TOLLGATE_HOME, TOLLGATE_PUBLIC_URL, TWILIO_AUTH_TOKEN, TOLLGATE_EMERGENCY_CALLER_ID, TOLLGATE_CONSOLE_PASSWORD, LOG_LEVEL — checked once, up front. */
export function devConfig(io: CliIo): DevConfig {
  const env = io.env;
  const portText = env.PORT?.trim() || String(DEFAULT_PORT);
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw usageError(`PORT is "${portText}": use a port number from 0 to 65535 (0 picks a free port)`);
  let publicUrl: string | undefined;
  const publicText = env.TOLLGATE_PUBLIC_URL?.trim();
  if (publicText) {
    let url: URL | undefined;
    try {
      url = new URL(publicText);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
      throw usageError(`TOLLGATE_PUBLIC_URL is "${publicText}": use the base URL of your tunnel, such as https://abc123.ngrok.app`);
    }
    publicUrl = publicText.replace(/\/+$/, '');
  }
  const emergencyText = env.TOLLGATE_EMERGENCY_CALLER_ID?.trim();
  if (emergencyText && !E164.test(emergencyText)) {
    throw usageError(`TOLLGATE_EMERGENCY_CALLER_ID is "${emergencyText}": use an E.164 number of your Twilio account, such as +14155550100`);
  }
  const level = (env.LOG_LEVEL?.trim().toLowerCase() || 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw usageError(`LOG_LEVEL is "${level}": use debug, info, warn or error`);
  return {
    port,
    home: localHome(io),
    ...(publicUrl === undefined ? {} : { publicUrl }),
    authToken: env.TWILIO_AUTH_TOKEN?.trim() || DEFAULT_AUTH_TOKEN,
    ...(emergencyText ? { emergencyCallerId: emergencyText } : {}),
    ...(env.TOLLGATE_CONSOLE_PASSWORD ? { consolePassword: env.TOLLGATE_CONSOLE_PASSWORD } : {}),
    logLevel: level,
  };
}

/** The command again, in a child process that has the flag; resolves with its exit status. */
function respawnWithLegacyProvider(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, '--openssl-legacy-provider', ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, TOLLGATE_RESPAWNED: '1' },
  });
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  // Ctrl-C reaches the child from the terminal too; it treats a repeat as "still stopping".
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      // A child killed by a signal exits as a shell reports it: 128 + the signal's number.
      resolve(code ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0)));
    });
    child.once('error', () => resolve(1));
  });
}

function banner(stack: LocalStack, config: DevConfig, accounts: readonly string[], ms: number): string {
  const example = accounts.includes('demo') ? 'demo' : (accounts[0] ?? '<account>');
  const webhooks =
    stack.routes.match('POST', '/voice/incoming') === undefined
      ? `  http       ${stack.httpUrl}   (the voice webhooks are not in this version yet)`
      : `  webhooks   ${stack.httpUrl}/voice/incoming   (Twilio signs ${stack.publicUrl}; set TOLLGATE_PUBLIC_URL to your tunnel)`;
  return `
Tollgate local stack ready in ${(ms / 1000).toFixed(2)} s

  console    ${stack.publicUrl}/console/   (sign in as admin@demo.test, finance@demo.test or alice@demo.test)
${webhooks}
  health     ${stack.httpUrl}/health
  S3         ${stack.s3Endpoint}   bucket ${stack.bucket}, path-style, access key S3RVER / secret S3RVER
  DynamoDB   ${stack.dynamodbEndpoint}
  data       ${config.home}
  accounts   ${accounts.length === 0 ? '(none)' : accounts.join(', ')}

Manage codes with the CLI (in another terminal):
  npx tollgate codes list --account ${example}
  npx tollgate codes import my-codes.csv --account ${example}
or upload to the bucket with any S3 tool; reports appear under results/${example}/:
  aws --endpoint-url ${stack.s3Endpoint} s3 cp my-codes.csv s3://${stack.bucket}/imports/${example}/codes/my-codes.csv
  (AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1)

Press Ctrl-C to stop.
`;
}

export const devCommand: Command = {
  name: 'dev',
  summary: 'run the local stack in the foreground (npm start)',
  help: `Usage: tollgate dev [--reset [--yes]]

Runs the local stack until Ctrl-C: DynamoDB (dynalite) and S3 (s3rver) on 127.0.0.1, the
import function wired to the bucket, and the HTTP server for Twilio's webhooks. Data stays in
TOLLGATE_HOME between runs. On the first start the account "demo" is seeded from examples/.

Options:
  --reset   delete every account, code and file in TOLLGATE_HOME first (asks unless --yes)
  --yes     do not ask

Environment:
  PORT                 HTTP port (default ${DEFAULT_PORT}; 0 picks a free port)
  TOLLGATE_HOME        where local data lives (default .tollgate)
  TOLLGATE_PUBLIC_URL  the URL Twilio signs (default http://localhost:$PORT): your tunnel
  TWILIO_AUTH_TOKEN    auth token of every local account (default ${DEFAULT_AUTH_TOKEN})
  TOLLGATE_EMERGENCY_CALLER_ID
                       the caller ID an emergency call carries when neither the user, the
                       entry point nor the account has one (default +15005550006)
  TOLLGATE_CONSOLE_PASSWORD
                       the password of the console users the first start makes
                       (default tollgate-local)
  LOG_LEVEL            debug, info (default), warn or error`,
  async run(args, io) {
    const parsed = parseCommand(this, args, io, { reset: { type: 'boolean' }, yes: { type: 'boolean', short: 'y' } });
    if (parsed === undefined) return 0;
    if (parsed.positionals.length > 0) throw usageError(`tollgate dev: unexpected argument "${parsed.positionals[0]}" (see tollgate dev --help)`);
    const config = devConfig(io);
    if (!legacyProviderLoaded()) {
      if (io.env.TOLLGATE_RESPAWNED === '1') {
        throw new CliError('this Node cannot load the OpenSSL legacy provider that s3rver needs: run Node 22 or later (npm start)');
      }
      return respawnWithLegacyProvider();
    }
    if (flag(parsed.values, 'reset')) await reset(io, config.home, flag(parsed.values, 'yes'));
    return runStack(io, config);
  },
};

async function reset(io: CliIo, home: string, yes: boolean): Promise<void> {
  const running = await readStackInfo(home);
  if (running !== undefined) throw new CliError(`a local stack is running in ${home} (pid ${running.pid}): stop it before --reset`);
  if (!yes) {
    if (io.stdin.isTTY !== true) throw new CliError(`refusing to delete the data in ${home} without confirmation: add --yes`);
    if (!(await confirm(io, `Delete every account, code and file in ${home}?`))) throw new CliError('nothing was deleted; the stack was not started');
  }
  for (const entry of ['dynamodb', 's3', 'queue', 'dead-letter', 'seeded', 'pepper', 'stack.json', 'console-users.json']) {
    await rm(join(home, entry), { recursive: true, force: true });
  }
  io.stdout.write(`deleted the local data in ${home}\n`);
}

async function runStack(io: CliIo, config: DevConfig): Promise<number> {
  const log = consoleLogger(io.stdout, config.logLevel);
  const started = performance.now();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  // Installed before anything starts: a Ctrl-C during start-up must also stop cleanly.
  let stopRequested: ((signal: NodeJS.Signals) => void) | undefined;
  let early: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested === undefined) early ??= signal;
    else stopRequested(signal);
  };
  for (const s of signals) process.on(s, onSignal);
  const detach = (): void => {
    for (const s of signals) process.off(s, onSignal);
  };

  let stack: LocalStack;
  // Loaded here, not at the top: the emulators and handlers cost the other commands ~0.5 s.
  const { startLocalStack, StackRunningError } = await import('../../local/stack.ts');
  try {
    stack = await startLocalStack({
      home: config.home,
      port: config.port,
      ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
      authToken: config.authToken,
      ...(config.emergencyCallerId === undefined ? {} : { emergencyCallerId: config.emergencyCallerId }),
      ...(config.consolePassword === undefined ? {} : { consolePassword: config.consolePassword }),
      log,
    });
  } catch (err) {
    detach();
    if (err instanceof StackRunningError) throw new CliError(err.message);
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(`the local stack did not start: ${message}`, { cause: err });
  }
  if (early === undefined) {
    const accounts = await fetch(`${stack.httpUrl}/health`)
      .then((r) => r.json() as Promise<{ accounts?: string[] }>)
      .then((h) => h.accounts ?? [])
      .catch(() => []);
    io.stdout.write(banner(stack, config, accounts, performance.now() - started));
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    stopRequested = (signal) => {
      if (stopping) {
        io.stdout.write('still stopping: finishing imports and flushing data…\n');
        return;
      }
      stopping = true;
      io.stdout.write(`\n${signal}: stopping…\n`);
      const deadline = setTimeout(() => {
        io.stderr.write(`tollgate: the stack did not stop within ${STOP_DEADLINE_MS / 1000} s; exiting anyway\n`);
        resolve(1);
      }, STOP_DEADLINE_MS);
      deadline.unref();
      stack.stop().then(
        () => {
          clearTimeout(deadline);
          detach();
          io.stdout.write(`stopped; data kept in ${config.home}\n`);
          resolve(0);
        },
        (err: unknown) => {
          clearTimeout(deadline);
          io.stderr.write(`tollgate: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
          resolve(1);
        },
      );
    };
    if (early !== undefined) stopRequested(early);
  });
}
