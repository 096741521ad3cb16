/**
 * The storage contract: what every backend of the DynamoDB stores must do, written once and
 * run against dynalite and (when DYNAMODB_LOCAL_ENDPOINT is set) AWS's DynamoDB Local, so the
 * adapters cannot lean on one emulator's quirks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallState } from '../../../functions/core/callflow.ts';
import { DynamoAccountStore } from '../../../functions/adapters/dynamodb/accounts.ts';
import { SidTakenError, type CodeChange, type CodeItem } from '../../../functions/core/ports.ts';
import { parseSettings, type Settings, type SettingsInput, type UserRecord } from '../../../functions/core/settings.ts';
import { accountCodeKey, authorizationCodeKey, codeRef } from '../../../functions/adapters/code-key.ts';
import { batchWrite } from '../../../functions/adapters/dynamodb/batch.ts';
import { countRequests } from '../../../functions/adapters/dynamodb/client.ts';
import { codeKey, DynamoCodeStore, SHARDS, shardOf } from '../../../functions/adapters/dynamodb/codes.ts';
import { StoredItemError } from '../../../functions/adapters/dynamodb/stored.ts';
import { userKey } from '../../../functions/adapters/dynamodb/users.ts';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { StorageEnv } from './dynamo.ts';

const DAY = 86_400_000;
const PEPPER = 'contract-test-pepper';
const sid = (n: number) => `AC${n.toString(16).padStart(32, '0')}`;

function settingsFor(input: Partial<SettingsInput> & { account: string }): Settings {
  const parsed = parseSettings({ twilioAccountSids: [sid(1)], homeCountry: 'US', timeZone: 'America/New_York', ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
}

function accountCode(digits: string, extra: Partial<CodeItem> = {}): CodeItem {
  return { key: accountCodeKey(digits), kind: 'account', code: digits, enabled: true, description: `Client ${digits}`, ...extra };
}

function authorizationCode(account: string, digits: string, level: number): CodeItem {
  const key = authorizationCodeKey(PEPPER, account, digits);
  return { key, kind: 'authorization', ref: codeRef(key), enabled: true, level, description: `Auth ${level}` };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function callState(callSid: string, extra: Partial<CallState> = {}): CallState {
  return {
    callSid,
    account: 'acme',
    direction: 'outbound',
    user: 'sip:alice@acme.sip.twilio.com',
    caller: 'sip:alice@acme.sip.twilio.com',
    group: 'staff',
    destination: '+442071234567',
    destinationClass: 'international',
    entryPoint: 'acme.sip.twilio.com',
    treatment: 'required',
    maxAttempts: 3,
    validate: true,
    proceedAfterMaxAttempts: false,
    minLevel: 0,
    dial: { target: { kind: 'number', number: '+442071234567' }, callerId: '+14155550100' },
    phase: 'prompting',
    step: 0,
    attempts: 0,
    codeStatus: 'none',
    startedAt: '2030-05-01T15:00:00.000Z',
    dialCompleted: false,
    statusReceived: false,
    lastActions: [{ type: 'gather', prompt: 'Please enter your account code.', step: 1, timeoutSeconds: 6, numDigits: 4 }],
    ...extra,
  };
}

/** Register the contract suite for one backend; `makeEnv` gives fresh tables. */
export function storageContract(name: string, makeEnv: () => Promise<StorageEnv>): void {
  describe(`storage contract on ${name}`, () => {
    let env: StorageEnv;
    beforeAll(async () => {
      env = await makeEnv();
    });
    afterAll(async () => {
      await env?.close();
    });

    describe('accounts', () => {
      it('returns nothing for an account that was never stored', async () => {
        expect(await env.stores.accounts.getSettings('nobody')).toBeUndefined();
        expect(await env.stores.accounts.accountForSid(sid(999))).toBeUndefined();
      });

      it('stores settings, maps their SIDs to the account and lists the account', async () => {
        const acme = settingsFor({ account: 'acme', twilioAccountSids: [sid(1), sid(2)] });
        await env.stores.accounts.putSettings(acme);
        expect(await env.stores.accounts.getSettings('acme')).toEqual(acme);
        expect(await env.stores.accounts.accountForSid(sid(1))).toBe('acme');
        expect(await env.stores.accounts.accountForSid(sid(2))).toBe('acme');
        expect(await env.stores.accounts.listAccounts()).toContain('acme');
      });

      it('keeps each version applied with who applied it, newest first, apart from the settings in force', async () => {
        const v1 = settingsFor({ account: 'initech', twilioAccountSids: [sid(41)], maxAttempts: 2 });
        const v2 = settingsFor({ account: 'initech', twilioAccountSids: [sid(41)], maxAttempts: 5 });
        await env.stores.accounts.putSettings(v1, { actor: 'ann@initech.test (console)', at: '2026-12-01T10:00:00.000Z' });
        await env.stores.accounts.putSettings(v2, { actor: 'bob via AWS:AIDA1', at: '2026-12-02T10:00:00.000Z' });
        expect(await env.stores.accounts.getSettings('initech')).toEqual(v2);
        expect(await env.stores.accounts.settingsHistory('initech', 10)).toEqual([
          { at: '2026-12-02T10:00:00.000Z', actor: 'bob via AWS:AIDA1', settings: v2 },
          { at: '2026-12-01T10:00:00.000Z', actor: 'ann@initech.test (console)', settings: v1 },
        ]);
        expect(await env.stores.accounts.settingsHistory('initech', 1)).toHaveLength(1);
        expect(await env.stores.accounts.settingsHistory('nobody', 10)).toEqual([]);
      });

      it('refuses a SID another account holds, and leaves nothing of the refused put behind', async () => {
        const globex = settingsFor({ account: 'globex', twilioAccountSids: [sid(3), sid(2)] });
        const err = await env.stores.accounts.putSettings(globex).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SidTakenError);
        expect(err).toMatchObject({ accountSid: sid(2) });
        // A refusal never names the tenant that holds the SID.
        expect(String((err as Error).message)).not.toContain('acme');
        expect(await env.stores.accounts.getSettings('globex')).toBeUndefined();
        expect(await env.stores.accounts.accountForSid(sid(3))).toBeUndefined();
        expect(await env.stores.accounts.accountForSid(sid(2))).toBe('acme');
        expect(await env.stores.accounts.listAccounts()).not.toContain('globex');
      });

      it('releases SIDs the new settings no longer list, so another account can claim them', async () => {
        await env.stores.accounts.putSettings(settingsFor({ account: 'acme', twilioAccountSids: [sid(1)] }));
        expect(await env.stores.accounts.accountForSid(sid(2))).toBeUndefined();
        await env.stores.accounts.putSettings(settingsFor({ account: 'globex', twilioAccountSids: [sid(3), sid(2)] }));
        expect(await env.stores.accounts.accountForSid(sid(2))).toBe('globex');
        expect(await env.stores.accounts.accountForSid(sid(1))).toBe('acme');
        expect((await env.stores.accounts.listAccounts()).filter((a) => a === 'acme' || a === 'globex')).toEqual(['acme', 'globex']);
      });

      it('lets the operator bind a SID to another account, which then holds it', async () => {
        await env.stores.accounts.putSettings(settingsFor({ account: 'acme', twilioAccountSids: [sid(7)] }));
        await env.stores.accounts.putSettings(settingsFor({ account: 'globex', twilioAccountSids: [sid(8)] }));
        await env.stores.accounts.bindSid(sid(7), 'globex');
        expect(await env.stores.accounts.accountForSid(sid(7))).toBe('globex');
        // globex may now list it; acme, which lost it, may not claim it back.
        await env.stores.accounts.putSettings(settingsFor({ account: 'globex', twilioAccountSids: [sid(8), sid(7)] }));
        const err = await env.stores.accounts.putSettings(settingsFor({ account: 'acme', twilioAccountSids: [sid(7)] })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SidTakenError);
        expect(String((err as Error).message)).not.toContain('globex');
        expect(await env.stores.accounts.accountForSid(sid(7))).toBe('globex');
      });

      it("with the operator's bindings, takes only the SIDs bound to the account, and refuses others before writing anything", async () => {
        const bindings = new Map([
          [sid(11), 'acme'],
          [sid(12), 'globex'],
        ]);
        const accounts = new DynamoAccountStore({ client: env.client, tables: env.tables, sidBindings: async (s) => bindings.get(s) });
        // Another tenant got there first under the local rule; the operator's binding wins.
        await env.stores.accounts.putSettings(settingsFor({ account: 'globex', twilioAccountSids: [sid(11)] }));
        await accounts.putSettings(settingsFor({ account: 'acme', twilioAccountSids: [sid(11)] }));
        expect(await accounts.accountForSid(sid(11))).toBe('acme');
        for (const claimed of [sid(12), sid(13)]) {
          const err = await accounts.putSettings(settingsFor({ account: 'acme', twilioAccountSids: [sid(11), claimed], maxAttempts: 5 })).catch((e: unknown) => e);
          expect(err, claimed).toBeInstanceOf(SidTakenError);
          expect(err).toMatchObject({ accountSid: claimed });
          expect(String((err as Error).message)).not.toContain('globex');
          expect(await accounts.getSettings('acme')).toMatchObject({ maxAttempts: 3 });
          expect(await accounts.accountForSid(claimed)).toBeUndefined();
        }
      });

      it('treats putting the same settings again as a no-op', async () => {
        const acme = settingsFor({ account: 'acme', twilioAccountSids: [sid(1)], maxAttempts: 4 });
        await env.stores.accounts.putSettings(acme);
        await env.stores.accounts.putSettings(acme);
        expect(await env.stores.accounts.getSettings('acme')).toEqual(acme);
        expect(await env.stores.accounts.accountForSid(sid(1))).toBe('acme');
      });
    });

    describe('users', () => {
      const users: UserRecord[] = Array.from({ length: 150 }, (_, i) => ({
        id: `client:user${String(i).padStart(3, '0')}`,
        name: `User ${i}`,
        group: i % 2 === 0 ? 'staff' : 'lawyers',
        ...(i % 10 === 0 ? { callerId: '+14155550100', maxAttempts: 4, calls: { international: 'blocked' as const } } : {}),
      }));
      const alice: UserRecord = { id: 'sip:Alice@Acme.sip.twilio.com', name: 'Alice', validate: false, proceedAfterMaxAttempts: true };

      it('gets more than 100 users in one call, keyed by the ids as asked', async () => {
        await env.stores.users.putUsers('acme', [...users, alice]);
        const asked = [...users.slice(0, 120).map((u) => u.id), users[5]!.id, 'client:nobody', 'sip:alice@acme.sip.twilio.com;transport=tls'];
        const found = await env.stores.users.getUsers('acme', asked);
        expect(found.size).toBe(121);
        expect(found.get(users[10]!.id)).toEqual(users[10]);
        expect(found.get('client:nobody')).toBeUndefined();
        expect(found.get('sip:alice@acme.sip.twilio.com;transport=tls')).toEqual(alice);
        expect((await env.stores.users.getUsers('globex', [users[0]!.id])).size).toBe(0);
      });

      it('lists every user of the account and only those, and deletes users', async () => {
        expect((await collect(env.stores.users.listUsers('acme'))).length).toBe(151);
        await env.stores.users.deleteUsers('acme', [users[0]!.id, 'sip:ALICE@acme.sip.twilio.com']);
        const left = await collect(env.stores.users.listUsers('acme'));
        expect(left.length).toBe(149);
        expect(left.map((u) => u.id)).not.toContain(users[0]!.id);
        expect(await env.stores.users.getUsers('acme', [alice.id])).toEqual(new Map());
      });
    });

    describe('stored items that are not valid', () => {
      it('refuses a user item of the wrong shape, naming the user and the attribute', async () => {
        const id = 'client:mangled';
        await env.client.send(new PutItemCommand({ TableName: env.tables.accounts, Item: { ...userKey('acme', id), id: { S: id }, maxAttempts: { S: 'three' } } }));
        const err = await env.stores.users.getUsers('acme', [id]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoredItemError);
        expect((err as Error).message).toMatch(/client:mangled.*maxAttempts/);
      });

      it("refuses a code item of the wrong shape without showing the code's digits", async () => {
        const key = accountCodeKey('918273');
        await env.client.send(
          new PutItemCommand({ TableName: env.tables.codes, Item: { ...codeKey('mangled', key), kind: { S: 'account' }, code: { S: '918273' }, enabled: { S: 'yes' } } }),
        );
        const err = await env.stores.codes.getCodes('mangled', [key]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoredItemError);
        expect((err as Error).message).toMatch(/account code.*enabled/);
        expect((err as Error).message).not.toContain('918273');
      });

      it('refuses a call item of the wrong shape, naming the call and the attribute', async () => {
        const callSid = `CA${'e'.repeat(32)}`;
        await env.client.send(
          new PutItemCommand({
            TableName: env.tables.calls,
            Item: { pk: { S: callSid }, callSid: { S: callSid }, account: { S: 'acme' }, phase: { S: 'ringing' }, revision: { N: '1' } },
          }),
        );
        const err = await env.stores.calls.get(callSid).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoredItemError);
        expect((err as Error).message).toContain(callSid);
        expect((err as Error).message).toMatch(/phase/);
      });
    });

    describe('codes', () => {
      const account = 'lawfirm';
      const leading = ['0042', '042', '42', '00042'].map((d) => accountCode(d));
      const many = Array.from({ length: 996 }, (_, i) => accountCode(String(100000 + i * 7), { users: ['client:alice'], groups: ['staff'] }));
      const auth = Array.from({ length: 200 }, (_, i) => authorizationCode(account, String(500000 + i), i % 3));
      const all = [...leading, ...many, ...auth];

      it('writes 1,200 codes across the shards and reads them back by key', async () => {
        const counter = countRequests(env.client);
        await env.stores.codes.writeCodes(
          account,
          all.map((put) => ({ put })),
        );
        expect(counter.byOperation.get('BatchWriteItem')).toBe(Math.ceil(all.length / 25));
        counter.detach();
        const shards = new Set(all.map((c) => shardOf(c.key)));
        expect(shards.size).toBe(SHARDS);

        const one = await env.stores.codes.getCodes(account, [accountCodeKey('042')]);
        expect([...one.values()]).toEqual([leading[1]]);
        const keys = [accountCodeKey('42'), auth[7]!.key, accountCodeKey('9999999'), many[3]!.key, accountCodeKey('42')];
        const found = await env.stores.codes.getCodes(account, keys);
        expect(found.size).toBe(3);
        expect(found.get(auth[7]!.key)).toEqual(auth[7]);
        expect(found.get(many[3]!.key)).toEqual(many[3]);
        expect((await env.stores.codes.getCodes('otherfirm', [accountCodeKey('42')])).size).toBe(0);
      });

      it('lists every code in key order, leading zeros significant', async () => {
        const listed = await collect(env.stores.codes.listCodes(account));
        expect(listed.length).toBe(all.length);
        expect(listed.map((c) => c.key)).toEqual(all.map((c) => c.key).sort());
        expect(listed.slice(0, 4).map((c) => c.code)).toEqual(['00042', '0042', '042', '100000']);
        expect(listed.findIndex((c) => c.code === '42')).toBeLessThan(listed.findIndex((c) => c.kind === 'authorization'));
        expect(listed.find((c) => c.key === auth[0]!.key)).toEqual(auth[0]);
      });

      it('lists in key order with small pages too (every shard paginates)', async () => {
        const paged = new DynamoCodeStore({ client: env.client, tables: env.tables, pageSize: 7 });
        const listed = await collect(paged.listCodes(account));
        expect(listed.map((c) => c.key)).toEqual(all.map((c) => c.key).sort());
      });

      it('stops reading when the consumer stops', async () => {
        const counter = countRequests(env.client);
        let n = 0;
        for await (const _ of env.stores.codes.listCodes(account)) if (++n === 3) break;
        expect(counter.byOperation.get('Query')).toBeLessThanOrEqual(2 * SHARDS);
        counter.detach();
      });

      it('rewriting the same codes changes nothing', async () => {
        await env.stores.codes.writeCodes(
          account,
          all.map((put) => ({ put, previous: put })),
        );
        expect((await collect(env.stores.codes.listCodes(account))).map((c) => c.key)).toEqual(all.map((c) => c.key).sort());
      });

      it('keeps the caller-ID index in step with puts, updates and deletes', async () => {
        const code = accountCode('7001', { callerIds: ['+14155550111', '+14155550112'] });
        await env.stores.codes.writeCodes(account, [{ put: code }]);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550111')).toEqual(code);
        expect(await env.stores.codes.codeForCallerId(account, '+1415555011')).toBeUndefined();
        expect(await env.stores.codes.codeForCallerId('otherfirm', '+14155550111')).toBeUndefined();

        const updated = accountCode('7001', { description: 'Renamed', callerIds: ['+14155550112', '+14155550113'] });
        await env.stores.codes.writeCodes(account, [{ put: updated, previous: code }]);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550111')).toBeUndefined();
        expect(await env.stores.codes.codeForCallerId(account, '+14155550112')).toEqual(updated);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550113')).toEqual(updated);

        await env.stores.codes.writeCodes(account, [{ delete: updated }]);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550112')).toBeUndefined();
        expect(await env.stores.codes.codeForCallerId(account, '+14155550113')).toBeUndefined();
        expect((await env.stores.codes.getCodes(account, [updated.key])).size).toBe(0);
      });

      it('keeps empty descriptions and empty user lists', async () => {
        const code = accountCode('7400', { description: '', users: [], groups: [] });
        await env.stores.codes.writeCodes(account, [{ put: code }]);
        expect((await env.stores.codes.getCodes(account, [code.key])).get(code.key)).toEqual(code);
      });

      it('lets two codes list one number: an enabled account code wins, and deleting one keeps the other', async () => {
        const disabled = accountCode('7100', { enabled: false, callerIds: ['+14155550120'] });
        const enabled = accountCode('7200', { callerIds: ['+14155550120'] });
        await env.stores.codes.writeCodes(account, [{ put: disabled }, { put: enabled }]);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550120')).toEqual(enabled);
        await env.stores.codes.writeCodes(account, [{ delete: enabled }]);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550120')).toEqual(disabled);
        await env.stores.codes.writeCodes(account, [{ delete: disabled }]);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550120')).toBeUndefined();
      });

      it('applies several changes to one code in order (the last wins)', async () => {
        const a = accountCode('7300', { callerIds: ['+14155550130'] });
        const changes: CodeChange[] = [{ put: a }, { delete: a }];
        await env.stores.codes.writeCodes(account, changes);
        expect((await env.stores.codes.getCodes(account, [a.key])).size).toBe(0);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550130')).toBeUndefined();
        await env.stores.codes.writeCodes(account, [{ delete: a }, { put: a }]);
        expect(await env.stores.codes.codeForCallerId(account, '+14155550130')).toEqual(a);
      });
    });

    describe('calls', () => {
      const tz = { timeZone: 'America/New_York' };

      it('creates a call once: a second "new call" put loses', async () => {
        const s = callState('CA0001');
        expect(await env.stores.calls.put(s, { expectedRevision: undefined, ...tz })).toBe(1);
        expect(await env.stores.calls.put({ ...s, attempts: 1 }, { expectedRevision: undefined, ...tz })).toBeUndefined();
        expect(await env.stores.calls.get('CA0001')).toEqual({ state: s, revision: 1 });
        expect(await env.stores.calls.get('CA9999')).toBeUndefined();
      });

      it('keeps empty strings, empty lists and nested actions as they were', async () => {
        const s = callState('CA0005', { caller: '', group: undefined, lastActions: [], dial: { target: { kind: 'sip', uri: 'sip:bob@acme.sip.twilio.com' } } });
        expect(await env.stores.calls.put(s, { expectedRevision: undefined, ...tz })).toBe(1);
        const got = await env.stores.calls.get('CA0005');
        expect(got?.state).toEqual(s);
        expect(got?.state).not.toHaveProperty('group');
        expect(got?.state).not.toHaveProperty('expiresAt');
        expect(got?.state).not.toHaveProperty('revision');
      });

      it('counts a retried code step once: two writes from the same read, one lands', async () => {
        const s = callState('CA0002');
        await env.stores.calls.put(s, { expectedRevision: undefined, ...tz });
        const next = { ...s, step: 1, attempts: 1, lastActions: [{ type: 'say' as const, text: 'Not valid.' }] };
        expect(await env.stores.calls.put(next, { expectedRevision: 1, ...tz })).toBe(2);
        expect(await env.stores.calls.put({ ...next, attempts: 2 }, { expectedRevision: 1, ...tz })).toBeUndefined();
        expect(await env.stores.calls.put(next, { expectedRevision: 5, ...tz })).toBeUndefined();
        expect(await env.stores.calls.get('CA0002')).toEqual({ state: next, revision: 2 });
      });

      it('does not let the dial result and the status callback overwrite each other', async () => {
        const base = callState('CA0003', { phase: 'dialling', step: 1, codeStatus: 'valid', code: '0042' });
        await env.stores.calls.put(base, { expectedRevision: undefined, ...tz });
        const dialed = { ...base, phase: 'ended' as const, dialCompleted: true, outcome: 'completed' as const, talkS: 42 };
        const status = { ...base, phase: 'ended' as const, statusReceived: true, outcome: 'completed' as const, durationS: 60 };
        expect(await env.stores.calls.put(dialed, { expectedRevision: 1, ...tz })).toBe(2);
        expect(await env.stores.calls.put(status, { expectedRevision: 1, ...tz })).toBeUndefined();
        const both = { ...dialed, statusReceived: true, durationS: 60 };
        expect(await env.stores.calls.put(both, { expectedRevision: 2, ...tz })).toBe(3);
        expect(await env.stores.calls.get('CA0003')).toEqual({ state: both, revision: 3 });
      });

      it('treats a call whose TTL has passed as gone, and lets its CallSid start afresh', async () => {
        const s = callState('CA0004', { startedAt: '2030-01-01T12:00:00.000Z' });
        await env.stores.calls.put(s, { expectedRevision: undefined, ...tz });
        env.clock.set('2031-02-04T11:59:59.000Z'); // 399 days and a bit
        expect((await env.stores.calls.get('CA0004'))?.state).toEqual(s);
        env.clock.set('2031-02-05T12:00:00.000Z'); // 400 days
        expect(await env.stores.calls.get('CA0004')).toBeUndefined();
        const again = { ...s, startedAt: '2031-02-05T12:00:00.000Z' };
        expect(await env.stores.calls.put(again, { expectedRevision: undefined, ...tz })).toBe(1);
        expect((await env.stores.calls.get('CA0004'))?.state).toEqual(again);
        env.clock.set('2030-03-10T15:00:00.000Z');
      });

      it("lists one account's calls of one local day in start order", async () => {
        const day = [
          callState('CA0102', { startedAt: '2030-06-14T20:00:00.000Z' }),
          callState('CA0101', { startedAt: '2030-06-14T04:00:00.000Z' }), // 00:00 EDT: first second of the 14th
          callState('CA0103', { startedAt: '2030-06-15T03:59:59.000Z' }), // 23:59:59 EDT on the 14th
          callState('CA0104', { startedAt: '2030-06-15T04:00:00.000Z' }), // the 15th
          callState('CA0105', { startedAt: '2030-06-14T12:00:00.000Z', account: 'globex' }),
          callState('CA0106', { startedAt: '2030-06-14T20:00:00.000Z' }), // same instant as CA0102
        ];
        for (const s of day) await env.stores.calls.put(s, { expectedRevision: undefined, ...tz });
        const listed = await collect(env.stores.calls.callsOfDay('acme', '2030-06-14'));
        expect(listed.map((c) => c.state.callSid)).toEqual(['CA0101', 'CA0102', 'CA0106', 'CA0103']);
        expect(listed[0]!.state).toEqual(day[1]);
        expect(listed[0]!.updatedAt).toBe(env.clock().toISOString());
      });
    });

    describe('lockouts', () => {
      it('stores a record per user and forgets it once it stops mattering', async () => {
        expect(await env.stores.lockouts.get('acme', 'client:bob')).toBeUndefined();
        const now = env.clock();
        const record = {
          windowStart: now.toISOString(),
          failures: 0,
          lockedUntil: new Date(now.getTime() + 60 * 60_000).toISOString(),
        };
        await env.stores.lockouts.put('acme', 'sip:Bob@acme.sip.twilio.com', record);
        expect(await env.stores.lockouts.get('acme', 'sip:bob@acme.sip.twilio.com;transport=tls')).toEqual(record);
        expect(await env.stores.lockouts.get('globex', 'sip:bob@acme.sip.twilio.com')).toBeUndefined();
        await env.stores.lockouts.put('acme', 'client:bob', { windowStart: now.toISOString(), failures: 3 });
        expect(await env.stores.lockouts.get('acme', 'client:bob')).toEqual({ windowStart: now.toISOString(), failures: 3 });
        // Kept while any window the schema allows could still count it, gone after.
        env.clock.advance(DAY - 1000);
        expect(await env.stores.lockouts.get('acme', 'client:bob')).toBeDefined();
        env.clock.advance(1000);
        expect(await env.stores.lockouts.get('acme', 'client:bob')).toBeUndefined();
        env.clock.set('2030-03-10T15:00:00.000Z');
      });

      it('counts every one of many parallel updates (each write is conditional on what it read)', async () => {
        const windowStart = env.clock().toISOString();
        const bump = (current: { windowStart: string; failures: number } | undefined) => ({ windowStart, failures: (current?.failures ?? 0) + 1 });
        const results = await Promise.all(Array.from({ length: 12 }, () => env.stores.lockouts.update('acme', 'client:racer', bump)));
        expect(await env.stores.lockouts.get('acme', 'client:racer')).toEqual({ windowStart, failures: 12 });
        expect(results.map((r) => r.after.failures).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      });
    });

    describe('import ledger', () => {
      it('lets one run claim an object version; a failed or long-dead run is taken over', async () => {
        const key = 'imports/acme/codes/claimed.csv';
        const now = env.clock();
        const lease = 15 * 60_000;
        expect(await env.stores.ledger.claim('acme', key, 'v1', now, lease)).toBe(true);
        expect(await env.stores.ledger.claim('acme', key, 'v1', new Date(now.getTime() + 1000), lease)).toBe(false);
        expect(await env.stores.ledger.claim('acme', key, 'v2', now, lease)).toBe(true);
        expect(await env.stores.ledger.claim('acme', key, 'v1', new Date(now.getTime() + lease + 1000), lease)).toBe(true);
        await env.stores.ledger.put('acme', key, 'v2', { status: 'failed', at: now.toISOString() });
        expect(await env.stores.ledger.claim('acme', key, 'v2', now, lease)).toBe(true);
        await env.stores.ledger.put('acme', key, 'v2', { status: 'applied', at: now.toISOString() });
        expect(await env.stores.ledger.claim('acme', key, 'v2', new Date(now.getTime() + 2 * lease), lease)).toBe(false);
        const racers = await Promise.all(Array.from({ length: 6 }, () => env.stores.ledger.claim('acme', key, 'v3', now, lease)));
        expect(racers.filter(Boolean)).toHaveLength(1);
      });

      it('records an object version once and reads it back', async () => {
        const key = 'imports/acme/codes/clients #1.csv';
        expect(await env.stores.ledger.get('acme', key, 'v1')).toBeUndefined();
        await env.stores.ledger.put('acme', key, 'v1', { status: 'applying', at: '2030-03-10T15:00:00.000Z' });
        const applied = { status: 'applied' as const, at: '2030-03-10T15:00:05.000Z', reportKey: 'results/acme/clients #1.20300310T150005Z.json' };
        await env.stores.ledger.put('acme', key, 'v1', applied);
        expect(await env.stores.ledger.get('acme', key, 'v1')).toEqual(applied);
        expect(await env.stores.ledger.get('acme', key, 'v2')).toBeUndefined();
        expect(await env.stores.ledger.get('globex', key, 'v1')).toBeUndefined();
      });

      it('handles object keys as long as S3 allows', async () => {
        const key = `imports/acme/codes/${'x'.repeat(1000)}.csv`;
        await env.stores.ledger.put('acme', key, 'null', { status: 'rejected', at: '2030-03-10T15:00:00.000Z' });
        expect(await env.stores.ledger.get('acme', key, 'null')).toEqual({ status: 'rejected', at: '2030-03-10T15:00:00.000Z' });
      });

      it('holds an object key for one version at a time and remembers the newest upload applied', async () => {
        const ledger = env.stores.ledger;
        const now = env.clock();
        const later = (ms: number) => new Date(now.getTime() + ms);
        const lease = 15 * 60_000;
        for (const key of ['imports/acme/settings.json', `imports/acme/codes/${'y'.repeat(1020)}.csv`]) {
          expect(await ledger.acquire('acme', key, 'v1', now, lease)).toEqual({ acquired: true });
          // Another version waits; the holder itself may hold it again (its run was retried).
          expect(await ledger.acquire('acme', key, 'v2', later(1000), lease)).toEqual({ acquired: false });
          expect(await ledger.acquire('acme', key, 'v1', later(2000), lease)).toEqual({ acquired: true });
          // Only the holder lets go.
          await ledger.release('acme', key, 'v2', { sequencer: 'FFFF' });
          expect(await ledger.acquire('acme', key, 'v2', later(3000), lease)).toEqual({ acquired: false });
          await ledger.release('acme', key, 'v1', { sequencer: '0A' });
          expect(await ledger.acquire('acme', key, 'v2', later(4000), lease)).toEqual({ acquired: true, lastApplied: '0A' });
          // Released without applying (rejected, failed): the newest applied stays.
          await ledger.release('acme', key, 'v2');
          expect(await ledger.acquire('acme', key, 'v3', later(5000), lease)).toEqual({ acquired: true, lastApplied: '0A' });
          // A holder that died is taken over once its lease has run out.
          expect(await ledger.acquire('acme', key, 'v4', later(5000 + lease + 1000), lease)).toEqual({ acquired: true, lastApplied: '0A' });
          // Of runs racing for a free key, one holds it.
          await ledger.release('acme', key, 'v4', { sequencer: '0B' });
          const racers = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((r) => ledger.acquire('acme', key, r, later(lease * 3), lease)));
          expect(racers.filter((r) => r.acquired)).toHaveLength(1);
          expect(racers.find((r) => r.acquired)?.lastApplied).toBe('0B');
        }
        // Keys of another account are their own.
        expect(await ledger.acquire('globex', 'imports/acme/settings.json', 'v9', now, lease)).toEqual({ acquired: true });
      });

      it("reports the holder's progress while it holds the key, and nothing once it lets go", async () => {
        const ledger = env.stores.ledger;
        const key = 'imports/acme/codes/progress.csv';
        const now = env.clock();
        expect(await ledger.inProgress('acme', key)).toBeUndefined();
        await ledger.acquire('acme', key, 'v1', now, 60_000);
        expect(await ledger.inProgress('acme', key)).toEqual({ since: now.toISOString(), rows: 0 });
        await ledger.progress('acme', key, 'v1', 4000);
        await ledger.progress('acme', key, 'someone-else', 99);
        expect(await ledger.inProgress('acme', key)).toEqual({ since: now.toISOString(), rows: 4000 });
        await ledger.release('acme', key, 'v1', { sequencer: '01' });
        expect(await ledger.inProgress('acme', key)).toBeUndefined();
        // A progress report after the run let go (a late one) changes nothing.
        await ledger.progress('acme', key, 'v1', 5000);
        expect(await ledger.inProgress('acme', key)).toBeUndefined();
      });
    });

    describe('batchWrite against the server', () => {
      it('writes 1,000 items in 40 requests and collapses duplicate keys', async () => {
        const items = Array.from({ length: 1000 }, (_, i) => ({
          PutRequest: { Item: { pk: { S: 'BULK' }, sk: { S: String(i).padStart(4, '0') }, v: { N: String(i) } } },
        }));
        const dup = { PutRequest: { Item: { pk: { S: 'BULK' }, sk: { S: '0000' }, v: { N: '-1' } } } };
        const stats = await batchWrite(env.client, env.tables.accounts, [...items, dup]);
        expect(stats).toMatchObject({ items: 1000, requests: 40, retries: 0 });
      });
    });
  });
}
