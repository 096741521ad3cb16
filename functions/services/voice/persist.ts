/**
 * Deciding and saving a call's next state, and carrying out what the decision asks besides the
 * answer (alerts, lockout counting). A write is conditional on the revision it read: when
 * another write won (a retried webhook, the dial result and the status callback at once), the
 * state is read again and the decision made again.
 */
import { decide, type CallEvent, type CallState, type Decision, type Effect } from '../../core/callflow.ts';
import { ACCOUNT_THROTTLE, accountThrottleRules, isLockedOut, recordFailure } from '../../core/lockout.ts';
import type { StoredCallState } from '../../core/ports.ts';
import type { Settings } from '../../core/settings.ts';
import { callRecordEvent, completedBy } from '../../core/events.ts';
import type { VoiceContext } from './context.ts';

/** The call's state: this container's copy, else the stored one. */
export async function loadCall(ctx: VoiceContext, callSid: string): Promise<StoredCallState | undefined> {
  return ctx.calls.get(callSid) ?? (await ctx.deps.calls.get(callSid));
}

/**
 * Decide and save, re-reading and deciding again when another write won. `answered`: what the
 * caller will hear may already be fixed (an emergency answer) — the decision as answered.
 */
export async function decideAndSave(
  ctx: VoiceContext,
  callSid: string,
  settings: Settings,
  first: StoredCallState | undefined,
  event: (state: CallState | undefined) => CallEvent,
  answered: (decision: Decision) => Decision = (d) => d,
): Promise<Decision> {
  const { deps } = ctx;
  let stored = first;
  for (let attempt = 0; attempt < 4; attempt++) {
    const decided = decide(stored?.state, event(stored?.state), { settings, now: deps.now() });
    if (!decided.changed) return decided;
    const decision = answered(decided);
    const revision = await deps.calls.put(decision.state, { expectedRevision: stored?.revision, timeZone: settings.timeZone });
    if (revision !== undefined) {
      ctx.calls.remember(callSid, { state: decision.state, revision });
      await applyEffects(ctx, decision.effects, settings);
      if (completedBy(stored?.state, decision.state)) publishCompleted(ctx, decision.state, settings);
      return decision;
    }
    ctx.calls.forget(callSid);
    stored = await deps.calls.get(callSid);
  }
  throw new Error(`call ${callSid}: gave up after repeated write conflicts`);
}

/** The record is complete: its event is queued and the webhook answers without waiting for delivery. */
function publishCompleted(ctx: VoiceContext, state: CallState, settings: Settings): void {
  const events = ctx.deps.events;
  if (events === undefined) return;
  const failed = (err: unknown) => ctx.deps.log.error('call-record event not published', { callSid: state.callSid, error: err });
  // The record is saved: nothing about its event may turn the webhook's answer into an error.
  try {
    events.publish(callRecordEvent(state, 'completed', settings.timeZone, ctx.deps.now()), settings.webhooks).catch(failed);
  } catch (err) {
    failed(err);
  }
}

/** Alerts raised, and each failed code counted on the caller's record and the account-wide throttle's. */
export async function applyEffects(ctx: VoiceContext, effects: readonly Effect[], settings: Settings): Promise<void> {
  const alerted = effects.some((e) => e.type === 'alert' && e.kind === 'lockout');
  await Promise.all(effects.map((effect) => (effect.type === 'lockout' ? countFailure(ctx, effect, settings, alerted) : ctx.alerts.raise({ ...effect, verified: true }))));
}

/**
 * Counted against the records as they are now, not as the webhook read them: parallel calls
 * must all count. A record that locks with this failure raises its alert (unless the decision
 * raised it already).
 */
async function countFailure(ctx: VoiceContext, effect: Extract<Effect, { type: 'lockout' }>, settings: Settings, alerted: boolean): Promise<void> {
  const { deps } = ctx;
  const now = deps.now();
  const [own, account] = await Promise.all([
    deps.lockouts.update(settings.account, effect.user, (current) => recordFailure(current, now, settings.lockout).record),
    deps.lockouts.update(settings.account, ACCOUNT_THROTTLE, (current) => recordFailure(current, now, accountThrottleRules(settings.lockout)).record),
  ]);
  ctx.starts.lockouts(settings.account, effect.user, { lockout: own.after, accountLockout: account.after });
  const lockedNow = (r: typeof own) => !isLockedOut(r.before, now) && isLockedOut(r.after, now);
  const alert = { account: settings.account, callerId: effect.user, destination: '', callSid: effect.callSid, at: now.toISOString(), verified: true };
  if (lockedNow(own) && !alerted) await ctx.alerts.raise({ ...alert, kind: 'lockout', user: effect.user });
  if (lockedNow(account)) await ctx.alerts.raise({ ...alert, kind: 'throttle', user: ACCOUNT_THROTTLE });
}
