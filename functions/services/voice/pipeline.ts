/**
 * The voice function as a middy pipeline (docs/call-flow.md):
 *
 * 1. `webhookRequest`: `/health` answered at once; otherwise the path, method and form body
 *    (64 KB at most) read, and what Twilio signed kept for the signature check;
 * 2. `emergencyFirst`: the fallback URL, and a first webhook to an emergency number, answered
 *    before any signature or storage is trusted;
 * 3. `twilioSignature`: the signature checked and the account's settings found (else 403), and
 *    the account's own emergency numbers dialled;
 * 4. the router (`@middy/http-router`) over the five webhooks;
 * 5. `neverSilent` (onError): a refusal says why; anything else is an apology and a hang-up,
 *    except that an emergency number is dialled.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import { errorActions } from '../../core/callflow.ts';
import { emergencyNumberFor } from '../../core/emergency.ts';
import { DEFAULT_PROMPTS, DEFAULT_SPEECH, resolvePrompts, speechFor } from '../../core/prompts.ts';
import type { Settings } from '../../core/settings.ts';
import { HEALTH_PATH } from '../../routes.ts';
import type { HttpEvent, HttpResult, VoiceContext, VoiceRequest } from './context.ts';
import { answerEmergency, emergencyFor, emergencyWithoutStorage } from './emergency.ts';
import { health, HttpError, parseRequest, requireParams, textResult, twimlResult } from './http.ts';
import { callParties } from './webhooks.ts';

/** What the pipeline learns of one request, for the steps after the one that learnt it. */
export interface WebhookState {
  readonly arrived: number;
  req?: VoiceRequest;
  settings?: Settings;
}

type Middleware = MiddlewareObj<HttpEvent, HttpResult>;
type Req = Request<HttpEvent, HttpResult>;

/** Per-request state, by the event the router hands on. */
export type States = WeakMap<object, WebhookState>;

export function webhookRequest(ctx: VoiceContext, states: States): Middleware {
  return {
    before: (request: Req) => {
      const arrived = Date.now();
      const event = request.event;
      if (event.rawPath === HEALTH_PATH) return health(event, ctx.deps.publicBaseUrl);
      const state: WebhookState = { arrived };
      // The router reads the method and path of an HTTP API (2.0) event: the normalised path,
      // POST when the request says nothing (as Twilio always posts).
      const routed = {
        ...event,
        version: '2.0',
        requestContext: { ...event.requestContext, http: { ...event.requestContext?.http, method: (event.requestContext?.http?.method ?? 'POST').toUpperCase(), path: '' } },
      };
      request.event = routed;
      states.set(routed, state);
      state.req = parseRequest(event, ctx.deps.publicBaseUrl);
      routed.requestContext.http.path = state.req.path;
      return undefined;
    },
  };
}

export function emergencyFirst(ctx: VoiceContext, states: States): Middleware {
  return {
    before: async (request: Req) => {
      const state = states.get(request.event);
      const req = state?.req;
      if (state === undefined || req === undefined) return undefined;
      if (req.path === '/voice/fallback') {
        // Twilio calls this when the voice URL failed: no storage, no signature needed to answer.
        return twimlResult(emergencyWithoutStorage(ctx, req.params) ?? errorActions(DEFAULT_PROMPTS), DEFAULT_SPEECH, req.base);
      }
      if (req.path !== '/voice/incoming') return undefined;
      const short = await emergencyFor(ctx, req.params);
      return short === undefined ? undefined : answerEmergency(ctx, req, state.arrived, short);
    },
  };
}

export function twilioSignature(ctx: VoiceContext, states: States): Middleware {
  return {
    before: async (request: Req) => {
      const state = states.get(request.event);
      const req = state?.req;
      if (state === undefined || req === undefined) return undefined;
      requireParams(req, ['CallSid', 'AccountSid']);
      if (!(await ctx.verify(req))) throw new HttpError(403, 'the X-Twilio-Signature header is missing or does not match this request');
      // A first webhook's caller is read with the settings when those must be read.
      const entry = await ctx.accounts.get(req.params.AccountSid ?? '', req.path === '/voice/incoming' ? callParties(req.params) : undefined);
      if (entry.settings === undefined || entry.account === undefined) throw new HttpError(403, 'this Twilio Account SID belongs to no Tollgate account');
      state.settings = entry.settings;
      // The account's own emergency numbers, now that its settings are known.
      const short = req.path === '/voice/incoming' ? emergencyNumberFor(req.params.To ?? '', entry.settings) : undefined;
      return short === undefined ? undefined : answerEmergency(ctx, req, state.arrived, short, true);
    },
  };
}

export function neverSilent(ctx: VoiceContext, states: States): Middleware {
  return {
    onError: (request: Req) => {
      const err = request.error;
      if (err instanceof HttpError) return textResult(err.statusCode, err.message, err.headers);
      const state = states.get(request.event);
      const req = state?.req;
      const settings = state?.settings;
      ctx.deps.log.error('webhook failed', { path: req?.path, callSid: req?.params.CallSid, error: err });
      const base = req?.base ?? ctx.deps.publicBaseUrl;
      const dial = req?.path === '/voice/incoming' ? emergencyWithoutStorage(ctx, req.params) : undefined;
      if (dial !== undefined) return twimlResult(dial, DEFAULT_SPEECH, base);
      if (req?.path === '/voice/status') return textResult(500, 'the status could not be recorded');
      const prompts = settings === undefined ? DEFAULT_PROMPTS : resolvePrompts(settings.prompts, settings.codeLength);
      return twimlResult(errorActions(prompts), settings === undefined ? DEFAULT_SPEECH : speechFor(settings.prompts), base);
    },
  };
}
