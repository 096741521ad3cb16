/**
 * The Twilio token secret: auth tokens per Account SID, and the account the operator binds
 * each SID to (docs/security.md, "Tenancy").
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { parseTokenMap, parseTwilioSecret, secretBindings } from '../../functions/adapters/twilio/tokens.ts';

const A = `AC${'a'.repeat(32)}`;
const B = `AC${'b'.repeat(32)}`;
const C = `AC${'c'.repeat(32)}`;

describe('the Twilio token secret', () => {
  it('reads bound entries, the older token lists, and a lone token', () => {
    const json = JSON.stringify({ [A]: { account: 'acme', tokens: ['old', 'new'] }, [B]: ['t1', 't2'], [C]: 'single' });
    expect(parseTwilioSecret(json)).toEqual(
      new Map([
        [A, { account: 'acme', tokens: ['old', 'new'] }],
        [B, { tokens: ['t1', 't2'] }],
        [C, { tokens: ['single'] }],
      ]),
    );
    expect(parseTokenMap(json).get(A)).toEqual(['old', 'new']);
  });

  it('refuses a secret that is not a map', () => {
    expect(() => parseTwilioSecret('["x"]')).toThrow(/JSON object/);
  });

  it("gives each SID's bound account, reading the secret again once it is 10 s old", async () => {
    let value = JSON.stringify({ [A]: { account: 'acme', tokens: ['t'] }, [B]: ['t'] });
    let reads = 0;
    const client = {
      async send(command: unknown) {
        expect(command).toBeInstanceOf(GetSecretValueCommand);
        reads++;
        return { SecretString: value };
      },
    } as unknown as SecretsManagerClient;
    let now = 0;
    const bindings = secretBindings(client, 'arn:secret', () => now);
    expect(await bindings(A)).toBe('acme');
    expect(await bindings(B)).toBeUndefined();
    expect(await bindings('constructor')).toBeUndefined();
    expect(reads).toBe(1);
    value = JSON.stringify({ [A]: { account: 'globex', tokens: ['t'] } });
    now = 11_000;
    expect(await bindings(A)).toBe('globex');
    expect(reads).toBe(2);
  });
});
