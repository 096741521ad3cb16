/**
 * The local stack for the voice benchmark, in a process of its own (so the load generator
 * does not share its event loop): `startLocalStack` in a temp home, seeded with the demo
 * account from `examples/`, with `countRequests` attached to the DynamoDB client its voice
 * routes use. Its Account SIDs are bound to their account as the token secret binds them in
 * AWS, so a first call's requests are counted as there.
 *
 * Prints one JSON line (`VoiceStackInfo`), then answers one JSON line per line on stdin:
 *   `take`  → `{ total, byOperation }` counted since the last `take`, and resets the counter
 * It stops the stack and removes the home when stdin closes or on SIGTERM.
 *
 *   node bench/support/voice-stack.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { countRequests } from '../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import type { TableNames } from '../../functions/adapters/dynamodb/tables.ts';
import { consoleLogger } from '../../cli/output.ts';
import { startLocalStack } from '../../local/stack.ts';

export const BENCH_AUTH_TOKEN = 'tollgate-bench-token';

export interface VoiceStackInfo {
  readonly httpUrl: string;
  readonly publicUrl: string;
  readonly dynamodbEndpoint: string;
  readonly tables: TableNames;
  readonly pid: number;
}

export interface RequestCounts {
  readonly total: number;
  readonly byOperation: Record<string, number>;
  /** Wall time spent in those requests (SDK and dynalite), summed, in ms. */
  readonly ms: number;
  /** Wall time inside the voice function's handler (its storage requests included), summed, in ms. */
  readonly handlerMs: number;
}

// Only when run as the child process (the parent imports the types and the token above).
if (import.meta.main) {
  const home = await mkdtemp(join(tmpdir(), 'tollgate-bench-voice-'));
  // Warnings and errors only, to stderr: stdout carries the protocol.
  const log = consoleLogger(process.stderr, 'warn');
  // No scheduled usage export: its run would land in the middle of the latency measurement.
  const bound = new Map<string, string>();
  const stack = await startLocalStack({ home, port: 0, authToken: BENCH_AUTH_TOKEN, log, seed: true, exportSchedule: false, accountOf: async (sid) => bound.get(sid) });
  // Seeding went through the import function on the same client: count from here on.
  await stack.imports.idle();
  const { accounts } = makeDynamoStores({ client: stack.dynamodb, tables: stack.tables });
  for (const account of await accounts.listAccounts()) {
    for (const sid of (await accounts.getSettings(account))?.twilioAccountSids ?? []) bound.set(sid, account);
  }
  const counter = countRequests(stack.dynamodb);
  // And how long they take, from `send` to its answer (SDK work and the emulator's).
  let ms = 0;
  stack.dynamodb.middlewareStack.add(
    (next) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        ms += performance.now() - started;
      }
    },
    { step: 'initialize', name: 'tollgateBenchTimer' },
  );

  // And how long the voice function's handler runs, from the event in to the result out.
  let handlerMs = 0;
  stack.routes.wrap('tollgate-voice', (handler) => async (event, context) => {
    const started = performance.now();
    try {
      return await handler(event, context);
    } finally {
      handlerMs += performance.now() - started;
    }
  });

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    counter.detach();
    stack.dynamodb.middlewareStack.remove('tollgateBenchTimer');
    await stack.stop();
    await rm(home, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());

  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line.trim() !== 'take') return;
      const taken: RequestCounts = { total: counter.total, byOperation: Object.fromEntries(counter.byOperation), ms, handlerMs };
      counter.reset();
      ms = 0;
      handlerMs = 0;
      process.stdout.write(`${JSON.stringify(taken)}\n`);
    })
    .on('close', () => void stop());

  const info: VoiceStackInfo = {
    httpUrl: stack.httpUrl,
    publicUrl: stack.publicUrl,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    tables: stack.tables,
    pid: process.pid,
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
}
