/**
 * Codes table. A code lives at `pk=<acct>#<shard>`, `sk=<key>`: the shard (one hex digit of a
 * hash of the key) spreads a million-row import over 16 partitions instead of one, and a
 * listing merges the 16 sorted partitions back into key order. Caller-ID entries live at
 * `pk=<acct>#CID`, `sk=<E164>#<key>` with a copy of the code, so inbound tagging is one Query
 * that never touches the shards. The key in the sort key lets two codes list the same number
 * without overwriting each other's entry, and lets deletes go in a batch without conditions.
 */
import { GetItemCommand, QueryCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { StoredCode } from '../../core/codes.ts';
import type { CodeChange, CodeItem, CodePageQuery, CodePages, CodeStore } from '../../core/ports.ts';
import { storedCode } from './stored.ts';
import { fromItem, str, toItem, type Item } from './attributes.ts';
import { batchGet, batchWrite, type BatchOptions } from './batch.ts';
import { queryItems, queryPages, type StoreOptions } from './common.ts';
import { DynamoCodeWords, wordChangesOf } from './code-words.ts';

export const SHARDS = 16;

/** FNV-1a (32 bit) over the key's UTF-16 code units; keys are ASCII, so that is its bytes. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The shard of a key: the hash folded to 4 bits. Folding uses all 32 bits; FNV's low bits
 * alone depend only on the low bits of each input byte. Changing this moves every code: it
 * is part of the stored format.
 */
export function shardOf(key: string): string {
  let h = fnv1a32(key);
  h ^= h >>> 16;
  h ^= h >>> 8;
  h ^= h >>> 4;
  return (h & 0xf).toString(16);
}

const SHARD_IDS = Array.from({ length: SHARDS }, (_, i) => i.toString(16));
const codePk = (account: string, key: string) => `${account}#${shardOf(key)}`;
export const codeKey = (account: string, key: string): Item => ({ pk: { S: codePk(account, key) }, sk: { S: key } });
const cidPk = (account: string) => `${account}#CID`;
const cidKey = (account: string, callerId: string, key: string): Item => ({
  pk: { S: cidPk(account) },
  sk: { S: `${callerId}#${key}` },
});

/** Attributes of a stored item that are not fields of the code. */
const NON_CODE_ATTRS: ReadonlySet<string> = new Set(['pk', 'sk', 'key', 'callerId']);

/** The code's own fields (a caller's object may carry more), without the key. */
function codeFields(code: CodeItem): StoredCode {
  const { kind, code: digits, ref, description, enabled, expires, level, users, groups, callerIds } = code;
  return { kind, code: digits, ref, description, enabled, expires, level, users, groups, callerIds };
}

/** A code item keeps its key in `sk`; a caller-ID entry, whose `sk` is the number, in `key`. */
export function toCode(item: Item): CodeItem {
  const key = str(item, 'key') ?? str(item, 'sk') ?? '';
  return { ...storedCode(fromItem(item, NON_CODE_ATTRS)), key };
}

/**
 * Items per Query page in a listing. A listing holds two pages of each of the 16 shards; 1 MB
 * pages, parsed, came to some 200 MB for a large account (a replace import's sweep of a
 * million codes), a thousand items to some 20 MB.
 */
export const LIST_PAGE_ITEMS = 1000;

export interface CodeStoreOptions extends StoreOptions {
  /** Items per Query page in listings. @default LIST_PAGE_ITEMS */
  readonly pageSize?: number;
  /**
   * Write the description word index with each batch of codes (code-words.ts): the local
   * stack, which has no table stream. In AWS the indexer function does it from the stream.
   */
  readonly indexWords?: boolean;
}

export class DynamoCodeStore implements CodeStore, CodePages {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly batch: BatchOptions;
  private readonly pageSize: number;
  private readonly words: DynamoCodeWords;
  private readonly indexWords: boolean;

  constructor(options: CodeStoreOptions) {
    this.client = options.client;
    this.table = options.tables.codes;
    this.batch = options.batch ?? {};
    this.pageSize = options.pageSize ?? LIST_PAGE_ITEMS;
    this.words = new DynamoCodeWords(options);
    this.indexWords = options.indexWords === true;
  }

  async getCodes(account: string, keys: readonly string[]): Promise<Map<string, CodeItem>> {
    const found = new Map<string, CodeItem>();
    const unique = [...new Set(keys)];
    if (unique.length === 1) {
      const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: codeKey(account, unique[0] as string) }));
      if (out.Item !== undefined) found.set(unique[0] as string, toCode(out.Item));
      return found;
    }
    if (unique.length === 0) return found;
    const { items } = await batchGet(
      this.client,
      this.table,
      unique.map((k) => codeKey(account, k)),
      this.batch,
    );
    for (const item of items) {
      const code = toCode(item);
      found.set(code.key, code);
    }
    return found;
  }

  /**
   * Apply the changes; the caller-ID entries follow the code. A `delete` must carry the stored
   * code (its `callerIds`), and a `put` over an existing code its `previous`, or entries for
   * numbers the code no longer lists are left behind.
   */
  async writeCodes(account: string, changes: readonly CodeChange[]): Promise<void> {
    const requests = codeWriteRequests(account, changes);
    await Promise.all([batchWrite(this.client, this.table, requests, this.batch), this.indexWords ? this.words.apply(wordChangesOf(account, changes)) : undefined]);
  }

  /**
   * Whether the account has any code: one single-item Query per shard, in parallel. The
   * importer asks before a file's first write: into an empty account (a first import) it need
   * not read before writing.
   */
  async hasCodes(account: string): Promise<boolean> {
    const found = await Promise.all(
      SHARD_IDS.map(async (shard) => {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `${account}#${shard}` } },
            ProjectionExpression: 'sk',
            Limit: 1,
            ConsistentRead: true,
          }),
        );
        return (out.Items?.length ?? 0) > 0;
      }),
    );
    return found.includes(true);
  }

  /**
   * Every code in key order (`A#…` before `Z#…`, then byte order, so `0042` < `042` < `42`):
   * a merge of the 16 shards' Queries. Each shard holds one page and prefetches the next, so
   * memory is bounded by 32 pages whatever the size of the list.
   */
  async *listCodes(account: string, after?: string): AsyncGenerator<CodeItem> {
    yield* this.merged(account, after === undefined ? 'pk = :pk' : 'pk = :pk AND sk > :from', after, this.pageSize, true);
  }

  /** The shards' Queries (`condition` over `:pk` and, when given, `:from`) merged into key order. */
  private async *merged(account: string, condition: string, from: string | undefined, pageSize: number | undefined, readAhead: boolean): AsyncGenerator<CodeItem> {
    const cursors = SHARD_IDS.map(
      (shard) =>
        new ShardCursor(
          queryPages(this.client, {
            TableName: this.table,
            KeyConditionExpression: condition,
            ExpressionAttributeValues: { ':pk': { S: `${account}#${shard}` }, ...(from === undefined ? {} : { ':from': { S: from } }) },
            ConsistentRead: true,
            ...(pageSize === undefined ? {} : { Limit: pageSize }),
          }),
          readAhead,
        ),
    );
    try {
      await Promise.all(cursors.map((c) => c.fill()));
      let live = cursors.filter((c) => c.head !== undefined);
      while (live.length > 0) {
        let min = live[0] as ShardCursor;
        for (const c of live) if ((c.headKey as string) < (min.headKey as string)) min = c;
        yield toCode(min.head as Item);
        await min.advance();
        if (min.head === undefined) live = live.filter((c) => c !== min);
      }
    } finally {
      await Promise.all(cursors.map((c) => c.close()));
    }
  }

  /**
   * One page of codes in key order, for the console's listing: the 16 shards read from just
   * after `after` (or from `keyPrefix`) and merged in key order, a filter applied as they
   * stream, stopping as soon as the page is full — a filter that keeps 1 code in 200 reads
   * about 200 × `limit` codes, not the whole list. Memory is bounded by 32 Query pages.
   */
  async pageCodes(account: string, query: CodePageQuery): Promise<{ codes: CodeItem[]; next?: string }> {
    const { word } = query;
    if (word !== undefined) return this.words.page(account, { ...query, word }, (a, keys) => this.getCodes(a, keys));
    const prefix = query.keyPrefix ?? '';
    const range =
      query.after !== undefined
        ? { condition: 'pk = :pk AND sk > :from', from: query.after }
        : prefix !== ''
          ? { condition: 'pk = :pk AND begins_with(sk, :from)', from: prefix }
          : { condition: 'pk = :pk', from: undefined };
    // A plain page needs `limit + 1` codes in all, spread evenly over the shards by the hash:
    // twice a shard's share each, and a shard that gives more is asked again. A filter reads
    // on, a larger page at a time.
    const pageSize = query.match === undefined ? Math.ceil((query.limit + 1) / SHARDS) * 2 + 2 : Math.max(250, query.limit * 4);
    const codes: CodeItem[] = [];
    // A plain page never needs a shard's second page: reading it ahead would double the requests.
    for await (const code of this.merged(account, range.condition, range.from, pageSize, query.match !== undefined)) {
      // Read from `after`, the keys leave the prefix at some point: every shard is past it then.
      if (!code.key.startsWith(prefix)) {
        if (code.key > prefix) break;
        continue;
      }
      if (query.match !== undefined && !query.match(code)) continue;
      if (codes.length === query.limit) return { codes, next: (codes.at(-1) as CodeItem).key };
      codes.push(code);
    }
    return { codes };
  }

  /**
   * The account code that lists this number. When several do (nothing forbids it across
   * imports), an enabled one wins, then the lowest key.
   */
  async codeForCallerId(account: string, callerId: string): Promise<CodeItem | undefined> {
    let first: CodeItem | undefined;
    for await (const item of queryItems(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': { S: cidPk(account) }, ':prefix': { S: `${callerId}#` } },
    })) {
      const code = toCode(item);
      if (code.kind !== 'account') continue;
      if (code.enabled) return code;
      first ??= code;
    }
    return first;
  }
}

/** One shard's items in order, a page at a time, the next page requested ahead. */
class ShardCursor {
  private readonly pages: AsyncGenerator<Item[]>;
  private page: Item[] = [];
  private index = 0;
  private ahead: Promise<IteratorResult<Item[]>> | undefined;
  private done = false;

  private readonly readAhead: boolean;

  /** `readAhead`: ask for the next page as soon as one arrives (a listing), or only when it is needed (a page). */
  constructor(pages: AsyncGenerator<Item[]>, readAhead: boolean) {
    this.pages = pages;
    this.readAhead = readAhead;
  }

  get head(): Item | undefined {
    return this.page[this.index];
  }

  get headKey(): string | undefined {
    return str(this.head, 'sk');
  }

  /** Load pages until one has an item or the shard is done (a page may be empty). */
  async fill(): Promise<void> {
    while (this.index >= this.page.length && !this.done) {
      const next = await (this.ahead ?? this.pages.next());
      this.ahead = undefined;
      if (next.done) {
        this.done = true;
        this.page = [];
        this.index = 0;
        return;
      }
      this.page = next.value;
      this.index = 0;
      if (!this.readAhead) continue;
      this.ahead = this.pages.next();
      // A rejected prefetch surfaces on the next fill; do not let it go unhandled meanwhile.
      this.ahead.catch(() => undefined);
    }
  }

  async advance(): Promise<void> {
    this.index++;
    await this.fill();
  }

  async close(): Promise<void> {
    if (this.ahead !== undefined) await this.ahead.catch(() => undefined);
    await this.pages.return(undefined);
  }
}

/**
 * The writes that apply `changes` to the codes table: each code's item and its caller-ID
 * entries (the word index is written apart, `code-words.ts`).
 */
export function codeWriteRequests(account: string, changes: readonly CodeChange[]): WriteRequest[] {
  const requests: WriteRequest[] = [];
  for (const change of changes) {
    if ('put' in change) {
      const { put, previous } = change;
      if (previous !== undefined && previous.key !== put.key) {
        throw new Error(`writeCodes: a put's previous must be the same code (key ${put.key.slice(0, 10)}…)`);
      }
      const item = toItem(codeFields(put));
      requests.push({ PutRequest: { Item: { ...item, ...codeKey(account, put.key) } } });
      const listed = new Set(put.callerIds ?? []);
      for (const callerId of listed) {
        requests.push({
          PutRequest: { Item: { ...item, ...cidKey(account, callerId, put.key), key: { S: put.key }, callerId: { S: callerId } } },
        });
      }
      for (const old of previous?.callerIds ?? []) {
        if (!listed.has(old)) requests.push({ DeleteRequest: { Key: cidKey(account, old, put.key) } });
      }
    } else {
      const code = change.delete;
      requests.push({ DeleteRequest: { Key: codeKey(account, code.key) } });
      for (const callerId of new Set(code.callerIds ?? [])) {
        requests.push({ DeleteRequest: { Key: cidKey(account, callerId, code.key) } });
      }
    }
  }
  return requests;
}
