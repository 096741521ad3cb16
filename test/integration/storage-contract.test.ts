/**
 * The DynamoDB stores against dynalite (always) and DynamoDB Local (when
 * DYNAMODB_LOCAL_ENDPOINT is set: `npm run test:dynamodb-local`), plus the batch helpers'
 * retry behaviour against a scripted client.
 */
import { describe, expect, it } from 'vitest';
import type { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import { accountCodeKey, authorizationCodeKey, codeRef, keysForDigits, kindOfKey } from '../../functions/adapters/code-key.ts';
import { BatchIncompleteError, batchGet, batchWrite } from '../../functions/adapters/dynamodb/batch.ts';
import { dynaliteEnv, makeStorageEnv } from './support/dynamo.ts';
import { storageContract } from './support/storage-contract.ts';

storageContract('dynalite', dynaliteEnv);

const dynamodbLocal = process.env.DYNAMODB_LOCAL_ENDPOINT;
if (dynamodbLocal !== undefined && dynamodbLocal !== '') {
  storageContract(`DynamoDB Local (${dynamodbLocal})`, () => makeStorageEnv(dynamodbLocal));
}

type Sent = BatchWriteItemCommand | BatchGetItemCommand;

/** A client whose answers the test scripts, recording what was sent. */
function scriptedClient(answer: (input: Sent['input'], call: number) => unknown) {
  const sent: Sent['input'][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    async send(command: Sent) {
      sent.push(command.input);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return answer(command.input, sent.length);
    },
  } as unknown as DynamoDBClient;
  return { client, sent, maxInFlight: () => maxInFlight };
}

const put = (i: number): WriteRequest => ({ PutRequest: { Item: { pk: { S: 'P' }, sk: { S: String(i) } } } });

function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

describe('batchWrite', () => {
  it('retries unprocessed items alone, with jittered exponential backoff, until they are written', async () => {
    const requests = Array.from({ length: 10 }, (_, i) => put(i));
    const { client, sent } = scriptedClient((input, call) => {
      const batch = (input as BatchWriteItemCommand['input']).RequestItems!.t!;
      // The first two answers leave the last three items unprocessed.
      return call <= 2 ? { UnprocessedItems: { t: batch.slice(-3) } } : { UnprocessedItems: {} };
    });
    const { delays, sleep } = recordingSleep();
    const stats = await batchWrite(client, 't', requests, { sleep, random: () => 0.999, baseDelayMs: 100, maxDelayMs: 150 });
    expect(stats).toEqual({ items: 10, requests: 3, retries: 2 });
    expect(sent.map((i) => (i as BatchWriteItemCommand['input']).RequestItems!.t!.length)).toEqual([10, 3, 3]);
    expect((sent[1] as BatchWriteItemCommand['input']).RequestItems!.t).toEqual(requests.slice(-3));
    // Full jitter: random() × min(cap, base × 2^(n-1)) — 99.9 ms, then capped at 150 ms.
    expect(delays).toEqual([99.9, 149.85]);
  });

  it('never waits longer than the cap, and waits a random share of it', async () => {
    const { client } = scriptedClient((input, call) => (call < 6 ? { UnprocessedItems: (input as BatchWriteItemCommand['input']).RequestItems } : {}));
    const { delays, sleep } = recordingSleep();
    const randoms = [0, 0.5, 0.25, 0.999, 0.75];
    await batchWrite(client, 't', [put(1)], { sleep, random: () => randoms.shift() ?? 0, baseDelayMs: 10, maxDelayMs: 50 });
    expect(delays).toEqual([0, 10, 10, 49.95, 37.5]);
  });

  it('fails loudly after the last attempt, naming the table and what is left', async () => {
    const { client, sent } = scriptedClient((input) => ({ UnprocessedItems: (input as BatchWriteItemCommand['input']).RequestItems }));
    const { sleep } = recordingSleep();
    const err = await batchWrite(client, 'codes', [put(1), put(2)], { sleep, maxAttempts: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchIncompleteError);
    expect(err).toMatchObject({ table: 'codes', unprocessed: 2, attempts: 4 });
    expect((err as Error).message).toMatch(/BatchWriteItem on codes: 2 item\(s\) still unprocessed after 4 attempts/);
    expect(sent.length).toBe(4);
  });

  it('splits into batches of 25, keeps each key once (the last request wins) and bounds concurrency', async () => {
    const { client, sent, maxInFlight } = scriptedClient(() => ({}));
    const requests = [...Array.from({ length: 300 }, (_, i) => put(i)), { DeleteRequest: { Key: { pk: { S: 'P' }, sk: { S: '7' } } } }];
    const stats = await batchWrite(client, 't', requests, { concurrency: 3 });
    expect(stats.requests).toBe(12);
    expect(maxInFlight()).toBe(3);
    const written = sent.flatMap((i) => (i as BatchWriteItemCommand['input']).RequestItems!.t!);
    expect(written.length).toBe(300);
    expect(sent.every((i) => (i as BatchWriteItemCommand['input']).RequestItems!.t!.length <= 25)).toBe(true);
    expect(written.filter((r) => (r.PutRequest?.Item ?? r.DeleteRequest?.Key)!.sk!.S === '7')).toEqual([requests[300]]);
  });

  it('stops starting batches after one fails, and rethrows its error', async () => {
    const { client, sent } = scriptedClient((_, call) => {
      if (call === 2) throw Object.assign(new Error('boom'), { name: 'InternalServerError' });
      return {};
    });
    await expect(
      batchWrite(
        client,
        't',
        Array.from({ length: 250 }, (_, i) => put(i)),
        { concurrency: 2 },
      ),
    ).rejects.toThrow('boom');
    expect(sent.length).toBeLessThan(10);
  });
});

describe('batchGet', () => {
  it('asks each key once, 100 per request, and retries unprocessed keys', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => ({ pk: { S: 'P' }, sk: { S: String(i % 120) } }));
    const { client, sent } = scriptedClient((input, call) => {
      const asked = (input as BatchGetItemCommand['input']).RequestItems!.t!.Keys!;
      if (call === 1) return { Responses: { t: asked.slice(0, 60) }, UnprocessedKeys: { t: { Keys: asked.slice(60) } } };
      return { Responses: { t: asked } };
    });
    const { sleep, delays } = recordingSleep();
    const { items, stats } = await batchGet(client, 't', keys, { sleep, concurrency: 1, consistentRead: true });
    expect(items.length).toBe(120);
    expect(stats).toEqual({ items: 120, requests: 3, retries: 1 });
    expect(sent.map((i) => (i as BatchGetItemCommand['input']).RequestItems!.t!.Keys!.length)).toEqual([100, 40, 20]);
    expect((sent[0] as BatchGetItemCommand['input']).RequestItems!.t!.ConsistentRead).toBe(true);
    expect(delays.length).toBe(1);
  });

  it('fails loudly when keys stay unprocessed', async () => {
    const { client } = scriptedClient((input) => ({ UnprocessedKeys: (input as BatchGetItemCommand['input']).RequestItems }));
    const { sleep } = recordingSleep();
    await expect(batchGet(client, 'users', [{ pk: { S: 'a' }, sk: { S: 'b' } }], { sleep, maxAttempts: 3 })).rejects.toThrow(
      /BatchGetItem on users: 1 item\(s\) still unprocessed after 3 attempts/,
    );
  });
});

describe('code keys', () => {
  it('keys authorization codes by HMAC-SHA256(pepper, account ":" code), never by the digits', () => {
    // Known answer: printf 'acme:1234' | openssl dgst -sha256 -hmac pepper
    const key = authorizationCodeKey('pepper', 'acme', '1234');
    expect(key).toBe('Z#48777939201b5a40463d7b981ae07a7e3e1207718e35adc6382fa4d8f6dae282');
    expect(codeRef(key)).toBe('48777939');
    expect(kindOfKey(key)).toBe('authorization');
    expect(authorizationCodeKey('pepper', 'globex', '1234')).not.toBe(key);
    expect(authorizationCodeKey('pepper', 'acme', '01234')).not.toBe(key);
    expect(() => authorizationCodeKey('', 'acme', '1234')).toThrow(/pepper/);
    expect(() => codeRef(accountCodeKey('1234'))).toThrow();
  });

  it('keeps leading zeros in account code keys and gives both candidates for typed digits', () => {
    expect(accountCodeKey('0042')).toBe('A#0042');
    expect(kindOfKey('A#0042')).toBe('account');
    expect(keysForDigits('pepper', 'acme', '1234')).toEqual({ account: 'A#1234', authorization: authorizationCodeKey('pepper', 'acme', '1234') });
  });
});
