/**
 * Webhook delivery: one queued event for one URL a message (docs/events.md). A receiver that
 * answers 2xx is done; any other answer, a timeout or a refused connection puts the message
 * back after a delay that doubles with each try (1 minute, 2, 4 … at most an hour), and after
 * a day of tries it goes to the dead-letter queue with an alarm.
 */
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { WebhookDelivery } from '../adapters/events/aws.ts';
import { postEvent } from '../adapters/events/webhook.ts';
import { makeSecretReader } from '../adapters/secrets.ts';
import { webhookQueueUrl, webhookSecretsArn, type Env } from '../config.ts';
import type { Logger } from '../core/ports.ts';
import { deployedFunction } from './lambda.ts';

/** Seconds before the next try, after `receives` tries: 60 · 2^(receives−1), at most an hour. */
export function retryDelaySeconds(receives: number): number {
  return Math.min(60 * 2 ** Math.max(0, receives - 1), 3600);
}

export interface DeliverDeps {
  /** The account's webhook secret. */
  readonly secretOf: (account: string) => Promise<string | undefined>;
  readonly post: (url: string, event: WebhookDelivery['event'], secret: string) => Promise<void>;
  /** Keep the message out of sight this long before its next try. */
  readonly delay: (receiptHandle: string, seconds: number) => Promise<void>;
  readonly log: Logger;
}

export function makeDeliverHandler(deps: DeliverDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const delivery = JSON.parse(record.body) as WebhookDelivery;
      try {
        const secret = await deps.secretOf(delivery.event.account);
        if (secret === undefined) throw new Error(`account ${delivery.event.account} has no webhook secret: add it to the webhook secrets (README, "Deploy to AWS")`);
        await deps.post(delivery.url, delivery.event, secret);
      } catch (err) {
        const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
        const seconds = retryDelaySeconds(receives);
        deps.log.warn('call-record event delivery failed; will retry', {
          url: delivery.url,
          id: delivery.event.id,
          receives,
          retryInSeconds: seconds,
          why: (err as Error).message,
        });
        await deps.delay(record.receiptHandle, seconds).catch(() => undefined);
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}

function awsDeps(env: Env, log: Logger): DeliverDeps {
  const readSecret = makeSecretReader(new SecretsManagerClient({}));
  const arn = webhookSecretsArn(env);
  const sqs = new SQSClient({});
  const queueUrl = webhookQueueUrl(env);
  return {
    secretOf: async (account) => (JSON.parse(await readSecret(arn)) as Record<string, string | undefined>)[account],
    post: (url, event, secret) => postEvent(url, event, secret),
    delay: async (receiptHandle, seconds) => {
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
    },
    log,
  };
}

const deployed = deployedFunction<SQSEvent, SQSBatchResponse>('tollgate-webhooks', (env, log) => makeDeliverHandler(awsDeps(env, log)));
export const handler = deployed.handler;
export const deployedHandler = deployed.build;
