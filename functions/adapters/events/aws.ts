/**
 * Call-record events in AWS (docs/events.md): each event goes to the stack's EventBridge bus
 * (`source` tollgate, `detail-type` Call completed / Call retagged, `detail` the record's
 * fields), and one message per webhook URL to the delivery queue, whose function POSTs it and
 * retries with backoff for a day.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CallRecordEvent } from '../../core/events.ts';
import type { CallRecordEvents } from '../../core/ports.ts';

/** A webhook delivery as the queue carries it. */
export interface WebhookDelivery {
  readonly url: string;
  readonly event: CallRecordEvent;
}

export interface AwsEventsOptions {
  readonly busName: string;
  readonly queueUrl: string;
  readonly eventBridge?: EventBridgeClient;
  readonly sqs?: SQSClient;
}

export function awsCallRecordEvents(options: AwsEventsOptions): CallRecordEvents {
  const eventBridge = options.eventBridge ?? new EventBridgeClient({});
  const sqs = options.sqs ?? new SQSClient({});
  return {
    async publish(event, webhooks) {
      const put = await eventBridge.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: options.busName, Source: event.source, DetailType: event['detail-type'], Detail: JSON.stringify(event.detail), Time: new Date(event.time) }],
        }),
      );
      if ((put.FailedEntryCount ?? 0) > 0)
        throw new Error(`EventBridge refused event ${event.id}: ${put.Entries?.[0]?.ErrorCode ?? 'unknown'} ${put.Entries?.[0]?.ErrorMessage ?? ''}`.trim());
      if (webhooks.length === 0) return;
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: webhooks.map((url, i) => ({ Id: String(i), MessageBody: JSON.stringify({ url, event } satisfies WebhookDelivery) })),
        }),
      );
      if ((sent.Failed?.length ?? 0) > 0) throw new Error(`the delivery queue refused ${sent.Failed?.length} of event ${event.id}'s webhooks`);
    },
  };
}
