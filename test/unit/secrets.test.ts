/**
 * The secret reader (functions/adapters/secrets.ts) against a loopback stand-in for Secrets
 * Manager's JSON API, through the real SDK client: values are cached for their max age, read
 * again after it, and a failed read is not cached.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeSecretReader } from '../../functions/adapters/secrets.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate-pepper';
let value: string | undefined = 'pepper-1';
let status = 200;
let reads = 0;
let server: Server;
let client: SecretsManagerClient;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      reads++;
      expect(req.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
      expect(JSON.parse(body)).toEqual({ SecretId: ARN });
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (status !== 200) {
        res.statusCode = status;
        res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such secret' }));
        return;
      }
      res.end(JSON.stringify({ ARN, Name: 'tollgate-pepper', ...(value === undefined ? {} : { SecretString: value }) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new SecretsManagerClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  vi.useRealTimers();
  value = 'pepper-1';
  status = 200;
  reads = 0;
});

describe('the secret reader', () => {
  it('reads a secret once within its max age, and again after it (a rotated value is picked up)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const read = makeSecretReader(client, 60);
    expect(await read(ARN)).toBe('pepper-1');
    value = 'pepper-2';
    vi.setSystemTime(new Date('2026-01-01T00:00:59Z'));
    expect(await read(ARN)).toBe('pepper-1');
    expect(reads).toBe(1);
    vi.setSystemTime(new Date('2026-01-01T00:01:01Z'));
    expect(await read(ARN)).toBe('pepper-2');
    expect(reads).toBe(2);
  });

  it('does not cache a failed read: the next one tries again', async () => {
    const read = makeSecretReader(client);
    status = 400;
    await expect(read(ARN)).rejects.toThrow(/no such secret/);
    status = 200;
    expect(await read(ARN)).toBe('pepper-1');
    expect(reads).toBe(2);
  });

  it('refuses a secret with no string value, naming it', async () => {
    value = undefined;
    await expect(makeSecretReader(client)(ARN)).rejects.toThrow(/tollgate-pepper has no string value/);
  });
});
