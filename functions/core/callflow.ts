/**
 * The call flow of docs/call-flow.md as one pure function: `decide(state, event, context)` returns the
 * next state, the actions the caller hears (rendered to TwiML by the adapter) and the effects
 * the handler must carry out (alerts, lockout counting). Wrong codes, the last attempt and
 * lockout are transitions, never exceptions. The core does no I/O: every lookup the flow
 * needs (the user, the code typed, the lockout record) arrives in the event.
 */
import { classifyDestination, dialTargetFor, type Classification } from './classify.ts';
import { checkCode, enteredDigits, isCodeFormat, normalizeIdentity, type StoredCode } from './codes.ts';
import { emergencyCallerId, emergencyNumberFor, isEmergency } from './emergency.ts';
import { isLockedOut, recordFailure, type LockoutRecord } from './lockout.ts';
import { resolvePolicy, type Policy } from './policy.ts';
import { resolvePrompts, type Prompts } from './prompts.ts';
import { tagRecord } from './tagging.ts';
import { localDate } from './time.ts';
import { E164, entryPointKind } from './identifiers.ts';
import type { EntryPointSettings, Settings, UserRecord } from './settings.ts';
import type { Action, CodeKind, Outcome, Treatment } from './types.ts';
import type { CallState } from './call-state.ts';

export type { CallState, Phase } from './call-state.ts';

/** The fields of Twilio's first webhook that the flow reads. */
export interface IncomingCall {
  readonly callSid: string;
  readonly from: string;
  readonly to: string;
  readonly sipDomain?: string;
  readonly applicationSid?: string;
}

export type CallEvent =
  | {
      readonly type: 'start';
      readonly call: IncomingCall;
      /** The stored user for `From`, if any. */
      readonly user: UserRecord | undefined;
      /** True when `To` is a number listed as a user of the account (→ `internal`). */
      readonly toIsUser?: boolean;
      /** The user's lockout record, if any. */
      readonly lockout: LockoutRecord | undefined;
      /** The account-wide throttle's record (`lockout.accountFailures`), if any. */
      readonly accountLockout?: LockoutRecord | undefined;
      /** Inbound tagging: an account code whose `caller_ids` list `From`. */
      readonly callerIdMatch?: StoredCode;
      /**
       * The account code a Voice SDK app sent with the call (the `accountCode` parameter), and the
       * stored account code those digits name, if any.
       */
      readonly appCode?: { readonly digits: string; readonly lookup: StoredCode | undefined };
      /** The deployment's emergency caller ID (configuration, never storage): an emergency `<Dial>`'s last resort. */
      readonly emergencyCallerId: string;
    }
  | {
      readonly type: 'code';
      readonly step: number;
      /** `Digits` as Twilio sent it (empty on silence or a lone `#`). */
      readonly digits: string;
      /** The stored code the digits name (of the kind the treatment asks for), if any. */
      readonly lookup: StoredCode | undefined;
      /** The user's lockout record as it stands now. */
      readonly lockout: LockoutRecord | undefined;
      /** The account-wide throttle's record as it stands now. */
      readonly accountLockout?: LockoutRecord | undefined;
    }
  | {
      readonly type: 'dial-complete';
      /** `DialCallStatus`: completed, answered, busy, no-answer, failed, canceled. */
      readonly dialCallStatus: string;
      /** `DialCallDuration` in seconds; absent when the dialled party did not answer. */
      readonly dialCallDuration?: number;
      /** `CallStatus` of the caller's own leg: `in-progress` when the dialled party hung up first. */
      readonly callStatus?: string;
    }
  | {
      readonly type: 'status';
      /** `CallStatus`: completed, busy, no-answer, failed, canceled. */
      readonly callStatus: string;
      /** `CallDuration` in seconds. */
      readonly callDuration?: number;
    };

/** An emergency call, a user locked out, or the account-wide throttle tripped. */
export type AlertKind = 'emergency' | 'lockout' | 'throttle';

/** What the handler must do besides answering Twilio. */
export type Effect =
  | {
      readonly type: 'alert';
      readonly kind: AlertKind;
      readonly account: string;
      readonly user: string;
      readonly callerId: string;
      readonly destination: string;
      readonly callSid: string;
      readonly at: string;
    }
  /** Store this lockout record for the user (a failed entry was counted). */
  | { readonly type: 'lockout'; readonly user: string; readonly record: LockoutRecord; readonly callSid: string };

export interface DecideContext {
  readonly settings: Settings;
  readonly now: Date;
}

export interface Decision {
  readonly state: CallState;
  readonly actions: readonly Action[];
  readonly effects: readonly Effect[];
  /** False when the event was a duplicate or came too late: nothing needs saving. */
  readonly changed: boolean;
}

/**
 * One step of the call flow. `state` is undefined only for `start`; for any other event with
 * no state the handler has nothing to go on and answers with {@link errorActions}.
 */
export function decide(state: CallState | undefined, event: CallEvent, ctx: DecideContext): Decision {
  switch (event.type) {
    case 'start':
      // A retried first webhook replays what the first delivery answered.
      return state === undefined ? start(event, ctx) : unchanged(state);
    case 'code':
      if (state === undefined) throw new CallFlowError('a code arrived for a call with no state');
      return onCode(state, event, ctx);
    case 'dial-complete':
      if (state === undefined) throw new CallFlowError('a dial result arrived for a call with no state');
      return onDialComplete(state, event, ctx);
    case 'status':
      if (state === undefined) throw new CallFlowError('a status callback arrived for a call with no state');
      return onStatus(state, event, ctx);
  }
}

/** A programming or ordering error the handler turns into an apology and `<Hangup/>`. */
export class CallFlowError extends Error {
  override readonly name = 'CallFlowError';
}

// ---------------------------------------------------------------------------------------
// Start

/** The route a first webhook takes, from the entry points of the settings. */
export type Route =
  | { readonly kind: 'forward'; readonly entryPoint: string; readonly forwardTo: string; readonly tagByCallerId: boolean }
  | { readonly kind: 'no-calls'; readonly entryPoint: string }
  | { readonly kind: 'outbound'; readonly entryPoint: string | undefined; readonly settings: EntryPointSettings | undefined };

/**
 * Inbound or outbound: a call to one of the account's entry-point numbers is inbound
 * (forwarded, or refused when the number forwards nowhere); everything else is an outbound
 * call placed through a SIP domain, a TwiML app, or neither. Emergency numbers are always
 * outbound. Where a call entered is what Twilio says — `SipDomain`, `ApplicationSid`, the
 * called number — never what the caller dialled: a destination on another entry point's
 * domain is judged under the caller's own (docs/security.md, "Where a call entered").
 */
export function routeCall(call: IncomingCall, settings: Settings): Route {
  const to = call.to.trim();
  if (!isEmergency(to, settings)) {
    const toNumber = E164.test(to) ? to : undefined;
    const ep = toNumber === undefined ? undefined : entryPointOf(settings, toNumber);
    if (toNumber !== undefined && ep !== undefined) {
      return ep.forwardTo === undefined
        ? { kind: 'no-calls', entryPoint: toNumber }
        : { kind: 'forward', entryPoint: toNumber, forwardTo: ep.forwardTo, tagByCallerId: ep.tagByCallerId };
    }
  }
  const sipDomain = call.sipDomain?.trim().toLowerCase();
  if (sipDomain !== undefined && sipDomain !== '') return { kind: 'outbound', entryPoint: sipDomain, settings: entryPointOf(settings, sipDomain) };
  if (call.applicationSid !== undefined && call.applicationSid !== '') {
    return { kind: 'outbound', entryPoint: call.applicationSid, settings: entryPointOf(settings, call.applicationSid) };
  }
  return { kind: 'outbound', entryPoint: undefined, settings: undefined };
}

/** Own keys only: an entry point named `constructor` or `__proto__` is no entry point. */
function entryPointOf(settings: Settings, key: string): EntryPointSettings | undefined {
  return Object.hasOwn(settings.entryPoints, key) ? settings.entryPoints[key] : undefined;
}

/** The account's SIP domains: every entry point key that is a host name. */
export function sipDomainsOf(settings: Settings): string[] {
  return Object.keys(settings.entryPoints).filter((k) => entryPointKind(k) === 'sipDomain');
}

export { dialTargetFor } from './classify.ts';

type StartEvent = Extract<CallEvent, { type: 'start' }>;
/** The fields every new call starts with. */
type CallBase = Pick<CallState, 'callSid' | 'account' | 'user' | 'caller' | 'destination' | 'startedAt' | 'step' | 'attempts' | 'dialCompleted' | 'statusReceived'>;

function start(event: StartEvent, ctx: DecideContext): Decision {
  const { settings, now } = ctx;
  const { call } = event;
  const route = routeCall(call, settings);
  const base: CallBase = {
    callSid: call.callSid,
    account: settings.account,
    user: normalizeIdentity(call.from),
    caller: call.from,
    destination: call.to,
    startedAt: now.toISOString(),
    step: 0,
    attempts: 0,
    dialCompleted: false,
    statusReceived: false,
  };
  return route.kind === 'outbound' ? startOutbound(event, ctx, route, base) : startInbound(event, ctx, route, base);
}

/** A call to an entry-point number: forwarded (tagged by caller ID), or told the number takes no calls. */
function startInbound(event: StartEvent, ctx: DecideContext, route: Exclude<Route, { kind: 'outbound' }>, base: CallBase): Decision {
  const { settings, now } = ctx;
  const inbound = {
    ...base,
    direction: 'inbound' as const,
    destinationClass: classifyFor(event.call.to, settings, event.toIsUser).callClass,
    entryPoint: route.entryPoint,
    treatment: 'free' as const,
    maxAttempts: settings.maxAttempts,
    validate: settings.validate,
    proceedAfterMaxAttempts: false,
    minLevel: 0,
  };
  if (route.kind === 'no-calls') {
    // Never dial an entry-point number back to itself: say so and end the call.
    return ended({ ...inbound, codeStatus: 'none', outcome: 'not-permitted' }, [say(promptsOf(settings).noCalls), HANGUP], now);
  }
  const match = route.tagByCallerId && canTagByCallerId(event.callerIdMatch, ctx) ? event.callerIdMatch : undefined;
  const dial = { target: dialTargetFor(route.forwardTo, settings) };
  const tagged = match === undefined ? { codeStatus: 'none' as const } : { codeStatus: 'caller-id' as const, ...tagOf(match) };
  return dialNow({ ...inbound, ...tagged, dial }, []);
}

/** A user calling out: classified, its treatment resolved, then dialled, refused or prompted. */
function startOutbound(event: StartEvent, ctx: DecideContext, route: Extract<Route, { kind: 'outbound' }>, base: CallBase): Decision {
  const { settings, now } = ctx;
  const { call, user } = event;
  const { callClass, foreign } = classifyFor(call.to, settings, event.toIsUser);
  const policy = resolvePolicy({ settings, user, entryPoint: route.settings, callClass, foreign });
  const callerId = user?.callerId ?? route.settings?.callerId ?? settings.callerId;
  const target = dialTargetFor(call.to, settings);
  const outbound = {
    ...base,
    direction: 'outbound' as const,
    destinationClass: callClass,
    listedUser: user !== undefined,
    ...(user?.language === undefined ? {} : { language: user.language }),
    ...(afterCallPromptOf(settings, user, policy.group) ? { afterCallPrompt: true } : {}),
    ...(route.entryPoint === undefined ? {} : { entryPoint: route.entryPoint }),
    ...(policy.group === undefined ? {} : { group: policy.group }),
    ...policyFields(policy),
    // Caller ID applies to the public network; calls to clients and SIP keep the caller's own.
    dial: { target, ...(target.kind === 'number' && callerId !== undefined ? { callerId } : {}) },
  };
  if (callClass === 'emergency') return startEmergency(event, ctx, route, outbound);
  const prompts = promptsOf(settings, outbound);
  if (policy.treatment === 'free') return dialNow({ ...outbound, codeStatus: 'none' }, []);
  if (policy.treatment === 'blocked') return ended({ ...outbound, codeStatus: 'none', outcome: 'not-permitted' }, [say(prompts.notPermitted), HANGUP], now);
  if (codeEntryLocked(outbound, event, now)) {
    // Locked out: an optional call goes through untagged; a call that needs a code does not.
    if (policy.treatment === 'optional') return dialNow({ ...outbound, codeStatus: 'locked-out' }, []);
    return ended({ ...outbound, codeStatus: 'locked-out', outcome: 'blocked' }, [say(prompts.lockedOut), HANGUP], now);
  }
  const state: CallState = { ...outbound, codeStatus: 'none', phase: 'prompting', lastActions: [] };
  if (event.appCode !== undefined && policy.treatment !== 'authorized') return withAppCode(state, event, event.appCode, ctx);
  const actions = [gather(state, firstPrompt(policy.treatment, prompts), settings)];
  return { state: { ...state, lastActions: actions }, actions, effects: [], changed: true };
}

/**
 * An account code chosen in the app (docs/call-flow.md, "Caller conveniences"): accepted as if
 * typed at the first prompt, so the call is dialled without one; otherwise it was a failed
 * attempt, and the caller hears the usual prompt (or, with no attempt left, what a last failed
 * attempt gets). Never for an authorization code: the caller is prompted for it as usual.
 */
function withAppCode(state: CallState, event: StartEvent, appCode: NonNullable<StartEvent['appCode']>, ctx: DecideContext): Decision {
  const digits = enteredDigits(appCode.digits);
  const accepted = acceptedCode(state, appCode, digits, ctx);
  if (accepted !== undefined) return dialNow({ ...state, attempts: 1, ...accepted }, []);
  return failedAttempt(state, { type: 'code', step: 0, digits, lookup: appCode.lookup, lockout: event.lockout, accountLockout: event.accountLockout }, digits, ctx);
}

/**
 * Emergency: dialled on the first response, whatever the settings or lockout say, as the
 * short number the emergency service answers, and always with a caller ID (docs/security.md).
 */
function startEmergency(event: StartEvent, ctx: DecideContext, route: Extract<Route, { kind: 'outbound' }>, outbound: Omit<Draft, 'codeStatus'>): Decision {
  const { settings, now } = ctx;
  const ids = { user: event.user?.callerId, entryPoint: route.settings?.callerId, account: settings.callerId, deployment: event.emergencyCallerId };
  const dial = { target: { kind: 'number' as const, number: emergencyNumberFor(event.call.to, settings) ?? event.call.to }, callerId: emergencyCallerId(ids) };
  const dialled = dialNow({ ...outbound, dial, codeStatus: 'exempt' }, []);
  return { ...dialled, effects: [alert('emergency', dialled.state, now)] };
}

/**
 * Code entry is locked for the caller's own lockout, and — for a caller who is not in the
 * users list — while the account-wide throttle holds (docs/security.md, "Lockouts").
 */
function codeEntryLocked(
  state: Pick<CallState, 'listedUser'>,
  records: { readonly lockout: LockoutRecord | undefined; readonly accountLockout?: LockoutRecord | undefined },
  now: Date,
): boolean {
  return isLockedOut(records.lockout, now) || (state.listedUser !== true && isLockedOut(records.accountLockout, now));
}

/**
 * Only a live account code tags an inbound call: enabled and not past its `expires` day in the
 * account's time zone. Its `users`/`groups` do not apply: an inbound caller is not a user.
 */
function canTagByCallerId(code: StoredCode | undefined, ctx: DecideContext): code is StoredCode {
  if (code === undefined || code.kind !== 'account' || !code.enabled) return false;
  return code.expires === undefined || localDate(ctx.now, ctx.settings.timeZone) <= code.expires;
}

function classifyFor(to: string, settings: Settings, toIsUser: boolean | undefined): Classification {
  const found = classifyDestination(to, { homeCountry: settings.homeCountry, outsideLinePrefix: settings.outsideLinePrefix, sipDomains: sipDomainsOf(settings) });
  // A number listed as a user of the account is an internal call (emergency stays emergency).
  return toIsUser === true && found.callClass !== 'emergency' ? { callClass: 'internal', foreign: false } : found;
}

function policyFields(p: Policy) {
  return {
    treatment: p.treatment,
    maxAttempts: p.maxAttempts,
    validate: p.validate,
    proceedAfterMaxAttempts: p.proceedAfterMaxAttempts,
    minLevel: p.minLevel,
  };
}

function firstPrompt(treatment: Treatment, prompts: Prompts): string {
  if (treatment === 'optional') return prompts.optionalCode;
  if (treatment === 'authorized') return prompts.authorizationCode;
  return prompts.accountCode;
}

// ---------------------------------------------------------------------------------------
// Code entry

type CodeEvent = Extract<CallEvent, { type: 'code' }>;

function onCode(state: CallState, event: CodeEvent, ctx: DecideContext): Decision {
  if (state.phase === 'tagging' && event.step === state.step + 1) return onAfterCallCode(state, event, ctx);
  // Twilio retried a step we answered, or the call has moved on: answer as before, change nothing.
  if (state.phase !== 'prompting' || event.step !== state.step + 1) return unchanged(state);
  const { now } = ctx;
  const digits = enteredDigits(event.digits);
  const next = { ...state, step: event.step };
  if (codeEntryLocked(state, event, now)) {
    // Another call of the same user reached the lockout while this one was prompting: code
    // entry is locked from now on, for this call too, whatever was typed.
    return lockedOut({ ...next, attempts: state.attempts + 1, codeStatus: 'locked-out' }, ctx);
  }
  if (digits === '' && state.treatment === 'optional') {
    // `#` or silence on an optional prompt: the caller chose to go on without a code. It is
    // still an attempt (one code entry or silence).
    return dialNow({ ...next, attempts: state.attempts + 1, codeStatus: 'skipped' }, []);
  }
  const accepted = acceptedCode(state, event, digits, ctx);
  if (accepted !== undefined) return dialNow({ ...next, attempts: state.attempts + 1, ...accepted }, []);
  return failedAttempt(state, event, digits, ctx);
}

/** The tag a code the caller typed gives the call, when it is accepted: valid, or any code of the right length without validation. */
function acceptedCode(
  state: CallState,
  event: Pick<CodeEvent, 'lookup'>,
  digits: string,
  ctx: DecideContext,
): Pick<CallState, 'codeStatus' | 'code' | 'codeRef' | 'codeDescription' | 'codeKind'> | undefined {
  const { settings, now } = ctx;
  if (digits === '' || !isCodeFormat(digits, settings.codeLength)) return undefined;
  if (!state.validate && state.treatment !== 'authorized') return { codeStatus: 'unvalidated', code: digits, codeKind: 'account' };
  const kind: CodeKind = state.treatment === 'authorized' ? 'authorization' : 'account';
  const check = checkCode(event.lookup, { kind, user: state.user, group: state.group, minLevel: state.minLevel, now, timeZone: settings.timeZone });
  return check.ok ? { codeStatus: 'valid', ...tagOf(check.code) } : undefined;
}

/**
 * A failed attempt: a wrong code, or (for required and authorized) `#` or silence. Typed
 * digits are guesses and count toward the lockouts; silence cannot find a code and does not.
 */
function failedAttempt(state: CallState, event: CodeEvent, digits: string, ctx: DecideContext): Decision {
  const { settings, now } = ctx;
  const prompts = promptsOf(settings, state);
  const next = { ...state, step: event.step, attempts: state.attempts + 1 };
  const effects: Effect[] = [];
  if (digits !== '') {
    const counted = recordFailure(event.lockout, now, settings.lockout);
    effects.push({ type: 'lockout', user: state.user, record: counted.record, callSid: state.callSid });
    if (counted.locked) {
      const lockedState = { ...next, codeStatus: 'locked-out' as const };
      effects.push(alert('lockout', lockedState, now));
      return withEffects(lockedOut(lockedState, ctx), effects);
    }
  }
  // Silence (or a lone `#`) is told apart from a wrong code: the caller entered nothing.
  const silent = digits === '';
  if (next.attempts < state.maxAttempts) {
    const actions = [gather(next, `${silent ? prompts.noCode : prompts.invalidCode} ${firstPrompt(state.treatment, prompts)}`, settings)];
    return { state: { ...next, lastActions: actions }, actions, effects, changed: true };
  }
  // The last attempt failed.
  if (state.treatment === 'optional' || (state.treatment === 'required' && state.proceedAfterMaxAttempts)) {
    return withEffects(dialNow({ ...next, codeStatus: 'invalid' }, []), effects);
  }
  return withEffects(ended({ ...next, codeStatus: 'invalid', outcome: 'blocked' }, [say(silent ? prompts.noCodeNoAttempts : prompts.tooManyAttempts), HANGUP], now), effects);
}

/**
 * Code entry is locked for this call: an optional call goes through untagged, as it does for a
 * user locked before the call (the locked-out text ends in "Goodbye" and is not said before a
 * dial); a call that needs a code ends.
 */
function lockedOut(state: Draft, ctx: DecideContext): Decision {
  if (state.treatment === 'optional') return dialNow(state, []);
  return ended({ ...state, outcome: 'blocked' }, [say(promptsOf(ctx.settings, state).lockedOut), HANGUP], ctx.now);
}

function tagOf(code: StoredCode): Pick<CallState, 'code' | 'codeRef' | 'codeDescription' | 'codeKind'> {
  return {
    ...(code.kind === 'account' && code.code !== undefined ? { code: code.code } : {}),
    ...(code.kind === 'authorization' && code.ref !== undefined ? { codeRef: code.ref } : {}),
    ...(code.description === undefined ? {} : { codeDescription: code.description }),
    codeKind: code.kind,
  };
}

// ---------------------------------------------------------------------------------------
// After the call: dial result and status callback, in either order, possibly repeated.

const DIAL_OUTCOMES: Readonly<Record<string, Outcome>> = {
  completed: 'completed',
  answered: 'completed',
  busy: 'busy',
  'no-answer': 'no-answer',
  failed: 'failed',
  canceled: 'canceled',
};

function onDialComplete(state: CallState, event: Extract<CallEvent, { type: 'dial-complete' }>, ctx: DecideContext): Decision {
  const actions: Action[] = [HANGUP];
  // A repeat, or a dial result for a call that was never dialled (still prompting, refused,
  // not-permitted): nothing to record, and the outcome already set must stand.
  if (state.dialCompleted || !wasDialled(state)) {
    return { state, actions, effects: [], changed: false };
  }
  const outcome = lookup(DIAL_OUTCOMES, event.dialCallStatus) ?? 'failed';
  const talkS = outcome === 'completed' ? Math.max(0, Math.floor(event.dialCallDuration ?? 0)) : 0;
  const endedAt = state.endedAt ?? ctx.now.toISOString();
  const next: CallState = {
    ...state,
    phase: 'ended',
    dialCompleted: true,
    outcome,
    talkS,
    endedAt,
    durationS: state.statusReceived ? state.durationS : secondsBetween(state.startedAt, endedAt),
    lastActions: actions,
  };
  if (offersAfterCallPrompt(next, event)) {
    const tagging: CallState = { ...next, phase: 'tagging' };
    const prompt = [gather(tagging, promptsOf(ctx.settings, tagging).afterCallCode, ctx.settings)];
    return { state: { ...tagging, lastActions: prompt }, actions: prompt, effects: [], changed: true };
  }
  return { state: next, actions, effects: [], changed: true };
}

// ---------------------------------------------------------------------------------------
// After-call tagging by the caller (docs/call-flow.md, "Caller conveniences")

function afterCallPromptOf(settings: Settings, user: UserRecord | undefined, group: string | undefined): boolean {
  const own = group !== undefined && Object.hasOwn(settings.groups, group) ? settings.groups[group] : undefined;
  return user?.afterCallPrompt ?? own?.afterCallPrompt ?? settings.afterCallPrompt;
}

/**
 * The caller is still on the line after the dialled party answered and hung up, on an outbound
 * call that carries no code (an authorization code is a code), and may tag it: one prompt.
 * Never on an emergency call, nor for a caller locked out of code entry.
 */
function offersAfterCallPrompt(state: CallState, event: Extract<CallEvent, { type: 'dial-complete' }>): boolean {
  return (
    state.afterCallPrompt === true &&
    event.callStatus === 'in-progress' &&
    state.outcome === 'completed' &&
    state.direction === 'outbound' &&
    state.destinationClass !== 'emergency' &&
    state.codeStatus !== 'locked-out' &&
    state.code === undefined &&
    state.codeRef === undefined
  );
}

/**
 * The answer to the after-call prompt: a valid account code tags the record (`tagged`, by the
 * caller); `#` or silence ends the call; anything else is said once, counted toward the
 * lockouts as a typed code is, and the call ends. One record throughout.
 */
function onAfterCallCode(state: CallState, event: CodeEvent, ctx: DecideContext): Decision {
  const { settings, now } = ctx;
  const prompts = promptsOf(settings, state);
  const done = (next: CallState, actions: Action[], effects: Effect[] = []): Decision => ({
    state: { ...next, phase: 'ended', step: event.step, lastActions: actions },
    actions,
    effects,
    changed: true,
  });
  const digits = enteredDigits(event.digits);
  if (digits === '') return done(state, [HANGUP]);
  if (codeEntryLocked(state, event, now)) return done(state, [say(prompts.lockedOut), HANGUP]);
  const tagged = tagRecord({ ...state, phase: 'ended' }, digits, event.lookup, { settings, by: state.user, now });
  if (tagged.ok) return done(tagged.state, [say(prompts.afterCallThanks), HANGUP]);
  const counted = recordFailure(event.lockout, now, settings.lockout);
  const effects: Effect[] = [{ type: 'lockout', user: state.user, record: counted.record, callSid: state.callSid }];
  if (counted.locked) effects.push(alert('lockout', state, now));
  return done(state, [say(prompts.afterCallInvalid), HANGUP], effects);
}

const STATUS_OUTCOMES: Readonly<Record<string, Outcome>> = {
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no-answer',
  failed: 'failed',
  canceled: 'canceled',
};

function onStatus(state: CallState, event: Extract<CallEvent, { type: 'status' }>, ctx: DecideContext): Decision {
  if (state.statusReceived) return { state, actions: [], effects: [], changed: false };
  // Twilio's CallDuration is the call's own length: the call ended that long after it started,
  // whenever the callback arrives (late after retries, or at once from a simulated caller).
  const given = event.callDuration !== undefined && Number.isFinite(event.callDuration) ? Math.max(0, Math.floor(event.callDuration)) : undefined;
  const endedAt = given === undefined ? ctx.now.toISOString() : new Date(Date.parse(state.startedAt) + given * 1000).toISOString();
  const durationS = given ?? secondsBetween(state.startedAt, endedAt);
  let outcome = state.outcome;
  if (outcome === undefined) {
    // Still at the prompt: the caller hung up before a decision. Dialled but no dial result
    // yet: the call's own status is the best we know until the dial result arrives.
    outcome = state.phase === 'prompting' ? 'abandoned' : (lookup(STATUS_OUTCOMES, event.callStatus) ?? 'failed');
  }
  const next: CallState = {
    ...state,
    phase: 'ended',
    statusReceived: true,
    outcome,
    durationS,
    endedAt,
    talkS: state.talkS ?? 0,
  };
  return { state: next, actions: [], effects: [], changed: true };
}

/** True once a response has sent the call to `<Dial>` (the last answer the flow gave ends in a dial). */
function wasDialled(state: CallState): boolean {
  return state.dial !== undefined && state.lastActions.at(-1)?.type === 'dial';
}

/** Own keys only: a status of `constructor` or `__proto__` is not an outcome. */
function lookup(table: Readonly<Record<string, Outcome>>, key: string): Outcome | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function secondsBetween(fromIso: string, toIso: string): number {
  return Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
}

// ---------------------------------------------------------------------------------------
// Building blocks

const HANGUP: Action = { type: 'hangup' };
const say = (text: string): Action => ({ type: 'say', text });

function gather(state: CallState, prompt: string, settings: Settings): Action {
  const { min, max } = settings.codeLength;
  return {
    type: 'gather',
    prompt,
    step: state.step + 1,
    timeoutSeconds: settings.gatherTimeoutSeconds,
    ...(min === max ? { numDigits: min } : {}),
  };
}

type Draft = Omit<CallState, 'phase' | 'lastActions'> & Partial<Pick<CallState, 'phase' | 'lastActions'>>;

function dialNow(draft: Draft, before: readonly Action[]): Decision {
  if (draft.dial === undefined) throw new CallFlowError('no dial target for a call the flow allows');
  const actions: Action[] = [...before, { type: 'dial', target: draft.dial.target, ...(draft.dial.callerId === undefined ? {} : { callerId: draft.dial.callerId }) }];
  return { state: { ...draft, phase: 'dialling', lastActions: actions }, actions, effects: [], changed: true };
}

function ended(draft: Draft, actions: readonly Action[], now: Date): Decision {
  const endedAt = now.toISOString();
  return {
    state: { ...draft, phase: 'ended', endedAt, talkS: 0, lastActions: actions },
    actions,
    effects: [],
    changed: true,
  };
}

function unchanged(state: CallState): Decision {
  return { state, actions: state.lastActions, effects: [], changed: false };
}

function withEffects(d: Decision, effects: readonly Effect[]): Decision {
  return { ...d, effects: [...effects, ...d.effects] };
}

function alert(kind: AlertKind, s: Draft, now: Date): Effect {
  return {
    type: 'alert',
    kind,
    account: s.account,
    user: s.user,
    callerId: s.dial?.callerId ?? s.caller,
    destination: s.destination,
    callSid: s.callSid,
    at: now.toISOString(),
  };
}

/** The prompts of a call, in its caller's language (the account's when the call has none). */
function promptsOf(settings: Settings, state?: Pick<CallState, 'language'>): Prompts {
  return resolvePrompts(settings.prompts, settings.codeLength, state?.language);
}

/**
 * A decision as it was actually answered: when an emergency answer had to go out before the
 * decision was made (the emergency wait ran out), the record and the alert name the dial and
 * caller ID the caller really got.
 */
export function answeredWith(decision: Decision, actions: readonly Action[]): Decision {
  const dialAction = actions.at(-1);
  if (dialAction?.type !== 'dial' || decision.actions === actions) return decision;
  const dial = { target: dialAction.target, ...(dialAction.callerId === undefined ? {} : { callerId: dialAction.callerId }) };
  const callerId = dialAction.callerId;
  return {
    ...decision,
    state: { ...decision.state, dial, lastActions: actions },
    actions,
    effects: decision.effects.map((e) => (e.type === 'alert' && e.kind === 'emergency' && callerId !== undefined ? { ...e, callerId } : e)),
  };
}

/** The apology and hang-up for anything unexpected (docs/call-flow.md "never silent"). */
export function errorActions(prompts: Prompts): Action[] {
  return [say(prompts.error), HANGUP];
}
