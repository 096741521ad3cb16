/**
 * What stands between unverified emergency requests and the security desk (docs/security.md,
 * "Unverified emergency requests"). Anyone can post `/voice/incoming` with `To=911`: the
 * request gets its `<Dial>` (TwiML does nothing unless Twilio runs it), but its alert must not
 * let a flood of forged requests bury the desk or carry an attacker's text to it:
 *
 * - one alert per CallSid (Twilio's retries and replays are one call);
 * - at most one alert a minute per Account SID and per source address, and at most
 *   {@link GLOBAL_PER_MINUTE} a minute in all; what is held back is counted and the count rides
 *   on the next alert that goes out (`folded`);
 * - only address-shaped values: a caller or destination that is not a number, client name or
 *   SIP address, or a CallSid that is not one, is replaced, and every value is cut short with
 *   no line breaks.
 *
 * Verified alerts pass untouched: Twilio signed them, and each is a real call.
 */
import type { Alert, AlertSink, Logger } from '../core/ports.ts';

const WINDOW_MS = 60_000;
/** Unverified alerts let through per minute across every key. */
export const GLOBAL_PER_MINUTE = 10;
/** CallSids remembered for deduplication, and keys remembered for the rate limit. */
const MAX_REMEMBERED = 10_000;
const MAX_ADDRESS = 64;
const ADDRESS = /^(?:\+?[0-9*#]{1,20}|client:[A-Za-z0-9_.@-]{1,121}|sips?:[A-Za-z0-9_.!~*'()&=+$,;?/%:@[\]-]{1,200})$/;

/** Where an unverified request came from, for the rate limit. */
export interface AlertSource {
  readonly accountSid: string;
  readonly sourceIp: string | undefined;
}

interface Bucket {
  lastAt: number;
  folded: number;
}

/**
 * An alert sink that lets verified alerts through and gates unverified ones as described
 * above. `now` is the clock (milliseconds).
 */
export function gatedAlerts(sink: AlertSink, now: () => number = Date.now): AlertSink & { raiseUnverified(alert: Alert, source: AlertSource): Promise<boolean> } {
  const seenCalls = new Map<string, number>();
  const limits: RateLimits = { buckets: new Map(), global: { windowStart: 0, sent: 0, folded: 0 } };
  return {
    raise: (alert) => sink.raise(alert),
    async raiseUnverified(alert, source) {
      const at = now();
      if (seenCalls.has(alert.callSid)) return false;
      seenCalls.set(alert.callSid, at);
      forgetOldest(seenCalls);
      const keys = [`sid:${addressShaped(source.accountSid)}`, ...(source.sourceIp === undefined ? [] : [`ip:${source.sourceIp}`])];
      const { pass, folded } = admit(limits, keys, at);
      if (!pass) return false;
      await sink.raise({
        ...alert,
        verified: false,
        user: addressShaped(alert.user),
        callerId: addressShaped(alert.callerId),
        destination: addressShaped(alert.destination),
        callSid: /^CA[0-9a-fA-F]{32}$/.test(alert.callSid) ? alert.callSid : '(not a Call SID)',
        ...(folded > 0 ? { folded } : {}),
      });
      return true;
    },
  };
}

/** The rate limit's state: a bucket per key, and the count across every key. */
interface RateLimits {
  readonly buckets: Map<string, Bucket>;
  readonly global: { windowStart: number; sent: number; folded: number };
}

/** Oldest first (insertion order): past {@link MAX_REMEMBERED}, drop a tenth at a time. */
function forgetOldest(map: Map<string, unknown>): void {
  if (map.size <= MAX_REMEMBERED) return;
  let drop = Math.ceil(MAX_REMEMBERED / 10);
  for (const key of map.keys()) {
    if (drop-- <= 0) break;
    map.delete(key);
  }
}

/** True when the alert may go out now; otherwise it is counted against the first key that holds it back. */
function admit(limits: RateLimits, keys: readonly string[], at: number): { pass: boolean; folded: number } {
  const { buckets, global } = limits;
  for (const key of keys) {
    const bucket = buckets.get(key);
    if (bucket !== undefined && at - bucket.lastAt < WINDOW_MS) {
      bucket.folded++;
      return { pass: false, folded: 0 };
    }
  }
  if (at - global.windowStart >= WINDOW_MS) {
    global.windowStart = at;
    global.sent = 0;
  }
  if (global.sent >= GLOBAL_PER_MINUTE) {
    global.folded++;
    return { pass: false, folded: 0 };
  }
  global.sent++;
  let folded = global.folded;
  global.folded = 0;
  for (const key of keys) {
    folded += buckets.get(key)?.folded ?? 0;
    buckets.delete(key);
    buckets.set(key, { lastAt: at, folded: 0 });
  }
  forgetOldest(buckets);
  return { pass: true, folded };
}

/**
 * A value fit to show the security desk: a number, client name or SIP address, at most
 * {@link MAX_ADDRESS} characters; anything else becomes `(not an address)`.
 */
export function addressShaped(value: string | undefined): string {
  if (typeof value !== 'string') return '(none)';
  const text = value.trim();
  if (text === '') return '(none)';
  if (!ADDRESS.test(text)) return '(not an address)';
  return text.length > MAX_ADDRESS ? `${text.slice(0, MAX_ADDRESS - 1)}…` : text;
}

/**
 * Alerts are side work: a sink that is down (SNS throttled, say) must not fail the webhook that
 * raised one, which would turn a lockout into an apology, or make an emergency call that was
 * recorded look unrecorded. The failure is logged, with what was not sent, and the call moves on.
 */
export function bestEffortAlerts(sink: AlertSink, log: Logger): AlertSink {
  return {
    async raise(alert) {
      try {
        await sink.raise(alert);
      } catch (err) {
        log.error('alert could not be sent', { kind: alert.kind, account: alert.account, callSid: alert.callSid, error: err });
      }
    },
  };
}
