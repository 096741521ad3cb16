import type { CallState } from '../../functions/core/callflow.ts';
import { normalizeIdentity } from '../../functions/core/codes.ts';
import { ACCOUNT_THROTTLE, type LockoutRecord } from '../../functions/core/lockout.ts';
import type { Alert, CallContextStore, CallStore, CodeItem, LockoutStore, StoredCallState } from '../../functions/core/ports.ts';
import type { Settings, UserRecord } from '../../functions/core/settings.ts';
import type { HttpResult } from '../../functions/services/voice.ts';
import { signedEvent } from '../integration/support/voice.ts';
import { testVoiceApp } from './voice-app.ts';

/** How storage behaves: answering, failing at once, or never answering. */
export type StorageMode = 'up' | 'down' | 'hung';

export interface MemoryVoiceOptions {
  readonly settings: Settings;
  /** The Twilio Account SID bound to the settings' account. */
  readonly accountSid: string;
  readonly token: string;
  readonly baseUrl: string;
  readonly users?: readonly UserRecord[];
  readonly codes?: readonly CodeItem[];
  readonly now?: () => Date;
  /** @default 50 */
  readonly emergencySideWorkMs?: number;
}

/** Stores in memory plus the app over them, with a switch for storage faults. */
export function memoryVoice(options: MemoryVoiceOptions) {
  const { settings } = options;
  const calls = new Map<string, StoredCallState>();
  const locks = new Map<string, LockoutRecord>();
  const users = new Map((options.users ?? []).map((u) => [normalizeIdentity(u.id), u]));
  const codes = new Map((options.codes ?? []).map((c) => [c.key, c]));
  const writes = { count: 0 };
  const storage: { mode: StorageMode } = { mode: 'up' };
  const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  /** Every storage call passes here: it answers, fails or hangs as `storage.mode` says. */
  const io = async <T>(f: () => T | Promise<T>): Promise<T> => {
    if (storage.mode === 'down') throw Object.assign(new Error('storage is down'), { name: 'ServiceUnavailable' });
    if (storage.mode === 'hung') await new Promise(() => undefined);
    return f();
  };
  const lockKey = (account: string, user: string) => `${account}#${normalizeIdentity(user)}`;
  const callStore: CallStore = {
    get: (callSid) =>
      io(() => {
        const s = calls.get(callSid);
        return s === undefined ? undefined : copy(s);
      }),
    put: (state, opts) =>
      io(() => {
        writes.count++;
        if (calls.get(state.callSid)?.revision !== opts.expectedRevision) return undefined;
        const revision = (opts.expectedRevision ?? 0) + 1;
        calls.set(state.callSid, { state: copy(state) as CallState, revision });
        return revision;
      }),
  };
  const lockouts: LockoutStore = {
    get: (account, user) => io(() => locks.get(lockKey(account, user))),
    put: (account, user, record) =>
      io(() => {
        writes.count++;
        locks.set(lockKey(account, user), record);
      }),
    update: (account, user, change) =>
      io(() => {
        writes.count++;
        const before = locks.get(lockKey(account, user));
        const after = change(before);
        locks.set(lockKey(account, user), after);
        return { before, after };
      }),
    async *listLocked(account, now) {
      for (const [key, record] of locks) {
        if (key.startsWith(`${account}#`) && record.lockedUntil !== undefined && Date.parse(record.lockedUntil) > now.getTime())
          yield { user: key.slice(account.length + 1), record };
      }
    },
    clear: (account, user) =>
      io(() => {
        locks.delete(lockKey(account, user));
      }),
  };
  const lockoutsOf = (account: string, caller: string) => ({ lockout: locks.get(lockKey(account, caller)), accountLockout: locks.get(lockKey(account, ACCOUNT_THROTTLE)) });
  const callContext: CallContextStore = {
    loadStart: (account, caller, ids, codeKeys = []) =>
      io(() => {
        const found = new Map<string, UserRecord>();
        for (const id of ids) {
          const u = users.get(normalizeIdentity(id));
          if (u !== undefined) found.set(id, u);
        }
        const foundCodes = new Map<string, CodeItem>();
        for (const k of codeKeys) {
          const c = codes.get(k);
          if (c !== undefined) foundCodes.set(k, c);
        }
        return { users: found, codes: foundCodes, ...lockoutsOf(account, caller) };
      }),
    loadStep: (account, caller, codeKeys, callSid) =>
      io(async () => {
        const found = new Map<string, CodeItem>();
        for (const k of codeKeys) {
          const c = codes.get(k);
          if (c !== undefined) found.set(k, c);
        }
        return { call: callSid === undefined ? undefined : await callStore.get(callSid), codes: found, ...lockoutsOf(account, caller) };
      }),
  };
  const alerts: Alert[] = [];
  const deps = {
    accounts: {
      accountForSid: (sid: string) => io(() => (sid === options.accountSid ? settings.account : undefined)),
      getSettings: (account: string) => io(() => (account === settings.account ? settings : undefined)),
    },
    calls: callStore,
    lockouts,
    callContext,
    codes: { codeForCallerId: () => io(() => undefined) },
  };
  const app = testVoiceApp(deps, {
    token: options.token,
    pepper: async () => 'memory-pepper',
    alerts: { raise: async (a) => void alerts.push(a) },
    publicBaseUrl: options.baseUrl,
    now: options.now ?? (() => new Date('2026-06-15T14:00:00.000Z')),
    emergencySideWorkMs: options.emergencySideWorkMs ?? 50,
  });

  /** POST a form to a voice route, signed as Twilio signs it unless `signed` is false. */
  function post(path: string, params: Record<string, string>, extra: { signed?: boolean; sourceIp?: string; query?: string } = {}): Promise<HttpResult> {
    const pathAndQuery = extra.query === undefined || extra.query === '' ? path : `${path}?${extra.query}`;
    return app(
      signedEvent(pathAndQuery, params, {
        baseUrl: options.baseUrl,
        token: options.token,
        ...(extra.signed === false ? { signature: null } : {}),
        ...(extra.sourceIp === undefined ? {} : { sourceIp: extra.sourceIp }),
      }),
    );
  }

  return { app, post, deps, calls, locks, writes, alerts, storage };
}
