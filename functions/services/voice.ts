/**
 * The voice webhooks (docs/call-flow.md) as one middy pipeline for every route:
 * read the request → answer an emergency first → check the signature → route → never silent.
 * The steps are in `voice/pipeline.ts`; the parts they use live beside it: the request and
 * answers (`http.ts`), the container's caches (`caches.ts`), deciding and saving
 * (`persist.ts`), the webhooks of a call (`webhooks.ts`) and the emergency answer
 * (`emergency.ts`). The request shape is API Gateway's HTTP API (payload 2.0), which the
 * local stack produces too.
 */
import middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import { MAX_BODY_BYTES, VOICE_PATHS, type VoicePath } from '../routes.ts';
import { makeVoiceContext, type HttpEvent, type HttpResult, type VoiceContext, type VoiceDeps } from './voice/context.ts';
import { EMPTY_TWIML, HttpError, twimlResult } from './voice/http.ts';
import { emergencyFirst, neverSilent, twilioSignature, webhookRequest, type States } from './voice/pipeline.ts';
import { answerWebhook } from './voice/webhooks.ts';
import { speechFor } from '../core/prompts.ts';

export type { Alert, AlertSink } from '../core/ports.ts';
export type { HttpEvent, HttpResult, VoiceDeps } from './voice/context.ts';
export { MAX_BODY_BYTES };

/** The voice function's handler: every `/voice/*` route, and `/health`. */
export function makeVoiceApp(deps: VoiceDeps): (event: HttpEvent, context?: object) => Promise<HttpResult> {
  const ctx = makeVoiceContext(deps);
  const states: States = new WeakMap();
  const routes = VOICE_PATHS.map((path) => ({ method: 'POST' as const, path, handler: webhook(ctx, states, path) }));
  const handler = middy<HttpEvent, HttpResult>()
    .use(webhookRequest(ctx, states))
    .use(emergencyFirst(ctx, states))
    .use(twilioSignature(ctx, states))
    .use(neverSilent(ctx, states))
    .handler(
      // The router is typed for every AWS HTTP event; ours is the HTTP API's, narrowed by webhookRequest.
      httpRouterHandler(routes as unknown as Parameters<typeof httpRouterHandler>[0]) as unknown as (event: HttpEvent) => Promise<HttpResult>,
    );
  return (event, context = {}) => handler(event, context as never);
}

/** One verified webhook: its TwiML (the status callback's is empty). */
function webhook(ctx: VoiceContext, states: States, path: VoicePath) {
  return async (event: HttpEvent): Promise<HttpResult> => {
    const state = states.get(event);
    if (state?.req === undefined || state.settings === undefined) throw new HttpError(500, `${path} was routed without its request`);
    const answer = await answerWebhook(ctx, state.req, state.settings);
    return path === '/voice/status' ? EMPTY_TWIML : twimlResult(answer.actions, speechFor(state.settings.prompts, answer.language), state.req.base);
  };
}
