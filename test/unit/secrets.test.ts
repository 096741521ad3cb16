/**
 * The secret reader (functions/adapters/secrets.ts) through the real SDK client against a
 * loopback Secrets Manager: values are cached for their max age, read again after it, and a
 * failed read is not cached.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeSecretReader } from '../../functions/adapters/secrets.ts';
import { startSecretsManager, type SecretsManagerStandIn } from '../support/secrets-manager.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate-pepper';
let sm: SecretsManagerStandIn;
let client: SecretsManagerClient;

beforeAll(async () => {
  sm = await startSecretsManager();
  client = sm.client();
});

afterAll(async () => {
  client.destroy();
  await sm.close();
});

afterEach(() => {
  vi.useRealTimers();
  sm.secrets.clear();
});

describe('the secret reader', () => {
  it('reads a secret once within its max age, and again after it (a rotated value is picked up)', async () => {
    sm.secrets.set(ARN, 'pepper-1');
    const before = sm.reads();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const read = makeSecretReader(client, 60);
    expect(await read(ARN)).toBe('pepper-1');
    sm.secrets.set(ARN, 'pepper-2');
    vi.setSystemTime(new Date('2026-01-01T00:00:59Z'));
    expect(await read(ARN)).toBe('pepper-1');
    expect(sm.reads() - before).toBe(1);
    vi.setSystemTime(new Date('2026-01-01T00:01:01Z'));
    expect(await read(ARN)).toBe('pepper-2');
    expect(sm.reads() - before).toBe(2);
  });

  it('does not cache a failed read: the next one tries again', async () => {
    const read = makeSecretReader(client);
    await expect(read(ARN)).rejects.toThrow(/can't find the specified secret/);
    sm.secrets.set(ARN, 'pepper-1');
    expect(await read(ARN)).toBe('pepper-1');
  });

  it('refuses a secret with no string value, naming it', async () => {
    sm.secrets.set(ARN, undefined);
    await expect(makeSecretReader(client)(ARN)).rejects.toThrow(/tollgate-pepper has no string value/);
  });
});
