/**
 * The emergency answer (docs/security.md, "Emergency calls"): the dial goes out on the first
 * response whatever else happens, always with a caller ID. Within the emergency wait, counted
 * from the request's arrival, the request is verified, the account and the caller's user
 * record are read so the dial carries the user's own caller ID, and the usage record and alert
 * are written; when the wait runs out first, the answer goes out with the best caller ID
 * already known — the account's if its settings are in memory, else the deployment's — and the
 * record names that one.
 */
import { answeredWith, type CallEvent } from '../../core/callflow.ts';
import { normalizeIdentity } from '../../core/codes.ts';
import { emergencyActions, emergencyCallerId, emergencyNumberAnywhere, emergencyNumberFor } from '../../core/emergency.ts';
import { CALL_SID } from '../../core/identifiers.ts';
import type { Alert } from '../../core/ports.ts';
import { DEFAULT_SPEECH, speechFor } from '../../core/prompts.ts';
import type { Settings } from '../../core/settings.ts';
import type { Action } from '../../core/types.ts';
import type { HttpResult, VoiceContext, VoiceRequest } from './context.ts';
import { twimlResult } from './http.ts';
import { decideAndSave } from './persist.ts';

/** How long a possible emergency call waits to learn the account's country before it is dialled anyway. */
const EMERGENCY_LOOKUP_MS = 300;
/** How long the answer waits for the user's record, the usage record and the alert. */
const EMERGENCY_WAIT_MS = 500;

type Params = Readonly<Record<string, string>>;

/**
 * The short emergency number for a first webhook, if it is one: by the account's own rules
 * when its settings are in memory; otherwise, for a number that is an emergency number
 * somewhere, the account is looked up for a short while and, failing that, it is one.
 */
export async function emergencyFor(ctx: VoiceContext, p: Params): Promise<string | undefined> {
  const to = p.To ?? '';
  const known = ctx.accounts.inMemory(p.AccountSid);
  if (known !== undefined) return emergencyNumberFor(to, known);
  const anywhere = emergencyNumberAnywhere(to);
  if (anywhere === undefined) return undefined;
  const lookup = ctx.accounts.get(p.AccountSid ?? '').then(
    (entry) => (entry.settings === undefined ? anywhere : emergencyNumberFor(to, entry.settings)),
    () => anywhere,
  );
  // Storage that is slow to answer must not hold an emergency call: past the wait, dial.
  const wait = Math.min(EMERGENCY_LOOKUP_MS, ctx.deps.emergencySideWorkMs ?? EMERGENCY_LOOKUP_MS);
  return Promise.race([lookup, delay(wait).then(() => anywhere)]);
}

/** The emergency answer with no storage at all (the fallback URL, the error path). */
export function emergencyWithoutStorage(ctx: VoiceContext, p: Params): Action[] | undefined {
  const to = p.To ?? '';
  const known = ctx.accounts.inMemory(p.AccountSid);
  const short = (known === undefined ? undefined : emergencyNumberFor(to, known)) ?? emergencyNumberAnywhere(to);
  return short === undefined ? undefined : emergencyActions(short, emergencyCallerId({ account: known?.callerId, deployment: ctx.deps.emergencyCallerId }));
}

/** Dial `shortNumber` now; record and alert within the wait. `verified` when the signature was already checked. */
export async function answerEmergency(ctx: VoiceContext, req: VoiceRequest, arrived: number, shortNumber: string, verified = false): Promise<HttpResult> {
  const known = ctx.accounts.inMemory(req.params.AccountSid);
  const fallback = emergencyActions(shortNumber, emergencyCallerId({ account: known?.callerId, deployment: ctx.deps.emergencyCallerId }));
  let answer: Action[] | undefined;
  const answerWith = (actions: readonly Action[]): Action[] => (answer ??= [...actions]);
  const sideWork = recordAndAlert(ctx, req, answerWith, fallback, verified).catch((err: unknown) =>
    ctx.deps.log.error('emergency side work failed; the call was dialled', { callSid: req.params.CallSid, error: err }),
  );
  await Promise.race([sideWork, delay(Math.max(0, arrived + (ctx.deps.emergencySideWorkMs ?? EMERGENCY_WAIT_MS) - Date.now()))]);
  return twimlResult(answerWith(fallback), known === undefined ? DEFAULT_SPEECH : speechFor(known.prompts), req.base);
}

/**
 * Verified, of a known account: the usage record (with the user's caller ID) and its alert.
 * Otherwise only an alert — unverified ones deduplicated, rate-limited and address-shaped.
 */
async function recordAndAlert(
  ctx: VoiceContext,
  req: VoiceRequest,
  answerWith: (actions: readonly Action[]) => Action[],
  fallback: Action[],
  alreadyVerified: boolean,
): Promise<void> {
  const p = req.params;
  let verified = alreadyVerified;
  let account: string | undefined;
  try {
    verified ||= await ctx.verify(req);
    const entry = verified ? await ctx.accounts.get(p.AccountSid ?? '') : undefined;
    account = entry?.account;
    if (entry?.settings !== undefined && CALL_SID.test(p.CallSid ?? '')) {
      await recordEmergency(ctx, req, entry.settings, answerWith);
      return;
    }
  } catch (err) {
    ctx.deps.log.error('emergency call could not be recorded; it was dialled', { callSid: p.CallSid, error: err });
  }
  const used = answerWith(fallback);
  const alert: Alert = {
    kind: 'emergency',
    account,
    user: normalizeIdentity(p.From ?? ''),
    callerId: callerIdOf(used) ?? ctx.deps.emergencyCallerId,
    destination: p.To ?? '',
    callSid: p.CallSid ?? '',
    at: ctx.deps.now().toISOString(),
    verified,
  };
  if (verified && account !== undefined) await ctx.alerts.raise(alert);
  else await ctx.alerts.raiseUnverified(alert, { accountSid: p.AccountSid ?? '', sourceIp: req.sourceIp });
}

/** The user's record, the decision (its dial and alert), saved as answered. */
async function recordEmergency(ctx: VoiceContext, req: VoiceRequest, settings: Settings, answerWith: (actions: readonly Action[]) => Action[]): Promise<void> {
  const p = req.params;
  const from = p.From ?? '';
  const { users } = await ctx.deps.callContext.loadStart(settings.account, normalizeIdentity(from), [from]);
  const call = {
    callSid: p.CallSid ?? '',
    from,
    to: p.To ?? '',
    ...(p.SipDomain ? { sipDomain: p.SipDomain } : {}),
    ...(p.ApplicationSid ? { applicationSid: p.ApplicationSid } : {}),
  };
  const event: CallEvent = { type: 'start', call, user: users.get(from), lockout: undefined, emergencyCallerId: ctx.deps.emergencyCallerId };
  const decision = await decideAndSave(
    ctx,
    call.callSid,
    settings,
    undefined,
    () => event,
    (d) => answeredWith(d, answerWith(d.actions)),
  );
  answerWith(decision.actions);
}

/** The caller ID of the dial an answer ends in. */
function callerIdOf(actions: readonly Action[]): string | undefined {
  const last = actions.at(-1);
  return last?.type === 'dial' ? last.callerId : undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
