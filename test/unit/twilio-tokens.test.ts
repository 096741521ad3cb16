/**
 * The Twilio token secret: auth tokens per Account SID, and the account the operator binds
 * each SID to (docs/security.md, "Tenancy").
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseTokenMap, parseTwilioSecret, secretBindings, secretTokenSource } from '../../functions/adapters/twilio/tokens.ts';
import { startSecretsManager, type SecretsManagerStandIn } from '../support/secrets-manager.ts';

const A = `AC${'a'.repeat(32)}`;
const B = `AC${'b'.repeat(32)}`;
const C = `AC${'c'.repeat(32)}`;

describe('the Twilio token secret', () => {
  let manager: SecretsManagerStandIn;
  beforeAll(async () => {
    manager = await startSecretsManager();
  });
  afterAll(() => manager.close());
  afterEach(() => vi.useRealTimers());

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
    vi.useFakeTimers({ toFake: ['Date'] });
    const arn = 'arn:aws:secretsmanager:us-east-1:1:secret:bindings';
    manager.secrets.set(arn, JSON.stringify({ [A]: { account: 'acme', tokens: ['t'] }, [B]: ['t'] }));
    const bindings = secretBindings(manager.client(), arn);
    const before = manager.reads();
    expect(await bindings(A)).toBe('acme');
    expect(await bindings(B)).toBeUndefined();
    expect(await bindings('constructor')).toBeUndefined();
    expect(manager.reads() - before).toBe(1);
    manager.secrets.set(arn, JSON.stringify({ [A]: { account: 'globex', tokens: ['t'] } }));
    vi.setSystemTime(Date.now() + 11_000);
    expect(await bindings(A)).toBe('globex');
    expect(manager.reads() - before).toBe(2);
  });

  it('reads the tokens once, and again on a mismatch at most every 10 s', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:1:secret:tokens';
    manager.secrets.set(arn, JSON.stringify({ [A]: { account: 'acme', tokens: ['old'] } }));
    let now = 0;
    const source = secretTokenSource(manager.client(), arn, () => now);
    const tokens = source.tokens;
    const before = manager.reads();
    expect(await tokens(A)).toEqual(['old']);
    // The SID's account comes from the same read.
    expect(await source.accountOf(A)).toBe('acme');
    expect(await tokens(B)).toEqual([]);
    expect(manager.reads() - before).toBe(1);
    manager.secrets.set(arn, JSON.stringify({ [A]: { account: 'acme', tokens: ['old', 'new'] } }));
    expect(await tokens(A)).toEqual(['old']);
    expect(await tokens(A, { refresh: true })).toEqual(['old', 'new']);
    expect(manager.reads() - before).toBe(2);
    now = 5_000;
    await tokens(A, { refresh: true });
    expect(manager.reads() - before).toBe(2);
    now = 10_001;
    await tokens(A, { refresh: true });
    expect(manager.reads() - before).toBe(3);
  });

  it('does not keep a failed read: the next call reads again', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:1:secret:later';
    const tokens = secretTokenSource(manager.client(), arn).tokens;
    await expect(tokens(A)).rejects.toThrow(/can't find/);
    manager.secrets.set(arn, JSON.stringify({ [A]: ['t'] }));
    expect(await tokens(A)).toEqual(['t']);
  });
});
