/**
 * The voice webhooks of docs/call-flow.md, one pipeline for every route:
 * verify → parse → load → decide → save → render.
 *
 * The request shape is API Gateway's HTTP API (payload 2.0), which the local stack produces
 * too. What a warm webhook costs in DynamoDB: the first webhook one BatchGetItem and one
 * PutItem; a code step one BatchGetItem and one PutItem; the dial result and the status
 * callback one PutItem each (the call's state is kept in memory between the webhooks of a
 * call, and every write is conditional on the revision it read, so a stale copy is caught and
 * read again).
 */
import { answeredWith, CallFlowError, decide, errorActions, routeCall, type CallEvent, type CallState, type Decision, type Effect } from '../core/callflow.ts';
import { isCodeFormat, normalizeIdentity } from '../core/codes.ts';
import { emergencyActions, emergencyCallerId, emergencyNumberAnywhere, emergencyNumberFor } from '../core/emergency.ts';
import { ACCOUNT_THROTTLE, accountThrottleRules, isLockedOut, recordFailure } from '../core/lockout.ts';
import type { AccountStore, Alert, AlertSink, CallContextStore, CallStore, CodeItem, CodeStore, LockoutStore, StoredCallState } from '../core/ports.ts';
import { DEFAULT_PROMPTS, DEFAULT_SPEECH, resolvePrompts } from '../core/prompts.ts';
import { ACCOUNT_SID, CALL_SID, CODE_LENGTH_MAX, CODE_LENGTH_MIN, E164 } from '../core/identifiers.ts';
import type { Settings } from '../core/settings.ts';
import type { Action, SpeechOptions } from '../core/types.ts';
import { accountCodeKey, authorizationCodeKey } from '../adapters/code-key.ts';
import { publicUrl, verifyTwilioSignature, type TwilioParams } from '../adapters/twilio/signature.ts';
import { renderTwiml } from '../adapters/twilio/twiml.ts';
import { HEALTH_PATH, MAX_BODY_BYTES, VOICE_PATHS } from '../routes.ts';
import { gatedAlerts } from './alert-gate.ts';
import type { Logger } from './logger.ts';

export type { Alert, AlertSink } from '../core/ports.ts';

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
  /** The auth tokens of a Twilio Account SID, primary first (rotation). `refresh` asks again past any cache. */
  readonly authTokens: (accountSid: string, options?: { readonly refresh?: boolean }) => Promise<readonly string[]>;
  readonly pepper: () => Promise<string>;
  readonly alerts: AlertSink;
  /**
   * The deployment's emergency caller ID (configuration, never storage): what an emergency
   * `<Dial>` carries when neither the user, the entry point nor the account gives one in time.
   */
  readonly emergencyCallerId: string;
  /** The base URL Twilio calls (`https://abc.execute-api…`); unset: taken from the request's Host. */
  readonly publicBaseUrl?: string;
  readonly now: () => Date;
  readonly log: Logger;
  /** How long account settings are cached. At most 30 s (docs/call-flow.md). @default 30000 */
  readonly settingsTtlMs?: number;
  /**
   * How long, counted from the request's arrival, an emergency answer waits for its usage
   * record and alert before it is sent anyway; the work goes on after. @default 500
   */
  readonly emergencySideWorkMs?: number;
}

export { MAX_BODY_BYTES };
const ROUTES: ReadonlySet<string> = new Set(VOICE_PATHS);
/** Calls whose state this container holds: later webhooks of a call mostly come back here. */
const CALL_CACHE_SIZE = 5000;
const CALL_CACHE_MS = 15 * 60_000;

/** An HTTP answer other than TwiML: a refusal with a plain-text reason. */
class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

interface AccountEntry {
  readonly account: string | undefined;
  readonly settings: Settings | undefined;
  readonly at: number;
}

/** What a webhook knows once its request is parsed and verified. */
interface Request {
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

/** The voice function's core: every `/voice/*` route. */
export function makeVoiceApp(deps: VoiceDeps): (event: HttpEvent) => Promise<HttpResult> {
  const settingsTtl = Math.min(deps.settingsTtlMs ?? 30_000, 30_000);
  const accountsBySid = new Map<string, AccountEntry>();
  const callCache = new Map<string, { stored: StoredCallState; at: number }>();
  const alerts = gatedAlerts(deps.alerts);

  async function accountFor(accountSid: string): Promise<AccountEntry> {
    const cached = accountsBySid.get(accountSid);
    if (cached !== undefined && deps.now().getTime() - cached.at < settingsTtl) return cached;
    const account = await deps.accounts.accountForSid(accountSid);
    const settings = account === undefined ? undefined : await deps.accounts.getSettings(account);
    const entry = { account: settings === undefined ? undefined : account, settings, at: deps.now().getTime() };
    accountsBySid.set(accountSid, entry);
    return entry;
  }

  /** Settings already in memory, however old: the emergency path may use nothing slower. */
  function settingsInMemory(accountSid: string | undefined): Settings | undefined {
    return accountSid === undefined ? undefined : accountsBySid.get(accountSid)?.settings;
  }

  function remember(callSid: string, stored: StoredCallState): void {
    callCache.delete(callSid);
    callCache.set(callSid, { stored, at: deps.now().getTime() });
    if (callCache.size > CALL_CACHE_SIZE) callCache.delete(callCache.keys().next().value as string);
  }

  function cachedCall(callSid: string): StoredCallState | undefined {
    const hit = callCache.get(callSid);
    if (hit === undefined) return undefined;
    if (deps.now().getTime() - hit.at > CALL_CACHE_MS) {
      callCache.delete(callSid);
      return undefined;
    }
    return hit.stored;
  }

  async function verify(req: Request): Promise<boolean> {
    const accountSid = req.params.AccountSid ?? '';
    if (!ACCOUNT_SID.test(accountSid)) return false;
    const tokens = await deps.authTokens(accountSid);
    if (verifyTwilioSignature(req.url, req.rawParams, req.signature, tokens)) return true;
    // A token rotated since the tokens were cached: ask once more past the cache.
    const fresh = await deps.authTokens(accountSid, { refresh: true });
    return fresh.join('\n') !== tokens.join('\n') && verifyTwilioSignature(req.url, req.rawParams, req.signature, fresh);
  }

  async function applyEffects(effects: readonly Effect[], settings: Settings): Promise<void> {
    await Promise.all(
      effects.map(async (effect) => {
        if (effect.type !== 'lockout') return alerts.raise({ ...effect, verified: true });
        // Counted against the records as they are now, not as this webhook read them: parallel
        // calls must all count — the caller's record and the account-wide throttle's.
        const now = deps.now();
        const [own, account] = await Promise.all([
          deps.lockouts.update(settings.account, effect.user, (current) => recordFailure(current, now, settings.lockout).record),
          deps.lockouts.update(settings.account, ACCOUNT_THROTTLE, (current) => recordFailure(current, now, accountThrottleRules(settings.lockout)).record),
        ]);
        const lockedNow = (r: typeof own) => !isLockedOut(r.before, now) && isLockedOut(r.after, now);
        const alerted = effects.some((e) => e.type === 'alert' && e.kind === 'lockout');
        const lockAlert = { account: settings.account, callerId: effect.user, destination: '', callSid: effect.callSid, at: now.toISOString(), verified: true };
        if (lockedNow(own) && !alerted) await alerts.raise({ ...lockAlert, kind: 'lockout', user: effect.user });
        if (lockedNow(account)) await alerts.raise({ ...lockAlert, kind: 'throttle', user: ACCOUNT_THROTTLE });
      }),
    );
  }

  /**
   * Decide and save, re-reading and deciding again when another write won (a retried
   * webhook, or the dial result and status callback at the same moment).
   */
  async function decideAndSave(
    callSid: string,
    settings: Settings,
    first: StoredCallState | undefined,
    event: (state: CallState | undefined) => CallEvent,
    /** What the caller will hear may already be fixed (an emergency answer): the decision as answered. */
    answered: (decision: Decision) => Decision = (d) => d,
  ): Promise<Decision> {
    let stored = first;
    for (let attempt = 0; attempt < 4; attempt++) {
      const decided = decide(stored?.state, event(stored?.state), { settings, now: deps.now() });
      if (!decided.changed) return decided;
      const decision = answered(decided);
      const revision = await deps.calls.put(decision.state, { expectedRevision: stored?.revision, timeZone: settings.timeZone });
      if (revision !== undefined) {
        remember(callSid, { state: decision.state, revision });
        await applyEffects(decision.effects, settings);
        return decision;
      }
      callCache.delete(callSid);
      stored = await deps.calls.get(callSid);
    }
    throw new Error(`call ${callSid}: gave up after repeated write conflicts`);
  }

  async function loadCall(callSid: string): Promise<StoredCallState | undefined> {
    return cachedCall(callSid) ?? (await deps.calls.get(callSid));
  }

  // ---- routes --------------------------------------------------------------------------

  async function incoming(req: Request, entry: AccountEntry & { settings: Settings; account: string }): Promise<Action[]> {
    const { settings } = entry;
    const p = req.params;
    const call = {
      callSid: p.CallSid ?? '',
      from: p.From ?? '',
      to: p.To ?? '',
      ...(p.SipDomain ? { sipDomain: p.SipDomain } : {}),
      ...(p.ApplicationSid ? { applicationSid: p.ApplicationSid } : {}),
    };
    const caller = normalizeIdentity(call.from);
    const route = routeCall(call, settings);
    const ids = [call.from];
    if (E164.test(call.to)) ids.push(call.to);
    const tagging = route.kind === 'forward' && route.tagByCallerId && E164.test(call.from);
    const [ctx, match] = await Promise.all([
      deps.callContext.loadStart(settings.account, caller, ids),
      tagging ? deps.codes.codeForCallerId(settings.account, call.from) : Promise.resolve(undefined),
    ]);
    const decision = await decideAndSave(call.callSid, settings, undefined, () => ({
      type: 'start',
      call,
      user: ctx.users.get(call.from),
      toIsUser: ids.length > 1 && ctx.users.has(call.to),
      lockout: ctx.lockout,
      accountLockout: ctx.accountLockout,
      ...(match === undefined ? {} : { callerIdMatch: match }),
      emergencyCallerId: deps.emergencyCallerId,
    }));
    return [...decision.actions];
  }

  async function code(req: Request, settings: Settings): Promise<Action[]> {
    const callSid = req.params.CallSid ?? '';
    // Exactly as the Gather's action wrote it: `Number()` would also take " 1", "+1", "1e1" and "0x1".
    const stepText = req.query.get('step') ?? '';
    if (!/^[1-9][0-9]?$/.test(stepText)) throw new HttpError(400, 'step must be a whole number from 1 to 99');
    const step = Number(stepText);
    const digits = (req.params.Digits ?? '').replace(/#+$/, '');
    const caller = normalizeIdentity(req.params.From ?? '');
    // Only digits that could be a code are looked up; both kinds in the same round trip.
    const lookup = isCodeFormat(digits, { min: CODE_LENGTH_MIN, max: CODE_LENGTH_MAX });
    const pepper = lookup ? await deps.pepper() : '';
    const keys = lookup ? { account: accountCodeKey(digits), authorization: authorizationCodeKey(pepper, settings.account, digits) } : undefined;
    const cached = cachedCall(callSid);
    const ctx = await deps.callContext.loadStep(settings.account, caller, keys === undefined ? [] : [keys.account, keys.authorization], cached === undefined ? callSid : undefined);
    const stored = cached ?? ctx.call;
    if (stored === undefined) throw new CallFlowError(`a code arrived for call ${callSid}, which has no state`);
    const codeFor = (state: CallState | undefined): CodeItem | undefined =>
      keys === undefined ? undefined : ctx.codes.get(state?.treatment === 'authorized' ? keys.authorization : keys.account);
    const decision = await decideAndSave(callSid, settings, stored, (state) => ({
      type: 'code',
      step,
      digits,
      lookup: codeFor(state),
      lockout: ctx.lockout,
      accountLockout: ctx.accountLockout,
    }));
    return [...decision.actions];
  }

  /**
   * Dial result or status callback. A call with no state (its first webhook could not be
   * saved — an emergency answered while storage was down) gets its record now, so every call
   * still ends as one usage record.
   */
  async function callEnd(req: Request, settings: Settings, event: CallEvent): Promise<Action[]> {
    const callSid = req.params.CallSid ?? '';
    let stored = await loadCall(callSid);
    if (stored === undefined) {
      const started = decide(
        undefined,
        {
          type: 'start',
          call: { callSid, from: req.params.From ?? '', to: req.params.To ?? '' },
          user: undefined,
          lockout: undefined,
          emergencyCallerId: deps.emergencyCallerId,
        },
        { settings, now: deps.now() },
      );
      const revision = await deps.calls.put(started.state, { expectedRevision: undefined, timeZone: settings.timeZone });
      if (revision === undefined) {
        stored = await deps.calls.get(callSid);
      } else {
        stored = { state: started.state, revision };
        // The start's effects are this write's to carry out: an emergency answer whose own write
        // was overtaken by this one finds the call recorded and leaves the alert to us.
        await applyEffects(started.effects, settings);
      }
      deps.log.warn('call had no state; recorded from its callback', { callSid, route: req.path });
    }
    const decision = await decideAndSave(callSid, settings, stored, () => event);
    return [...decision.actions];
  }

  // ---- the pipeline --------------------------------------------------------------------

  /** The public base URL: configured, or the scheme and host the request came to. */
  function baseUrlOf(headers: Readonly<Record<string, string | undefined>>): string {
    return deps.publicBaseUrl ?? `${headers['x-forwarded-proto'] ?? 'https'}://${headers.host ?? 'localhost'}`;
  }

  /** `GET /health` in AWS: answered without storage — the function runs, and the URL it checks signatures against. */
  function health(event: HttpEvent): HttpResult {
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    if (method !== 'GET') return { statusCode: 405, headers: { 'content-type': 'text/plain; charset=utf-8', allow: 'GET' }, body: '/health takes GET\n' };
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'ok', publicUrl: baseUrlOf(lowerCase(event.headers ?? {})) }) };
  }

  function parse(event: HttpEvent): Request {
    const method = (event.requestContext?.http?.method ?? 'POST').toUpperCase();
    const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;

    if (!ROUTES.has(path)) throw new HttpError(404, `no such path: ${path}`);
    if (method !== 'POST') throw new HttpError(405, `${path} takes POST`, { allow: 'POST' });
    const headers = lowerCase(event.headers ?? {});
    const raw = event.body ?? '';
    const bytes = event.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
    if (bytes.byteLength > MAX_BODY_BYTES) throw new HttpError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
    const type = headers['content-type'] ?? '';
    if (bytes.byteLength > 0 && !/^application\/x-www-form-urlencoded\b/i.test(type)) {
      throw new HttpError(400, 'the body must be application/x-www-form-urlencoded, as Twilio sends it');
    }
    const text = bytes.toString('utf8');
    const form = new URLSearchParams(text);
    const rawParams: Record<string, string | string[]> = {};
    const params: Record<string, string> = {};
    for (const [k, v] of form) {
      const prev = rawParams[k];
      rawParams[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      params[k] ??= v;
    }
    const rawQuery = event.rawQueryString ?? '';
    const base = baseUrlOf(headers);
    return {
      path,
      query: new URLSearchParams(rawQuery),
      params,
      rawParams,
      // Signed as Twilio requested it: the raw path, before the trailing slash is dropped for routing.
      url: publicUrl(base, event.rawPath, rawQuery),
      base,
      signature: headers['x-twilio-signature'],
      sourceIp: event.requestContext?.http?.sourceIp,
    };
  }

  /**
   * The caller and destination of a first webhook, before they are stored and dialled: Twilio
   * never sends control characters (or anything XML cannot carry) in a number, client name or
   * SIP address, and a `<Dial>` to one could not even be rendered.
   */
  function requireAddresses(req: Request, names: readonly string[]): void {
    for (const name of names) {
      const value = req.params[name];
      if (value !== undefined && (value.length > MAX_ADDRESS_LENGTH || NOT_AN_ADDRESS.test(value))) {
        throw new HttpError(400, `${name} is not a phone number, client name or SIP address`);
      }
    }
  }

  function requireParams(req: Request, names: readonly string[]): void {
    for (const name of names) {
      const value = req.params[name];
      if (value === undefined || value === '') throw new HttpError(400, `${name} is missing`);
    }
    if (!CALL_SID.test(req.params.CallSid ?? '')) throw new HttpError(400, 'CallSid is not a Twilio Call SID');
    if (!ACCOUNT_SID.test(req.params.AccountSid ?? '')) throw new HttpError(400, 'AccountSid is not a Twilio Account SID');
  }

  function twiml(actions: readonly Action[], speech: SpeechOptions, req: Request | undefined): HttpResult {
    const baseUrl = req?.base ?? deps.publicBaseUrl;
    return {
      statusCode: 200,
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: renderTwiml(actions, { speech, ...(baseUrl === undefined ? {} : { baseUrl }) }),
    };
  }

  /**
   * The emergency answer: the dial goes out on this response whatever else happens, always with
   * a caller ID. Within the emergency wait (counted from the request's arrival) the request is
   * verified, the account and the caller's user record are read so the dial carries the
   * user's own caller ID, and the usage record and alert are written; when the wait runs out
   * first, the answer goes out with the best caller ID already known — the account's if its
   * settings are in memory, else the deployment's — and the record names that one.
   */
  async function emergency(req: Request, arrived: number, shortNumber: string): Promise<HttpResult> {
    const p = req.params;
    const known = settingsInMemory(p.AccountSid);
    const fallback = emergencyActions(shortNumber, emergencyCallerId({ account: known?.callerId, deployment: deps.emergencyCallerId }));
    let answer: Action[] | undefined;
    const answerWith = (actions: readonly Action[]): Action[] => (answer ??= [...actions]);
    const sideWork = (async () => {
      let verified = false;
      let account: string | undefined;
      try {
        verified = await verify(req);
        const entry = verified ? await accountFor(p.AccountSid ?? '') : undefined;
        account = entry?.account;
        if (entry?.settings !== undefined && CALL_SID.test(p.CallSid ?? '')) {
          await recordEmergency(req, entry.settings, answerWith);
          return;
        }
      } catch (err) {
        deps.log.error('emergency call could not be recorded; it was dialled', { callSid: p.CallSid, error: err });
      }
      const used = answerWith(fallback);
      const alert: Alert = {
        kind: 'emergency',
        account,
        user: normalizeIdentity(p.From ?? ''),
        callerId: callerIdOf(used) ?? deps.emergencyCallerId,
        destination: p.To ?? '',
        callSid: p.CallSid ?? '',
        at: deps.now().toISOString(),
        verified,
      };
      // Unverified, or for no account Tollgate knows: deduplicated, rate-limited, address-shaped.
      if (verified && account !== undefined) await alerts.raise(alert);
      else await alerts.raiseUnverified(alert, { accountSid: p.AccountSid ?? '', sourceIp: req.sourceIp });
    })().catch((err: unknown) => deps.log.error('emergency alert failed', { callSid: p.CallSid, error: err }));
    await Promise.race([sideWork, delay(Math.max(0, arrived + (deps.emergencySideWorkMs ?? 500) - Date.now()))]);
    return twiml(answerWith(fallback), known?.prompts ?? DEFAULT_SPEECH, req);
  }

  /** A verified emergency call of a known account: the user's record, the decision, the usage record and alert. */
  async function recordEmergency(req: Request, settings: Settings, answerWith: (actions: readonly Action[]) => Action[]): Promise<void> {
    const p = req.params;
    const from = p.From ?? '';
    const { users } = await deps.callContext.loadStart(settings.account, normalizeIdentity(from), [from]);
    const call = { callSid: p.CallSid ?? '', from, to: p.To ?? '', ...(p.SipDomain ? { sipDomain: p.SipDomain } : {}), ...(p.ApplicationSid ? { applicationSid: p.ApplicationSid } : {}) };
    const event: CallEvent = { type: 'start', call, user: users.get(from), lockout: undefined, emergencyCallerId: deps.emergencyCallerId };
    // decide() answers an emergency with its dial and raises the alert as an effect.
    const decision = await decideAndSave(call.callSid, settings, undefined, () => event, (d) => answeredWith(d, answerWith(d.actions)));
    answerWith(decision.actions);
  }

  /**
   * The short emergency number for a first webhook, if it is one: by the account's own rules
   * when its settings are in memory; otherwise, for a number that is an emergency number
   * somewhere, the account is looked up for a short while and, failing that, it is one.
   */
  async function emergencyFor(p: Readonly<Record<string, string>>): Promise<string | undefined> {
    const to = p.To ?? '';
    const known = settingsInMemory(p.AccountSid);
    if (known !== undefined) return emergencyNumberFor(to, known);
    const anywhere = emergencyNumberAnywhere(to);
    if (anywhere === undefined) return undefined;
    const lookup = accountFor(p.AccountSid ?? '').then(
      (entry) => (entry.settings === undefined ? anywhere : emergencyNumberFor(to, entry.settings)),
      () => anywhere,
    );
    // Storage that is slow to answer must not hold an emergency call: past the wait, dial.
    return Promise.race([lookup, delay(Math.min(EMERGENCY_LOOKUP_MS, deps.emergencySideWorkMs ?? EMERGENCY_LOOKUP_MS)).then(() => anywhere)]);
  }

  /** The emergency answer with no storage at all (the fallback URL, the error path). */
  function emergencyWithoutStorage(p: Readonly<Record<string, string>>): Action[] | undefined {
    const to = p.To ?? '';
    const known = settingsInMemory(p.AccountSid);
    const short = (known === undefined ? undefined : emergencyNumberFor(to, known)) ?? emergencyNumberAnywhere(to);
    return short === undefined ? undefined : emergencyActions(short, emergencyCallerId({ account: known?.callerId, deployment: deps.emergencyCallerId }));
  }

  return async (event) => {
    const arrived = Date.now();
    if (event.rawPath === HEALTH_PATH) return health(event);
    let req: Request | undefined;
    let settings: Settings | undefined;
    try {
      req = parse(event);
      const p = req.params;
      if (req.path === '/voice/fallback') {
        // Twilio calls this when the voice URL failed: no storage, no signature needed to answer.
        const actions = emergencyWithoutStorage(p);
        return actions === undefined ? twiml(errorActions(DEFAULT_PROMPTS), DEFAULT_SPEECH, req) : twiml(actions, DEFAULT_SPEECH, req);
      }
      if (req.path === '/voice/incoming') {
        const short = await emergencyFor(p);
        if (short !== undefined) return await emergency(req, arrived, short);
      }
      requireParams(req, ['CallSid', 'AccountSid']);
      if (!(await verify(req))) throw new HttpError(403, 'the X-Twilio-Signature header is missing or does not match this request');
      const entry = await accountFor(p.AccountSid ?? '');
      if (entry.settings === undefined || entry.account === undefined) throw new HttpError(403, 'this Twilio Account SID belongs to no Tollgate account');
      settings = entry.settings;
      const short = req.path === '/voice/incoming' ? emergencyNumberFor(p.To ?? '', settings) : undefined;
      if (short !== undefined) return await emergency(req, arrived, short);

      let actions: Action[];
      switch (req.path) {
        case '/voice/incoming':
          requireParams(req, ['From', 'To']);
          requireAddresses(req, ['From', 'To', 'SipDomain']);
          actions = await incoming(req, { ...entry, settings, account: entry.account });
          break;
        case '/voice/code':
          actions = await code(req, settings);
          break;
        case '/voice/dial-complete':
          actions = await callEnd(req, settings, {
            type: 'dial-complete',
            dialCallStatus: p.DialCallStatus ?? 'failed',
            ...(p.DialCallDuration === undefined ? {} : { dialCallDuration: Number(p.DialCallDuration) }),
          });
          break;
        default:
          await callEnd(req, settings, {
            type: 'status',
            callStatus: p.CallStatus ?? 'completed',
            ...(p.CallDuration === undefined ? {} : { callDuration: Number(p.CallDuration) }),
          });
          return { statusCode: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' };
      }
      return twiml(actions, settings.prompts, req);
    } catch (err) {
      if (err instanceof HttpError) {
        return { statusCode: err.statusCode, headers: { 'content-type': 'text/plain; charset=utf-8', ...err.headers }, body: `${err.message}\n` };
      }
      // Never silent: an apology and a hang-up — except that an emergency number is dialled.
      deps.log.error('webhook failed', { path: req?.path, callSid: req?.params.CallSid, error: err });
      const dial = req?.path === '/voice/incoming' ? emergencyWithoutStorage(req.params) : undefined;
      if (dial !== undefined) return twiml(dial, DEFAULT_SPEECH, req);
      if (req?.path === '/voice/status') return { statusCode: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'the status could not be recorded\n' };
      const prompts = settings === undefined ? DEFAULT_PROMPTS : resolvePrompts(settings.prompts, settings.codeLength);
      return twiml(errorActions(prompts), settings?.prompts ?? DEFAULT_SPEECH, req);
    }
  };

}

/** Longer than any number, client name or SIP address Twilio sends. */
const MAX_ADDRESS_LENGTH = 1024;
/** C0/C1 controls, U+FFFE/U+FFFF and unpaired surrogates. */
const NOT_AN_ADDRESS = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** How long a possible emergency call waits to learn the account's country before it is dialled anyway. */
const EMERGENCY_LOOKUP_MS = 300;

/** The caller ID of the dial an answer ends in. */
function callerIdOf(actions: readonly Action[]): string | undefined {
  const last = actions.at(-1);
  return last?.type === 'dial' ? last.callerId : undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function lowerCase(headers: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}
