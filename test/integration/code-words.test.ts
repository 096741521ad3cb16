/**
 * The codes' description word index against dynalite: kept by the local store with each write
 * and by the indexer from AWS-shaped stream records; read a page at a time, each code once,
 * stale entries never shown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeKey, DynamoCodeStore } from '../../functions/adapters/dynamodb/codes.ts';
import { DynamoCodeWords, WORD_INDEX_KEYS } from '../../functions/adapters/dynamodb/code-words.ts';
import type { CodeItem } from '../../functions/core/ports.ts';
import { makeWordIndexHandler, wordChangesOfStream } from '../../functions/handlers/code-words.ts';
import { streamEvent, streamRecord } from '../support/stream-events.ts';
import { dynaliteEnv, type StorageEnv } from './support/dynamo.ts';

let env: StorageEnv;
let indexed: DynamoCodeStore;
let plain: DynamoCodeStore;
let words: DynamoCodeWords;

beforeAll(async () => {
  env = await dynaliteEnv();
  indexed = new DynamoCodeStore({ client: env.client, tables: env.tables, indexWords: true });
  plain = new DynamoCodeStore({ client: env.client, tables: env.tables });
  words = new DynamoCodeWords({ client: env.client, tables: env.tables });
});
afterAll(() => env?.close());

const code = (digits: string, description: string, more: Partial<CodeItem> = {}): CodeItem => ({
  key: `A#${digits}`,
  kind: 'account',
  code: digits,
  description,
  enabled: true,
  ...more,
});

/** Every code a word search finds, page after page. */
async function search(store: DynamoCodeStore, account: string, word: string, limit = 50, extra: { keyPrefix?: string; match?: (c: CodeItem) => boolean } = {}): Promise<string[]> {
  const found: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await store.pageCodes(account, { limit, word, ...extra, ...(after === undefined ? {} : { after }) });
    found.push(...page.codes.map((c) => c.key));
    if (page.next === undefined) return found;
    after = page.next;
  }
  throw new Error('more than 100 pages');
}

describe('the word index kept with each write (local stack)', () => {
  it('finds codes by the start of any description word, in word then key order, each code once', async () => {
    await indexed.writeCodes('wa', [
      { put: code('1003', 'Smithson trust') },
      { put: code('1001', 'Smith & Smithson LLP') },
      { put: code('1002', 'Estate of J. SMITH') },
      { put: code('1004', 'Blacksmith guild') },
      { put: code('1005', 'Müller Söhne GmbH') },
    ]);
    expect(await search(indexed, 'wa', 'smith')).toEqual(['A#1001', 'A#1002', 'A#1003']);
    // 1001 has "smith" and "smithson": it is listed once, under "smith".
    expect(await search(indexed, 'wa', 'smithso')).toEqual(['A#1001', 'A#1003']);
    expect(await search(indexed, 'wa', 'muller')).toEqual(['A#1005']);
    expect(await search(indexed, 'wa', 'sohne')).toEqual(['A#1005']);
    expect(await search(indexed, 'wa', 'mith')).toEqual([]);
    expect(await search(indexed, 'other', 'smith')).toEqual([]);
  });

  it('pages through more entries than one Query returns, and applies the other filters', async () => {
    const many = Array.from({ length: 260 }, (_, i) => ({ put: code(String(20_000 + i), `Harbor matter ${i}`, { enabled: i % 3 !== 0 }) }));
    await indexed.writeCodes('wb', many);
    const all = many.map((c) => c.put.key);
    expect(await search(indexed, 'wb', 'harbor', 50)).toEqual(all);
    expect(await search(indexed, 'wb', 'harb', 7)).toEqual(all);
    const enabled = await search(indexed, 'wb', 'harbor', 40, { match: (c) => c.enabled });
    expect(enabled).toEqual(many.filter((c) => c.put.enabled).map((c) => c.put.key));
    expect(await search(indexed, 'wb', 'harbor', 50, { keyPrefix: 'Z#' })).toEqual([]);
  });

  it('follows a description that changes and a code that is deleted', async () => {
    const first = code('3001', 'Acme litigation');
    await indexed.writeCodes('wc', [{ put: first }]);
    const second = { ...first, description: 'Acme probate' };
    await indexed.writeCodes('wc', [{ put: second, previous: first }]);
    expect(await search(indexed, 'wc', 'litigation')).toEqual([]);
    expect(await search(indexed, 'wc', 'probate')).toEqual(['A#3001']);
    await indexed.writeCodes('wc', [{ delete: second }]);
    expect(await search(indexed, 'wc', 'acme')).toEqual([]);
    // Nothing is left behind: the account's word partitions are empty.
    await expect(words.rebuild('wc', plain.listCodes('wc'))).resolves.toBe(0);
  });

  it('never shows a stale entry: a code changed by a writer that did not index is checked again', async () => {
    const before = code('4001', 'Orchard lease');
    await indexed.writeCodes('wd', [{ put: before }]);
    await plain.writeCodes('wd', [{ put: { ...before, description: 'Vineyard lease' }, previous: before }]);
    expect(await search(indexed, 'wd', 'orchard')).toEqual([]);
    expect(await search(indexed, 'wd', 'vineyard')).toEqual([]);
    // The backfill puts what was missed.
    await expect(words.rebuild('wd', plain.listCodes('wd'))).resolves.toBe(1);
    expect(await search(indexed, 'wd', 'vineyard')).toEqual(['A#4001']);
  });
});

/** The plain key of a code item, for a stream record. */
const keysOf = (account: string, key: string) => ({ pk: codeKey(account, key).pk?.S, sk: key });

describe('the word indexer on the codes table stream (AWS)', () => {
  it('indexes inserts, modifications and removals, and ignores caller-ID and word items', async () => {
    const a = code('5001', 'Granite quarry');
    const b = code('5002', 'Granite tiles');
    const b2 = { ...b, description: 'Marble tiles' };
    const auth = { key: 'Z#0a1b2c', kind: 'authorization' as const, ref: '0a1b2c3d', description: 'Granite night shift', enabled: true };
    await plain.writeCodes('we', [{ put: a }, { put: b2 }, { put: auth }]);
    const event = streamEvent(
      streamRecord('INSERT', keysOf('we', a.key), undefined, a),
      streamRecord('INSERT', keysOf('we', b.key), undefined, b),
      streamRecord('MODIFY', keysOf('we', b.key), b, b2),
      streamRecord('INSERT', keysOf('we', auth.key), undefined, auth),
      streamRecord('INSERT', { pk: 'we#CID', sk: `+15005550006#${a.key}` }, undefined, a),
      streamRecord('INSERT', { pk: 'we#W#gr', sk: `granite#${a.key}` }),
    );
    expect(wordChangesOfStream(event).map((c) => c.key)).toEqual([a.key, b.key, b.key, auth.key]);
    const handler = makeWordIndexHandler(words);
    await expect(handler(event)).resolves.toEqual({ indexed: 4 });
    // Delivered twice (a retried batch): the same index.
    await handler(event);
    expect(await search(plain, 'we', 'granite')).toEqual([a.key, auth.key]);
    expect(await search(plain, 'we', 'marble')).toEqual([b.key]);
    await plain.writeCodes('we', [{ delete: a }]);
    await handler(streamEvent(streamRecord('REMOVE', keysOf('we', a.key), a)));
    expect(await search(plain, 'we', 'quarry')).toEqual([]);
    expect(await search(plain, 'we', 'granite')).toEqual([auth.key]);
  });

  it('writes only items whose partition key the IAM condition allows (the indexer may write nothing else)', async () => {
    const sent: { RequestItems: Record<string, { PutRequest?: { Item: { pk: { S: string } } }; DeleteRequest?: { Key: { pk: { S: string } } } }[]> }[] = [];
    const recording = {
      send: async (command: { input: (typeof sent)[number] }) => {
        sent.push(command.input);
        return { UnprocessedItems: {} };
      },
    };
    const only = new DynamoCodeWords({ client: recording as never, tables: env.tables });
    const before = code('6001', 'Alpha beta gamma');
    await makeWordIndexHandler(only)(streamEvent(streamRecord('MODIFY', keysOf('acme', before.key), before, { ...before, description: 'Alpha delta' })));
    const pattern = new RegExp(`^${WORD_INDEX_KEYS.replaceAll('*', '.*')}$`);
    const keys = sent.flatMap((input) => Object.values(input.RequestItems).flat()).map((w) => (w.PutRequest?.Item ?? w.DeleteRequest?.Key)?.pk.S);
    expect(keys.sort()).toEqual(['acme#W#be', 'acme#W#de', 'acme#W#ga']);
    for (const pk of keys) expect(pk).toMatch(pattern);
  });
});
