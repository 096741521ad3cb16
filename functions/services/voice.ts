/**
 * The voice webhooks (docs/call-flow.md), one pipeline for every route:
 * parse → (emergency?) → verify → load → decide → save → render.
 *
 * The request shape is API Gateway's HTTP API (payload 2.0), which the local stack produces
 * too. The parts live in `voice/`: the request and answers (`http.ts`), the container's caches
 * (`caches.ts`), deciding and saving (`persist.ts`), the webhooks of a call (`webhooks.ts`) and
 * the emergency answer (`emergency.ts`).
 */
import { errorActions } from '../core/callflow.ts';
import { emergencyNumberFor } from '../core/emergency.ts';
import { DEFAULT_PROMPTS, DEFAULT_SPEECH, resolvePrompts } from '../core/prompts.ts';
import type { Settings } from '../core/settings.ts';
import { HEALTH_PATH, MAX_BODY_BYTES } from '../routes.ts';
import { makeVoiceContext, type HttpEvent, type HttpResult, type VoiceContext, type VoiceDeps, type VoiceRequest } from './voice/context.ts';
import { answerEmergency, emergencyFor, emergencyWithoutStorage } from './voice/emergency.ts';
import { EMPTY_TWIML, health, HttpError, parseRequest, requireParams, textResult, twimlResult } from './voice/http.ts';
import { answerWebhook } from './voice/webhooks.ts';

export type { Alert, AlertSink } from '../core/ports.ts';
export type { HttpEvent, HttpResult, VoiceDeps } from './voice/context.ts';
export { MAX_BODY_BYTES };

/** The voice function's core: every `/voice/*` route, and `/health`. */
export function makeVoiceApp(deps: VoiceDeps): (event: HttpEvent) => Promise<HttpResult> {
  const ctx = makeVoiceContext(deps);
  return async (event) => {
    const arrived = Date.now();
    if (event.rawPath === HEALTH_PATH) return health(event, deps.publicBaseUrl);
    let req: VoiceRequest | undefined;
    let settings: Settings | undefined;
    try {
      req = parseRequest(event, deps.publicBaseUrl);
      const answered = await answerBeforeStorage(ctx, req, arrived);
      if (answered !== undefined) return answered;
      settings = await verifiedSettings(ctx, req);
      // The account's own emergency numbers, now that its settings are known.
      const short = req.path === '/voice/incoming' ? emergencyNumberFor(req.params.To ?? '', settings) : undefined;
      if (short !== undefined) return await answerEmergency(ctx, req, arrived, short);
      const actions = await answerWebhook(ctx, req, settings);
      return req.path === '/voice/status' ? EMPTY_TWIML : twimlResult(actions, settings.prompts, req.base);
    } catch (err) {
      return failed(ctx, err, req, settings);
    }
  };
}

/**
 * What is answered before any storage is trusted: the fallback URL (no storage at all), and a
 * first webhook to an emergency number (dialled whatever the signature or storage says).
 */
async function answerBeforeStorage(ctx: VoiceContext, req: VoiceRequest, arrived: number): Promise<HttpResult | undefined> {
  if (req.path === '/voice/fallback') {
    // Twilio calls this when the voice URL failed: no storage, no signature needed to answer.
    const actions = emergencyWithoutStorage(ctx, req.params) ?? errorActions(DEFAULT_PROMPTS);
    return twimlResult(actions, DEFAULT_SPEECH, req.base);
  }
  if (req.path !== '/voice/incoming') return undefined;
  const short = await emergencyFor(ctx, req.params);
  return short === undefined ? undefined : answerEmergency(ctx, req, arrived, short);
}

/** The signature checked and the account found, or a 400/403 refusal. */
async function verifiedSettings(ctx: VoiceContext, req: VoiceRequest): Promise<Settings> {
  requireParams(req, ['CallSid', 'AccountSid']);
  if (!(await ctx.verify(req))) throw new HttpError(403, 'the X-Twilio-Signature header is missing or does not match this request');
  const entry = await ctx.accounts.get(req.params.AccountSid ?? '');
  if (entry.settings === undefined || entry.account === undefined) throw new HttpError(403, 'this Twilio Account SID belongs to no Tollgate account');
  return entry.settings;
}

/** Never silent: a refusal says why; anything else is an apology and a hang-up — except that an emergency number is dialled. */
function failed(ctx: VoiceContext, err: unknown, req: VoiceRequest | undefined, settings: Settings | undefined): HttpResult {
  if (err instanceof HttpError) return textResult(err.statusCode, err.message, err.headers);
  ctx.deps.log.error('webhook failed', { path: req?.path, callSid: req?.params.CallSid, error: err });
  const dial = req?.path === '/voice/incoming' ? emergencyWithoutStorage(ctx, req.params) : undefined;
  if (dial !== undefined) return twimlResult(dial, DEFAULT_SPEECH, req?.base ?? ctx.deps.publicBaseUrl);
  if (req?.path === '/voice/status') return textResult(500, 'the status could not be recorded');
  const prompts = settings === undefined ? DEFAULT_PROMPTS : resolvePrompts(settings.prompts, settings.codeLength);
  return twimlResult(errorActions(prompts), settings?.prompts ?? DEFAULT_SPEECH, req?.base ?? ctx.deps.publicBaseUrl);
}
