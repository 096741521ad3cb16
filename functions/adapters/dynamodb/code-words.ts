/**
 * The codes' word index (docs/data-model.md): for each word of a code's description, an item
 * `pk=<acct>#W#<its first two characters>`, `sk=<word>#<code key>`. A search by description
 * Queries the words that start with the searched word, in order, reads the codes they point to
 * (one BatchGet a page) and keeps those that still match: it reads about one page of index
 * and one of codes whatever the size of the list, where reading the list in order to filter it
 * reads the whole list for a rare word. Two characters of the word in the partition key spread
 * a large import's index writes over hundreds of partitions.
 *
 * The index is kept apart from the import, so a million-row import writes only its codes: in
 * AWS the codes table's stream runs {@link wordChangesOf} through the indexer function; locally
 * the stack's code store writes the index with each batch (codes.ts, `indexWords`). An entry
 * that is stale (a code deleted or its description changed, the stream not yet through) is
 * never shown: every code read is checked against the search again.
 */
import type { WriteRequest } from '@aws-sdk/client-dynamodb';
import type { CodeChange, CodeItem, CodePageQuery } from '../../core/ports.ts';
import { indexedWords, listedUnder } from '../../core/search-words.ts';
import type { Item } from './attributes.ts';
import { batchWrite, MAX_BATCH_GET } from './batch.ts';
import { queryPages, type StoreOptions } from './common.ts';

/** A code's description before and after a write (absent: no code, or no description). */
export interface WordChange {
  readonly account: string;
  readonly key: string;
  readonly before?: string | undefined;
  readonly after?: string | undefined;
}

/** The partition keys of word index items, as an IAM `dynamodb:LeadingKeys` pattern: the indexer writes nothing else. */
export const WORD_INDEX_KEYS = '*#W#*';
const wordPk = (account: string, word: string) => `${account}#W#${word.slice(0, 2)}`;
const wordKey = (account: string, word: string, key: string): Item => ({ pk: { S: wordPk(account, word) }, sk: { S: `${word}#${key}` } });

/** The index writes one code change needs: its words that went away deleted, its new words put. */
export function wordWrites(change: WordChange): WriteRequest[] {
  const before = new Set(indexedWords(change.before));
  const after = new Set(indexedWords(change.after));
  const writes: WriteRequest[] = [];
  for (const w of before) if (!after.has(w)) writes.push({ DeleteRequest: { Key: wordKey(change.account, w, change.key) } });
  for (const w of after) if (!before.has(w)) writes.push({ PutRequest: { Item: wordKey(change.account, w, change.key) } });
  return writes;
}

/** The word changes of a batch of code writes (codes.ts). */
export function wordChangesOf(account: string, changes: readonly CodeChange[]): WordChange[] {
  return changes.map((change) =>
    'put' in change
      ? { account, key: change.put.key, before: change.previous?.description, after: change.put.description }
      : { account, key: change.delete.key, before: change.delete.description },
  );
}

/** A code item's account and key, from its `pk=<acct>#<shard>` and `sk`; undefined for every other item of the table. */
export function codeItemKey(keys: Item | undefined): { account: string; key: string } | undefined {
  const pk = keys?.pk?.S;
  const sk = keys?.sk?.S;
  const shard = pk === undefined ? null : /^(.+)#[0-9a-f]$/.exec(pk);
  if (shard === null || sk === undefined || !/^[AZ]#/.test(sk)) return undefined;
  return { account: shard[1] as string, key: sk };
}

export type GetCodes = (account: string, keys: readonly string[]) => Promise<Map<string, CodeItem>>;

export class DynamoCodeWords {
  private readonly options: StoreOptions;

  constructor(options: StoreOptions) {
    this.options = options;
  }

  private get table(): string {
    return this.options.tables.codes;
  }

  /** Write the index entries of these changes, in order (of two writes of one entry the later wins). */
  async apply(changes: readonly WordChange[]): Promise<void> {
    const writes = changes.flatMap(wordWrites);
    if (writes.length > 0) await batchWrite(this.options.client, this.table, writes, this.options.batch);
  }

  /**
   * One page of the codes with a description word starting with `query.word`, in the order of
   * that word, then key; `next` is the last entry's sort key, to ask the next page `after`.
   * A code listing two matching words appears once, under the first (search-words.ts).
   */
  async page(account: string, query: CodePageQuery & { readonly word: string }, getCodes: GetCodes): Promise<{ codes: CodeItem[]; next?: string }> {
    const { word } = query;
    const from = query.after?.startsWith(word) === true ? query.after : undefined;
    const codes: CodeItem[] = [];
    let last = '';
    const pages = queryPages(this.options.client, {
      TableName: this.table,
      KeyConditionExpression: from === undefined ? 'pk = :pk AND begins_with(sk, :w)' : 'pk = :pk AND sk > :w',
      ExpressionAttributeValues: { ':pk': { S: wordPk(account, word) }, ':w': { S: from ?? word } },
      // One BatchGet of codes per page of entries.
      Limit: MAX_BATCH_GET,
    });
    for await (const items of pages) {
      const entries = items.map(entryOf).filter((e) => e.word.startsWith(word));
      const found =
        entries.length === 0
          ? new Map<string, CodeItem>()
          : await getCodes(
              account,
              entries.map((e) => e.key),
            );
      for (const entry of entries) {
        const code = found.get(entry.key);
        if (code === undefined || listedUnder(code.description, word) !== entry.word) continue;
        if ((query.keyPrefix !== undefined && !code.key.startsWith(query.keyPrefix)) || (query.match !== undefined && !query.match(code))) continue;
        if (codes.length === query.limit) return { codes, next: last };
        codes.push(code);
        last = entry.sk;
      }
      // Read from `after`, the entries leave the word at some point: the rest of the partition is other words.
      if (entries.length < items.length) break;
    }
    return { codes };
  }

  /** Put every code's entries (a backfill of codes written before the index, or by a writer that did not index). */
  async rebuild(account: string, codes: AsyncIterable<CodeItem>): Promise<number> {
    let batch: WordChange[] = [];
    let count = 0;
    for await (const code of codes) {
      batch.push({ account, key: code.key, after: code.description });
      count++;
      if (batch.length === 500) {
        await this.apply(batch);
        batch = [];
      }
    }
    await this.apply(batch);
    return count;
  }
}

function entryOf(item: Item): { sk: string; word: string; key: string } {
  const sk = item.sk?.S ?? '';
  const hash = sk.indexOf('#');
  return { sk, word: sk.slice(0, hash), key: sk.slice(hash + 1) };
}
