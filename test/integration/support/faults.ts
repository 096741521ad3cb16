/**
 * DynamoDB faults on cue, injected where the AWS SDK meets the network, so the stores, the
 * SDK's own retry and the code above them all run for real against dynalite:
 *
 * - `throttle`: DynamoDB's answer is an HTTP 400 whose body names
 *   `ProvisionedThroughputExceededException` or `ThrottlingException`, as AWS sends it; the SDK
 *   parses it into its real exception class and retries it as a throttling error.
 * - `timeout`: the attempt is sent to a socket that accepts and never answers, so the client's
 *   own `requestTimeout` fires.
 * - `lost-response`: the attempt reaches dynalite and is applied, then its answer is lost (the
 *   SDK sees the timeout it would see had the answer come too late) — the fault that makes a
 *   retried conditional write fail against itself.
 * - `unprocessed` (BatchWriteItem): DynamoDB takes only some of the items and returns the rest
 *   as `UnprocessedItems`, as it does when a partition is over capacity.
 *
 * A plan decides per HTTP attempt (`throttle`, `timeout`, `lost-response`) or per `send`
 * (`unprocessed`); every attempt is logged, so a test can see the SDK retry.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';

export type ThrottleError = 'ProvisionedThroughputExceededException' | 'ThrottlingException';

export type Fault =
  | { readonly kind: 'throttle'; readonly error?: ThrottleError }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'lost-response' }
  | { readonly kind: 'unprocessed'; readonly keep: number };

/** One HTTP attempt (or, for `unprocessed`, one send) as the plan sees it. */
export interface Attempt {
  /** `PutItem`, `BatchGetItem`, … */
  readonly command: string;
  /** 1 for the first HTTP attempt of a send, 2 for the SDK's first retry, … */
  readonly attempt: number;
  /** The command's input (table names, keys, items). */
  readonly input: Readonly<Record<string, unknown>>;
}

export interface AttemptLog extends Attempt {
  readonly fault: Fault['kind'] | undefined;
}

export interface FaultInjector {
  /** What to do with an attempt; undefined: let it through. Replaceable at any time. */
  plan: (attempt: Attempt) => Fault | undefined;
  /** Every HTTP attempt (and every `unprocessed` send) since the last `reset`. */
  readonly log: AttemptLog[];
  /** Attempts of a command, with the faults they met. */
  attempts(command: string): AttemptLog[];
  reset(): void;
  /** Remove the middleware and close the silent socket. */
  close(): Promise<void>;
}

const NONE = (): undefined => undefined;
let seq = 0;

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ readonly port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The body AWS's JSON protocol sends for a service error. */
function errorResponse(error: ThrottleError): { statusCode: number; headers: Record<string, string>; body: Uint8Array } {
  const message =
    error === 'ThrottlingException'
      ? 'Rate of requests exceeds the allowed throughput.'
      : 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.';
  return {
    statusCode: 400,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `FAULT${++seq}` },
    body: Buffer.from(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${error}`, message })),
  };
}

/** The next handler of a middleware, loosely typed: this file speaks to two different steps. */
type Next = (args: { input: unknown; request?: unknown }) => Promise<{ output?: unknown; response?: unknown }>;

interface SendState {
  command: string;
  input: Record<string, unknown>;
  attempts: number;
}

/** Attach a fault injector to a client. Its faults apply to every store built on the client. */
export async function injectFaults(client: DynamoDBClient, plan: FaultInjector['plan'] = NONE): Promise<FaultInjector> {
  const silent = await silentServer();
  const sends = new WeakMap<object, SendState>();
  const outer = `tollgateFaultsSend${++seq}`;
  const inner = `tollgateFaultsAttempt${seq}`;

  const injector: FaultInjector = {
    plan,
    log: [],
    attempts: (command) => injector.log.filter((a) => a.command === command),
    reset() {
      injector.log.length = 0;
    },
    async close() {
      client.middlewareStack.remove(outer);
      client.middlewareStack.remove(inner);
      await silent.close();
    },
  };

  // Per send, before the SDK's retry loop: name the command, and split a batch write.
  client.middlewareStack.add(
    ((next: Next, context: object & { commandName?: string }) => async (args: { input: unknown }) => {
      const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      const state: SendState = { command, input, attempts: 0 };
      sends.set(context, state);
      if (command !== 'BatchWriteItem') return next(args);
      const fault = injector.plan({ command, attempt: 0, input });
      if (fault?.kind !== 'unprocessed') return next(args);
      injector.log.push({ command, attempt: 0, input, fault: 'unprocessed' });
      // DynamoDB writes some items and hands the rest back; which ones is its business.
      const items = input.RequestItems as Record<string, WriteRequest[]>;
      const kept: Record<string, WriteRequest[]> = {};
      const left: Record<string, WriteRequest[]> = {};
      for (const [table, requests] of Object.entries(items)) {
        const keep = Math.max(0, Math.min(requests.length, fault.keep));
        if (keep > 0) kept[table] = requests.slice(0, keep);
        if (keep < requests.length) left[table] = requests.slice(keep);
      }
      const out =
        Object.keys(kept).length === 0
          ? { output: { $metadata: { httpStatusCode: 200 }, UnprocessedItems: {} } }
          : await next({ ...args, input: { ...input, RequestItems: kept } });
      const output = out.output as { UnprocessedItems?: Record<string, WriteRequest[]> };
      const unprocessed = { ...(output.UnprocessedItems ?? {}) };
      for (const [table, requests] of Object.entries(left)) unprocessed[table] = [...(unprocessed[table] ?? []), ...requests];
      return { ...out, output: { ...(out.output as object), UnprocessedItems: unprocessed } };
    }) as never,
    { step: 'initialize', name: outer },
  );

  // Per HTTP attempt, inside the SDK's retry loop and below the deserializer: the raw exchange.
  client.middlewareStack.add(
    ((next: Next, context: object) => async (args: { input: unknown; request?: unknown }) => {
      const state = sends.get(context) ?? { command: 'Unknown', input: {}, attempts: 0 };
      state.attempts++;
      const attempt = { command: state.command, attempt: state.attempts, input: state.input };
      const fault = injector.plan(attempt);
      const kind = fault?.kind === 'unprocessed' ? undefined : fault?.kind;
      injector.log.push({ ...attempt, fault: kind });
      if (fault === undefined || fault.kind === 'unprocessed') return next(args);
      if (fault.kind === 'throttle') return { response: errorResponse(fault.error ?? 'ProvisionedThroughputExceededException'), output: undefined };
      const request = args.request as { hostname: string; port?: number };
      if (fault.kind === 'timeout') {
        return next({ ...args, request: Object.assign(Object.create(Object.getPrototypeOf(request) as object) as object, request, { hostname: '127.0.0.1', port: silent.port }) });
      }
      // lost-response: applied by dynalite, then the answer never arrives.
      const out = await next(args);
      const body = (out.response as { body?: NodeJS.ReadableStream }).body;
      if (body !== undefined && typeof body.resume === 'function') {
        // Drain it, so the connection goes back to the pool as it would have.
        for await (const _chunk of body) void _chunk;
      }
      throw Object.assign(new Error('the answer was lost after DynamoDB applied the request (injected)'), { name: 'TimeoutError' });
    }) as never,
    { step: 'deserialize', priority: 'low', name: inner },
  );
  return injector;
}

/** The table a single-table command names (`TableName`), or the tables a batch names. */
export function tablesOf(a: Attempt): string[] {
  if (typeof a.input.TableName === 'string') return [a.input.TableName];
  const items = a.input.RequestItems;
  return items !== null && typeof items === 'object' ? Object.keys(items) : [];
}
