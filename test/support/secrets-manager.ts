/**
 * A loopback stand-in for Secrets Manager's JSON API (GetSecretValue only), so the real SDK
 * client, and the deployed handlers that build their own, read secrets without AWS. It also
 * takes what the deployed functions send to SQS (SendMessage, SendMessageBatch,
 * ChangeMessageVisibility: JSON protocol) and EventBridge (PutEvents) and keeps it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface SecretsManagerStandIn {
  readonly endpoint: string;
  /** The secrets by ARN; a key with `undefined` is a secret without a string value. */
  readonly secrets: Map<string, string | undefined>;
  /** How many GetSecretValue requests arrived. */
  reads(): number;
  /** The SQS messages sent to it, oldest first; take them with `splice`. */
  readonly messages: { readonly queueUrl: string; readonly body: string }[];
  /** The visibility changes asked of SQS: a message kept out of sight before its next try. */
  readonly delays: { readonly receiptHandle: string; readonly seconds: number }[];
  /** The entries put on EventBridge. */
  readonly events: { readonly EventBusName?: string; readonly Source?: string; readonly DetailType?: string; readonly Detail?: string }[];
  /** A client for the stand-in, with throwaway credentials. */
  client(): SecretsManagerClient;
  close(): Promise<void>;
}

export async function startSecretsManager(): Promise<SecretsManagerStandIn> {
  const secrets = new Map<string, string | undefined>();
  const messages: { queueUrl: string; body: string }[] = [];
  const delays: { receiptHandle: string; seconds: number }[] = [];
  const events: Record<string, string>[] = [];
  let reads = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const answer = otherService(String(req.headers['x-amz-target'] ?? ''), body, { messages, delays, events });
      if (answer !== undefined) {
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        res.end(JSON.stringify(answer));
        return;
      }
      reads++;
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      const id = secretId(body);
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue' || !secrets.has(id)) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret: ${id}` }));
        return;
      }
      const value = secrets.get(id);
      res.end(JSON.stringify({ ARN: id, Name: id.split(':').at(-1), ...(value === undefined ? {} : { SecretString: value }) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    secrets,
    reads: () => reads,
    messages,
    delays,
    events,
    client: () => new SecretsManagerClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The SecretId of a GetSecretValue request; '' for anything else (another service's request, say). */
function secretId(body: string): string {
  try {
    return (JSON.parse(body) as { SecretId?: string }).SecretId ?? '';
  } catch {
    return '';
  }
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** SQS's and EventBridge's answer to a request the stand-in keeps; undefined for Secrets Manager's. */
function otherService(target: string, body: string, kept: Pick<SecretsManagerStandIn, 'messages' | 'delays' | 'events'>): Record<string, unknown> | undefined {
  const input =
    target.startsWith('AmazonSQS.') || target.startsWith('AWSEvents.')
      ? (JSON.parse(body) as { QueueUrl: string; MessageBody: string; ReceiptHandle: string; VisibilityTimeout: number; Entries: unknown })
      : undefined;
  if (input === undefined) return undefined;
  if (target === 'AmazonSQS.SendMessage') {
    kept.messages.push({ queueUrl: input.QueueUrl, body: input.MessageBody });
    return { MessageId: randomUUID(), MD5OfMessageBody: md5(input.MessageBody) };
  }
  if (target === 'AmazonSQS.SendMessageBatch') {
    const entries = input.Entries as { Id: string; MessageBody: string }[];
    for (const e of entries) kept.messages.push({ queueUrl: input.QueueUrl, body: e.MessageBody });
    return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: md5(e.MessageBody) })), Failed: [] };
  }
  if (target === 'AmazonSQS.ChangeMessageVisibility') {
    kept.delays.push({ receiptHandle: input.ReceiptHandle, seconds: input.VisibilityTimeout });
    return {};
  }
  if (target === 'AWSEvents.PutEvents') {
    const entries = input.Entries as Record<string, string>[];
    kept.events.push(...entries);
    return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) };
  }
  return { __type: 'UnsupportedOperation', message: `the stand-in does not answer ${target}` };
}
