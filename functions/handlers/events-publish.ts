/**
 * The event publisher: the calls table's stream invokes it with each write of a call, old and
 * new image; a write that completed a record, or retagged it, is published to the event bus and
 * queued for the account's webhooks (docs/events.md). A batch that fails is retried by the
 * stream (bisected down to the failing write, then set aside): receivers deduplicate on the id.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { callFromImage } from '../adapters/dynamodb/calls.ts';
import { makeDynamoClient } from '../adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../adapters/dynamodb/stores.ts';
import type { Item } from '../adapters/dynamodb/attributes.ts';
import { awsCallRecordEvents } from '../adapters/events/aws.ts';
import { eventsConfig, storageConfig, type Env } from '../config.ts';
import type { Logger } from '../core/ports.ts';
import { publishChanges, type CallChange, type PublishDeps } from '../services/events.ts';
import { deployedFunction } from './lambda.ts';

/** The stream's writes as the records before and after them; images that are no call are left out. */
export function changesOf(event: DynamoDBStreamEvent): CallChange[] {
  const changes: CallChange[] = [];
  for (const record of event.Records ?? []) {
    const before = callFromImage(record.dynamodb?.OldImage as Item | undefined);
    const after = callFromImage(record.dynamodb?.NewImage as Item | undefined);
    if (before !== undefined || after !== undefined) changes.push({ ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) });
  }
  return changes;
}

export function makePublishHandler(deps: PublishDeps): (event: DynamoDBStreamEvent) => Promise<{ published: number }> {
  return async (event) => ({ published: await publishChanges(deps, changesOf(event)) });
}

function awsDeps(env: Env, log: Logger): PublishDeps {
  const storage = storageConfig(env);
  const { eventBusName, webhookQueueUrl } = eventsConfig(env);
  const client = makeDynamoClient(storage.dynamodbEndpoint === undefined ? {} : { endpoint: storage.dynamodbEndpoint });
  return {
    accounts: makeDynamoStores({ client, tables: storage.tables }).accounts,
    events: awsCallRecordEvents({ busName: eventBusName, queueUrl: webhookQueueUrl }),
    now: () => new Date(),
    log,
  };
}

const deployed = deployedFunction<DynamoDBStreamEvent, { published: number }>('tollgate-events', (env, log) => makePublishHandler(awsDeps(env, log)));
export const handler = deployed.handler;
export const deployedHandler = deployed.build;
