/**
 * A loopback stand-in for Secrets Manager's JSON API (GetSecretValue only), so the real SDK
 * client, and the deployed handlers that build their own, read secrets without AWS. It also
 * takes SQS's SendMessage (JSON protocol) and keeps the messages, for a handler that queues.
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
  /** A client for the stand-in, with throwaway credentials. */
  client(): SecretsManagerClient;
  close(): Promise<void>;
}

export async function startSecretsManager(): Promise<SecretsManagerStandIn> {
  const secrets = new Map<string, string | undefined>();
  const messages: { queueUrl: string; body: string }[] = [];
  let reads = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.headers['x-amz-target'] === 'AmazonSQS.SendMessage') {
        const { QueueUrl, MessageBody } = JSON.parse(body) as { QueueUrl: string; MessageBody: string };
        messages.push({ queueUrl: QueueUrl, body: MessageBody });
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        res.end(JSON.stringify({ MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(MessageBody).digest('hex') }));
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
