/**
 * DynamoDB for integration tests: dynalite on loopback (started by the test itself), or the
 * DynamoDB Local named by DYNAMODB_LOCAL_ENDPOINT, and fresh uniquely named tables per suite.
 */
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { makeDynamoClient } from '../../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores, type DynamoStores } from '../../../functions/adapters/dynamodb/stores.ts';
import { createTables, deleteTables, type TableNames } from '../../../functions/adapters/dynamodb/tables.ts';
import { startDynalite } from '../../../local/emulators.ts';

export { startDynalite };

/** A clock the test moves by hand. */
export interface TestClock {
  (): Date;
  set(iso: string): void;
  advance(ms: number): void;
}

export function testClock(startIso: string): TestClock {
  let t = Date.parse(startIso);
  const clock = (() => new Date(t)) as TestClock;
  clock.set = (iso) => void (t = Date.parse(iso));
  clock.advance = (ms) => void (t += ms);
  return clock;
}

export interface StorageEnv {
  readonly client: DynamoDBClient;
  readonly tables: TableNames;
  readonly clock: TestClock;
  readonly stores: DynamoStores;
  /** Delete the tables, close the client (and the server when the env started one). */
  close(): Promise<void>;
}

/** Fresh tables with a random prefix on the given endpoint, and stores over them. */
export async function makeStorageEnv(endpoint: string, options: { readonly onClose?: () => Promise<void> } = {}): Promise<StorageEnv> {
  const client = makeDynamoClient({ endpoint, requestTimeoutMs: 10_000 });
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const tables: TableNames = { accounts: `${prefix}-accounts`, codes: `${prefix}-codes`, calls: `${prefix}-calls` };
  await createTables(client, tables);
  const clock = testClock('2026-03-10T15:00:00.000Z');
  return {
    client,
    tables,
    clock,
    stores: makeDynamoStores({ client, tables, now: clock }),
    async close() {
      try {
        await deleteTables(client, tables);
      } finally {
        client.destroy();
        await options.onClose?.();
      }
    },
  };
}

/** An env on a dynalite of its own. */
export async function dynaliteEnv(): Promise<StorageEnv> {
  const server = await startDynalite();
  return makeStorageEnv(server.endpoint, { onClose: () => server.close() });
}
