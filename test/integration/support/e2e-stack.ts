/**
 * The local stack for end-to-end voice tests: started in this process (temp TOLLGATE_HOME,
 * PORT 0, no demo seed), with accounts, codes and users written straight through the stores,
 * a {@link FakeTwilio} per account, and readers for what the calls left behind (usage records,
 * alerts.log).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { accountCodeKey, authorizationCodeKey, codeRef } from '../../../functions/adapters/code-key.ts';
import { makeDynamoClient } from '../../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores, type DynamoStores } from '../../../functions/adapters/dynamodb/stores.ts';
import type { CallState } from '../../../functions/core/callflow.ts';
import type { CodeItem } from '../../../functions/core/ports.ts';
import { parseSettings, type Settings, type UserRecord } from '../../../functions/core/settings.ts';
import { localDate } from '../../../functions/core/time.ts';
import { silentLogger, type Logger } from '../../../functions/services/logger.ts';
import type { Alert } from '../../../functions/services/voice.ts';
import { localPepper, startLocalStack, type LocalStack } from '../../../local/stack.ts';
import { FakeTwilio } from './twilio.ts';

export const E2E_TOKEN = 'e2e-auth-token';

/** A fresh Twilio Account SID. */
export function newAccountSid(): string {
  return `AC${randomBytes(16).toString('hex')}`;
}

/** Poll `probe` until it returns something other than undefined, or fail after `ms`. No sleeps to wait a fixed time. */
export async function until<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A line of `TOLLGATE_HOME/alerts.log`. */
export type AlertLine = Alert & { readonly subject: string };

export interface AccountFixture {
  readonly sid: string;
  readonly settings: Settings;
  /** Twilio posting as this account. */
  readonly twilio: FakeTwilio;
}

export interface AccountSetup {
  /** The settings document without `account`/`twilioAccountSids`, which the harness fills in (and `homeCountry` US, `timeZone` New York unless given). */
  readonly settings: Record<string, unknown>;
  readonly codes?: readonly CodeItem[];
  readonly users?: readonly UserRecord[];
}

export interface E2eStack {
  readonly stack: LocalStack;
  readonly home: string;
  readonly stores: DynamoStores;
  readonly client: DynamoDBClient;
  readonly pepper: string;
  /** Create an account (settings, codes, users) before any call of it is placed. */
  addAccount(name: string, setup: AccountSetup): Promise<AccountFixture>;
  /** An account code as the importer stores it. */
  accountCode(digits: string, extra?: Partial<CodeItem>): CodeItem;
  /** An authorization code as the importer stores it: keyed by its HMAC, no digits. */
  authorizationCode(account: string, digits: string, level: number, extra?: Partial<CodeItem>): CodeItem;
  /** The stored call (state and usage record) of a CallSid. */
  record(callSid: string): Promise<CallState | undefined>;
  /** Usage records of an account for every local day from `since` to now, as the export reads them. */
  records(account: string, since: Date): Promise<CallState[]>;
  alerts(): Promise<AlertLine[]>;
  close(): Promise<void>;
}

export async function startE2eStack(options: { readonly log?: Logger; readonly eventRetryMs?: number } = {}): Promise<E2eStack> {
  const home = await mkdtemp(join(tmpdir(), 'tollgate-voice-e2e-'));
  const stack = await startLocalStack({
    home,
    port: 0,
    authToken: E2E_TOKEN,
    log: options.log ?? silentLogger,
    seed: false,
    ...(options.eventRetryMs === undefined ? {} : { eventRetryMs: options.eventRetryMs }),
  });
  const client = makeDynamoClient({ endpoint: stack.dynamodbEndpoint, requestTimeoutMs: 30_000 });
  const stores = makeDynamoStores({ client, tables: stack.tables });
  const pepper = await localPepper(home);
  const timeZones = new Map<string, string>();

  const harness: E2eStack = {
    stack,
    home,
    stores,
    client,
    pepper,
    async addAccount(name, setup) {
      const sid = newAccountSid();
      // A US account in New York unless the suite says otherwise.
      const parsed = parseSettings({ account: name, twilioAccountSids: [sid], homeCountry: 'US', timeZone: 'America/New_York', ...setup.settings });
      if (!parsed.ok) throw new Error(`settings of ${name}: ${JSON.stringify(parsed.problems)}`);
      await stores.accounts.putSettings(parsed.value);
      if (setup.codes !== undefined && setup.codes.length > 0)
        await stores.codes.writeCodes(
          name,
          setup.codes.map((put) => ({ put })),
        );
      if (setup.users !== undefined && setup.users.length > 0) await stores.users.putUsers(name, setup.users);
      timeZones.set(name, parsed.value.timeZone);
      return {
        sid,
        settings: parsed.value,
        twilio: new FakeTwilio({ httpUrl: stack.httpUrl, publicUrl: stack.publicUrl, accountSid: sid, authToken: E2E_TOKEN }),
      };
    },
    accountCode: (digits, extra = {}) => ({ key: accountCodeKey(digits), kind: 'account', code: digits, enabled: true, ...extra }),
    authorizationCode(account, digits, level, extra = {}) {
      const key = authorizationCodeKey(pepper, account, digits);
      return { key, kind: 'authorization', ref: codeRef(key), enabled: true, level, ...extra };
    },
    async record(callSid) {
      return (await stores.calls.get(callSid))?.state;
    },
    async records(account, since) {
      const timeZone = timeZones.get(account) ?? 'UTC';
      const days = new Set<string>();
      for (let t = since.getTime(); t < Date.now() + 86_400_000; t += 3_600_000) days.add(localDate(new Date(Math.min(t, Date.now())), timeZone));
      const out: CallState[] = [];
      for (const day of [...days].sort()) for await (const call of stores.calls.callsOfDay(account, day)) out.push(call.state);
      return out;
    },
    async alerts() {
      let text = '';
      try {
        text = await readFile(join(home, 'alerts.log'), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as AlertLine);
    },
    async close() {
      client.destroy();
      await stack.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
  return harness;
}
