/**
 * What every part of the voice function shares: its dependencies, the container's caches,
 * the alert gate and the signature check. Built once per container by `makeVoiceContext`.
 */
import { ACCOUNT_SID } from '../../core/identifiers.ts';
import type { AccountStore, AlertSink, CallContextStore, CallRecordEvents, CallStore, CodeStore, LockoutStore, Logger } from '../../core/ports.ts';
import type { Settings } from '../../core/settings.ts';
import { verifyTwilioSignature, type TwilioParams } from '../../adapters/twilio/signature.ts';
import { bestEffortAlerts, gatedAlerts } from '../alert-gate.ts';
import { AccountCache, CallCache, StartCache, type AccountEntry, type CallParties } from './caches.ts';

/** API Gateway HTTP API (payload format 2.0): the fields the voice function reads. */
export interface HttpEvent {
  readonly rawPath: string;
  readonly rawQueryString?: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: { readonly http?: { readonly method?: string; readonly sourceIp?: string } };
}

export interface HttpResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface VoiceDeps {
  readonly accounts: Pick<AccountStore, 'accountForSid' | 'getSettings'>;
  readonly calls: CallStore;
  readonly lockouts: LockoutStore;
  readonly callContext: CallContextStore;
  readonly codes: Pick<CodeStore, 'codeForCallerId'>;
  /**
   * The account the operator bound a Twilio Account SID to, where that is known without
   * storage (AWS: the token secret's bindings); undefined: the SID's item in storage says.
   */
  readonly accountOf?: (accountSid: string) => Promise<string | undefined>;
  /** The auth tokens of a Twilio Account SID, primary first (rotation). `refresh` asks again past any cache. */
  readonly authTokens: (accountSid: string, options?: { readonly refresh?: boolean }) => Promise<readonly string[]>;
  readonly pepper: () => Promise<string>;
  readonly alerts: AlertSink;
  /** Call-record events (docs/events.md); unset: none are published from here (in AWS a stream of the calls table publishes them). */
  readonly events?: CallRecordEvents;
  /**
   * The deployment's emergency caller ID (configuration, never storage): what an emergency
   * `<Dial>` carries when neither the user, the entry point nor the account gives one in time.
   */
  readonly emergencyCallerId: string;
  /** The base URL Twilio calls (`https://abc.execute-api…`); unset: taken from the request's Host. */
  readonly publicBaseUrl?: string;
  readonly now: () => Date;
  readonly log: Logger;
  /** How long account settings, and the users and lockouts a call starts with, are cached. At most 30 s (docs/call-flow.md). @default 30000 */
  readonly settingsTtlMs?: number;
  /**
   * How long, counted from the request's arrival, an emergency answer waits for its usage
   * record and alert before it is sent anyway; the work goes on after. @default 500
   */
  readonly emergencySideWorkMs?: number;
}

/** A webhook's request, parsed: what it asks, and what its signature is checked against. */
export interface VoiceRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly params: Readonly<Record<string, string>>;
  readonly url: string;
  /** The public base URL (scheme and host, and any stage path) action URLs are built on. */
  readonly base: string;
  readonly signature: string | undefined;
  readonly rawParams: TwilioParams;
  /** The address the request came from, for the unverified-alert rate limit. */
  readonly sourceIp: string | undefined;
}

export interface VoiceContext {
  readonly deps: VoiceDeps;
  readonly accounts: AccountCache;
  readonly calls: CallCache;
  /** The users and lockouts a call's first webhook read, for the caller's next call. */
  readonly starts: StartCache;
  readonly alerts: ReturnType<typeof gatedAlerts>;
  /** The request's signature checks with one of its Account SID's tokens. */
  verify(req: VoiceRequest): Promise<boolean>;
}

export type { AccountEntry };

export function makeVoiceContext(deps: VoiceDeps): VoiceContext {
  const ttlMs = Math.min(deps.settingsTtlMs ?? 30_000, 30_000);
  const starts = new StartCache(deps.now, ttlMs);
  // A first webhook's caller records come in the same read as the settings, for its webhook to find.
  const load = async (accountSid: string, parties?: CallParties): Promise<Pick<AccountEntry, 'account' | 'settings'>> => {
    const account = (await deps.accountOf?.(accountSid)) ?? (await deps.accounts.accountForSid(accountSid));
    if (account === undefined) return { account: undefined, settings: undefined };
    let settings: Settings | undefined;
    if (parties !== undefined && deps.callContext.loadAccountStart !== undefined) {
      const read = await deps.callContext.loadAccountStart(account, parties.caller, parties.ids);
      settings = read.settings;
      starts.prime(account, parties.caller, parties.ids, read);
    } else {
      settings = await deps.accounts.getSettings(account);
    }
    return { account: settings === undefined ? undefined : account, settings };
  };
  return {
    deps,
    accounts: new AccountCache(load, deps.now, ttlMs),
    calls: new CallCache(deps.now),
    starts,
    alerts: gatedAlerts(bestEffortAlerts(deps.alerts, deps.log)),
    async verify(req) {
      const accountSid = req.params.AccountSid ?? '';
      if (!ACCOUNT_SID.test(accountSid)) return false;
      const tokens = await deps.authTokens(accountSid);
      if (verifyTwilioSignature(req.url, req.rawParams, req.signature, tokens)) return true;
      // A token rotated since the tokens were cached: ask once more past the cache.
      const fresh = await deps.authTokens(accountSid, { refresh: true });
      return fresh.join('\n') !== tokens.join('\n') && verifyTwilioSignature(req.url, req.rawParams, req.signature, fresh);
    },
  };
}
