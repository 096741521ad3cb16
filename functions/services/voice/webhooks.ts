/**
 * The verified webhooks of a call (docs/call-flow.md): the first one, a code step, and the
 * two that end it (the dial result and the status callback).
 */
import { CallFlowError, decide, type CallEvent, type CallState } from '../../core/callflow.ts';
import { enteredDigits, isCodeFormat, normalizeIdentity } from '../../core/codes.ts';
import { routeCall } from '../../core/callflow.ts';
import { CODE_LENGTH_MAX, CODE_LENGTH_MIN, E164 } from '../../core/identifiers.ts';
import type { CodeItem } from '../../core/ports.ts';
import type { Settings } from '../../core/settings.ts';
import type { Action, PromptLanguage } from '../../core/types.ts';
import { accountCodeKey, authorizationCodeKey } from '../../adapters/code-key.ts';
import type { CallParties } from './caches.ts';
import type { VoiceContext, VoiceRequest } from './context.ts';
import { HttpError, requireAddresses, requireParams } from './http.ts';
import { applyEffects, decideAndSave, loadCall } from './persist.ts';

/** What a webhook answers: the actions, spoken in the call's language. */
export interface WebhookAnswer {
  readonly actions: readonly Action[];
  /** The caller's language, when their user has one (else the account's). */
  readonly language?: PromptLanguage;
}

/** What the verified webhook at `req.path` answers. */
export async function answerWebhook(ctx: VoiceContext, req: VoiceRequest, settings: Settings): Promise<WebhookAnswer> {
  const p = req.params;
  switch (req.path) {
    case '/voice/incoming':
      requireParams(req, ['From', 'To']);
      requireAddresses(req, ['From', 'To', 'SipDomain']);
      return incoming(ctx, req, settings);
    case '/voice/code':
      return code(ctx, req, settings);
    case '/voice/dial-complete':
      return callEnd(ctx, req, settings, {
        type: 'dial-complete',
        dialCallStatus: p.DialCallStatus ?? 'failed',
        ...(p.DialCallDuration === undefined ? {} : { dialCallDuration: Number(p.DialCallDuration) }),
        ...(p.CallStatus === undefined ? {} : { callStatus: p.CallStatus }),
      });
    default:
      return callEnd(ctx, req, settings, {
        type: 'status',
        callStatus: p.CallStatus ?? 'completed',
        ...(p.CallDuration === undefined ? {} : { callDuration: Number(p.CallDuration) }),
      });
  }
}

function answerOf(state: CallState, actions: readonly Action[]): WebhookAnswer {
  return state.language === undefined ? { actions } : { actions, language: state.language };
}

/** The custom parameter a Voice SDK app sends the chosen account code in (`device.connect({ params: { To, accountCode } })`). */
export const APP_CODE_PARAM = 'accountCode';

/**
 * The first webhook: the caller's user record and lockouts (and, forwarded, a caller-ID tag;
 * or the account code the app sent) in one read.
 */
async function incoming(ctx: VoiceContext, req: VoiceRequest, settings: Settings): Promise<WebhookAnswer> {
  const { deps } = ctx;
  const p = req.params;
  const call = {
    callSid: p.CallSid ?? '',
    from: p.From ?? '',
    to: p.To ?? '',
    ...(p.SipDomain ? { sipDomain: p.SipDomain } : {}),
    ...(p.ApplicationSid ? { applicationSid: p.ApplicationSid } : {}),
  };
  const route = routeCall(call, settings);
  const { caller, ids } = callParties(p);
  const tagging = route.kind === 'forward' && route.tagByCallerId && E164.test(call.from);
  // Only an account code is ever looked up for the app's parameter: authorization codes are never taken this way.
  // A lone `#` is no code at all.
  const appDigits = route.kind === 'outbound' ? enteredDigits(p[APP_CODE_PARAM]?.trim() ?? '') : '';
  const appKey = isCodeFormat(appDigits, { min: CODE_LENGTH_MIN, max: CODE_LENGTH_MAX }) ? accountCodeKey(appDigits) : undefined;
  // An app's code is looked up with the rest; without one, the caller's last start may serve.
  const start = () => deps.callContext.loadStart(settings.account, caller, ids, appKey === undefined ? [] : [appKey]);
  const [loaded, match] = await Promise.all([
    appKey === undefined ? ctx.starts.get(settings.account, caller, ids, start) : start(),
    tagging ? deps.codes.codeForCallerId(settings.account, call.from) : Promise.resolve(undefined),
  ]);
  const decision = await decideAndSave(ctx, call.callSid, settings, undefined, () => ({
    type: 'start',
    call,
    user: loaded.users.get(call.from),
    toIsUser: ids.length > 1 && loaded.users.has(call.to),
    lockout: loaded.lockout,
    accountLockout: loaded.accountLockout,
    ...(match === undefined ? {} : { callerIdMatch: match }),
    ...(appDigits === '' ? {} : { appCode: { digits: appDigits, lookup: appKey === undefined ? undefined : loaded.codes?.get(appKey) } }),
    emergencyCallerId: deps.emergencyCallerId,
  }));
  return answerOf(decision.state, decision.actions);
}

/** A first webhook's caller (canonical) and the parties that may be users: the callee too when it is a number. */
export function callParties(params: Readonly<Record<string, string>>): CallParties {
  const from = params.From ?? '';
  const to = params.To ?? '';
  return { caller: normalizeIdentity(from), ids: E164.test(to) ? [from, to] : [from] };
}

/** A code step: the call, both kinds of code the digits may name, and the lockouts in one read. */
async function code(ctx: VoiceContext, req: VoiceRequest, settings: Settings): Promise<WebhookAnswer> {
  const { deps } = ctx;
  const callSid = req.params.CallSid ?? '';
  // Exactly as the Gather's action wrote it: `Number()` would also take " 1", "+1", "1e1" and "0x1".
  const stepText = req.query.get('step') ?? '';
  if (!/^[1-9][0-9]?$/.test(stepText)) throw new HttpError(400, 'step must be a whole number from 1 to 99');
  const digits = enteredDigits(req.params.Digits ?? '');
  // Only digits that could be a code are looked up.
  const keys = isCodeFormat(digits, { min: CODE_LENGTH_MIN, max: CODE_LENGTH_MAX })
    ? { account: accountCodeKey(digits), authorization: authorizationCodeKey(await deps.pepper(), settings.account, digits) }
    : undefined;
  const cached = ctx.calls.get(callSid);
  const caller = normalizeIdentity(req.params.From ?? '');
  const loaded = await deps.callContext.loadStep(
    settings.account,
    caller,
    keys === undefined ? [] : [keys.account, keys.authorization],
    cached === undefined ? callSid : undefined,
  );
  ctx.starts.lockouts(settings.account, caller, loaded);
  const stored = cached ?? loaded.call;
  if (stored === undefined) throw new CallFlowError(`a code arrived for call ${callSid}, which has no state`);
  // The after-call prompt takes only account codes, whatever the call's treatment was.
  const codeFor = (state: CallState | undefined): CodeItem | undefined =>
    keys === undefined ? undefined : loaded.codes.get(state?.treatment === 'authorized' && state.phase !== 'tagging' ? keys.authorization : keys.account);
  const decision = await decideAndSave(ctx, callSid, settings, stored, (state) => ({
    type: 'code',
    step: Number(stepText),
    digits,
    lookup: codeFor(state),
    lockout: loaded.lockout,
    accountLockout: loaded.accountLockout,
  }));
  return answerOf(decision.state, decision.actions);
}

/**
 * Dial result or status callback. A call with no state (its first webhook could not be
 * saved — an emergency answered while storage was down) gets its record now, so every call
 * still ends as one usage record.
 */
async function callEnd(ctx: VoiceContext, req: VoiceRequest, settings: Settings, event: CallEvent): Promise<WebhookAnswer> {
  const callSid = req.params.CallSid ?? '';
  const stored = (await loadCall(ctx, callSid)) ?? (await recordFromCallback(ctx, req, settings));
  const decision = await decideAndSave(ctx, callSid, settings, stored, () => event);
  return answerOf(decision.state, decision.actions);
}

async function recordFromCallback(ctx: VoiceContext, req: VoiceRequest, settings: Settings) {
  const { deps } = ctx;
  const callSid = req.params.CallSid ?? '';
  const call = { callSid, from: req.params.From ?? '', to: req.params.To ?? '' };
  const started = decide(undefined, { type: 'start', call, user: undefined, lockout: undefined, emergencyCallerId: deps.emergencyCallerId }, { settings, now: deps.now() });
  deps.log.warn('call had no state; recorded from its callback', { callSid, route: req.path });
  const revision = await deps.calls.put(started.state, { expectedRevision: undefined, timeZone: settings.timeZone });
  if (revision === undefined) return deps.calls.get(callSid);
  // The start's effects are this write's to carry out: an emergency answer whose own write
  // was overtaken by this one finds the call recorded and leaves the alert to us.
  await applyEffects(ctx, started.effects, settings);
  return { state: started.state, revision };
}
