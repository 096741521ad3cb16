/**
 * The DynamoDB client every function builds once at module scope, and a request counter for
 * the benchmark "DynamoDB requests per call".
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface DynamoClientOptions {
  /** A local emulator (`http://127.0.0.1:8000`); unset for AWS. */
  readonly endpoint?: string;
  /** @default process's AWS_REGION for AWS, `us-east-1` for a local endpoint */
  readonly region?: string;
  /** Give up on a TCP/TLS connect after this long. @default 1000 */
  readonly connectionTimeoutMs?: number;
  /**
   * Give up on one HTTP attempt after this long. Twilio waits 15 s for a whole webhook, so the
   * voice function keeps this short and lets the SDK retry. @default 3000
   */
  readonly requestTimeoutMs?: number;
  /** Attempts per command, the first included (SDK standard retry mode). @default 3 */
  readonly maxAttempts?: number;
}

/** A client with timeouts set: the SDK's own default waits forever on a stuck connection. */
export function makeDynamoClient(options: DynamoClientOptions = {}): DynamoDBClient {
  const local = options.endpoint !== undefined;
  return new DynamoDBClient({
    ...(local ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    ...(options.region !== undefined ? { region: options.region } : local ? { region: 'us-east-1' } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 1_000,
      requestTimeout: options.requestTimeoutMs ?? 3_000,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
}

/** DynamoDB commands sent through a client since the counter was attached (or reset). */
export interface RequestCounter {
  /** Commands by operation name (`GetItem`, `BatchWriteItem`, …). */
  readonly byOperation: ReadonlyMap<string, number>;
  readonly total: number;
  reset(): void;
  /** Detach from the client. */
  detach(): void;
}

let counterSeq = 0;

/**
 * Count the commands a client sends, by operation. The middleware sits at the `initialize`
 * step, before the SDK's retry loop: one `send` is one count however many HTTP attempts it
 * takes, which is what "requests per call" means in the benchmark.
 */
export function countRequests(client: DynamoDBClient): RequestCounter {
  const counts = new Map<string, number>();
  let total = 0;
  const name = `tollgateRequestCounter${++counterSeq}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      counts.set(op, (counts.get(op) ?? 0) + 1);
      total += 1;
      return next(args);
    },
    { step: 'initialize', name },
  );
  return {
    byOperation: counts,
    get total() {
      return total;
    },
    reset() {
      counts.clear();
      total = 0;
    },
    detach() {
      client.middlewareStack.remove(name);
    },
  };
}
