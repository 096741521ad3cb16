/**
 * The local stack as the console's tests use it: started in this process on a temp
 * TOLLGATE_HOME with the demo account and its three console users seeded as on a first
 * `npm start`, a second account (`globex`) with its own admin for tenant isolation, and
 * helpers to sign in, call the API, and write what calls leave behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores, type DynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import type { CallState } from '../../functions/core/callflow.ts';
import { parseSettings } from '../../functions/core/settings.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { addConsoleUser } from '../../local/console-users.ts';
import { testCall } from './call-fixtures.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';

export const CONSOLE_PASSWORD = 'console-test-password';
export const NY = 'America/New_York';
export const GLOBEX_ADMIN = 'admin@globex.test';

export interface ConsoleStack {
  readonly stack: LocalStack;
  readonly home: string;
  readonly stores: DynamoStores;
  /** The console's base URL (`http://127.0.0.1:<port>`). */
  readonly url: string;
  /** Sign in through the API; the bearer token. */
  signIn(email: string, password?: string): Promise<string>;
  /** A request to the API with a token; the status and the parsed JSON (or text). */
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON answers freely; each assertion states the shape it expects
  api(token: string | undefined, path: string, init?: { method?: string; json?: unknown; body?: string; contentType?: string }): Promise<{ status: number; body: any }>;
  /** Store a finished call as the voice function leaves it. */
  putCall(account: string, fields: Partial<CallState> & { callSid: string; startedAt: string }): Promise<void>;
  close(): Promise<void>;
}

export async function startConsoleStack(): Promise<ConsoleStack> {
  const home = await mkdtemp(join(tmpdir(), 'tollgate-console-'));
  const stack = await startLocalStack({ home, port: 0, authToken: 'console-test-token', log: silentLogger, consolePassword: CONSOLE_PASSWORD, exportSchedule: false });
  const client: DynamoDBClient = makeDynamoClient({ endpoint: stack.dynamodbEndpoint, requestTimeoutMs: 30_000 });
  const stores = makeDynamoStores({ client, tables: stack.tables });
  // Another tenant, with an admin of its own.
  const globex = parseSettings({ account: 'globex', twilioAccountSids: [`AC${'9'.repeat(32)}`], homeCountry: 'US', timeZone: NY });
  if (!globex.ok) throw new Error(JSON.stringify(globex.problems));
  await stores.accounts.putSettings(globex.value);
  await stores.codes.writeCodes('globex', [{ put: { key: 'A#7777', kind: 'account', code: '7777', description: 'Globex secret project', enabled: true } }]);
  await addConsoleUser(home, { email: GLOBEX_ADMIN, account: 'globex', role: 'admin', password: CONSOLE_PASSWORD });
  const url = stack.httpUrl;
  const api: ConsoleStack['api'] = async (token, path, init = {}) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.body !== undefined) {
      headers['content-type'] = init.contentType ?? 'text/csv';
      body = init.body;
    }
    const res = await fetch(`${url}${path}`, { method: init.method ?? 'GET', headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON (a CSV download): the text.
    }
    return { status: res.status, body: parsed };
  };
  return {
    stack,
    home,
    stores,
    url,
    async signIn(email, password = CONSOLE_PASSWORD) {
      const res = await api(undefined, '/api/session', { method: 'POST', json: { email, password } });
      if (res.status !== 200) throw new Error(`sign-in of ${email}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    api,
    async putCall(account, fields) {
      const started = new Date(fields.startedAt);
      // A national call that went through untagged (optional, # pressed), unless `fields` say otherwise.
      const {
        code: _code,
        codeDescription: _description,
        codeKind: _kind,
        ...untagged
      } = testCall({
        account,
        destination: '+12125550100',
        destinationClass: 'national',
        treatment: 'optional',
        codeStatus: 'skipped',
        outcome: 'completed',
        endedAt: new Date(started.getTime() + 125_000).toISOString(),
        durationS: 125,
        talkS: 120,
      });
      const state: CallState = { ...untagged, ...fields };
      await makeDynamoStores({ client, tables: stack.tables, now: () => started }).calls.put(state, { expectedRevision: undefined, timeZone: NY });
    },
    async close() {
      client.destroy();
      await stack.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
