/** Users of an account: `pk=USERS#<acct>`, `sk=<normalized identity>` in the accounts table. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { normalizeIdentity } from '../../core/codes.ts';
import type { UserStore } from '../../core/ports.ts';
import type { UserRecord } from '../../core/settings.ts';
import { fromItem, str, toItem, type Item } from './attributes.ts';
import { storedUser } from './stored.ts';
import { batchGet, batchWrite, type BatchOptions } from './batch.ts';
import { queryItems, type StoreOptions } from './common.ts';

const KEY_ATTRS: ReadonlySet<string> = new Set(['pk', 'sk']);
export const userKey = (account: string, id: string): Item => ({ pk: { S: `USERS#${account}` }, sk: { S: normalizeIdentity(id) } });

export function toUser(item: Item): UserRecord {
  return storedUser(fromItem(item, KEY_ATTRS));
}

export class DynamoUserStore implements UserStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly batch: BatchOptions;

  constructor(options: StoreOptions) {
    this.client = options.client;
    this.table = options.tables.accounts;
    this.batch = options.batch ?? {};
  }

  /**
   * One BatchGetItem for up to 100 distinct identities. The map is keyed by the ids as asked
   * (`sip:Alice@…;transport=tls` finds `sip:alice@…`), so the caller looks up what it passed.
   */
  async getUsers(account: string, ids: readonly string[]): Promise<Map<string, UserRecord>> {
    const found = new Map<string, UserRecord>();
    if (ids.length === 0) return found;
    const { items } = await batchGet(
      this.client,
      this.table,
      ids.map((id) => userKey(account, id)),
      this.batch,
    );
    const byNormalized = new Map<string, UserRecord>();
    for (const item of items) {
      const sk = str(item, 'sk');
      if (sk !== undefined) byNormalized.set(sk, toUser(item));
    }
    for (const id of ids) {
      const user = byNormalized.get(normalizeIdentity(id));
      if (user !== undefined) found.set(id, user);
    }
    return found;
  }

  async putUsers(account: string, users: readonly UserRecord[]): Promise<void> {
    await batchWrite(
      this.client,
      this.table,
      users.map((u) => ({ PutRequest: { Item: { ...toItem(u), ...userKey(account, u.id) } } })),
      this.batch,
    );
  }

  async deleteUsers(account: string, ids: readonly string[]): Promise<void> {
    await batchWrite(
      this.client,
      this.table,
      ids.map((id) => ({ DeleteRequest: { Key: userKey(account, id) } })),
      this.batch,
    );
  }

  /** In identity order, page by page. */
  async *listUsers(account: string): AsyncGenerator<UserRecord> {
    for await (const item of queryItems(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `USERS#${account}` } },
    })) {
      yield toUser(item);
    }
  }
}
