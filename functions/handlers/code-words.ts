/**
 * The word indexer: the codes table's stream invokes it with each write of a code (the stream's
 * filter passes only code items, whose sort key starts `A#` or `Z#`), old and new image; it
 * keeps the description word index the console searches by (adapters/dynamodb/code-words.ts).
 * Its writes are idempotent: a batch retried, or delivered twice, ends the same.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { Item } from '../adapters/dynamodb/attributes.ts';
import { makeDynamoClient } from '../adapters/dynamodb/client.ts';
import { codeItemKey, DynamoCodeWords, type WordChange } from '../adapters/dynamodb/code-words.ts';
import { storageConfig } from '../config.ts';
import { deployedFunction } from './lambda.ts';

/** The stream's writes of codes as descriptions before and after; every other item is left out. */
export function wordChangesOfStream(event: DynamoDBStreamEvent): WordChange[] {
  const changes: WordChange[] = [];
  for (const record of event.Records ?? []) {
    const at = codeItemKey(record.dynamodb?.Keys as Item | undefined);
    if (at === undefined) continue;
    const before = (record.dynamodb?.OldImage as Item | undefined)?.description?.S;
    const after = (record.dynamodb?.NewImage as Item | undefined)?.description?.S;
    changes.push({ ...at, before, after });
  }
  return changes;
}

export function makeWordIndexHandler(words: Pick<DynamoCodeWords, 'apply'>): (event: DynamoDBStreamEvent) => Promise<{ indexed: number }> {
  return async (event) => {
    const changes = wordChangesOfStream(event);
    await words.apply(changes);
    return { indexed: changes.length };
  };
}

const deployed = deployedFunction<DynamoDBStreamEvent, { indexed: number }>('tollgate-code-words', (env) => {
  const storage = storageConfig(env);
  const client = makeDynamoClient(storage.dynamodbEndpoint === undefined ? {} : { endpoint: storage.dynamodbEndpoint });
  return makeWordIndexHandler(new DynamoCodeWords({ client, tables: storage.tables }));
});
export const handler = deployed.handler;
export const deployedHandler = deployed.build;
