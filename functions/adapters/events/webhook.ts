/**
 * One delivery of a call-record event to a receiver (docs/events.md): the event's JSON, POSTed
 * with `Tollgate-Signature` (t and the HMAC-SHA256 of "t.body" with the account's webhook secret)
 * and `Tollgate-Event-Id`. The local stack and the deployed delivery function both send with it.
 */
import { signEvent, SIGNATURE_HEADER, type CallRecordEvent } from '../../core/events.ts';

/** Resolves when the receiver answered 2xx; throws with what went wrong otherwise (a retry follows). */
export async function postEvent(url: string, event: CallRecordEvent, secret: string, timeoutMs = 10_000): Promise<void> {
  const body = JSON.stringify(event);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signEvent(body, secret, Math.floor(Date.now() / 1000)), 'Tollgate-Event-Id': event.id },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`answered ${res.status}`);
}
