/**
 * A Twilio stand-in for the voice tests: signs form posts exactly as Twilio does and sends
 * them to the voice app (in-process) or to a URL (the local stack's HTTP server).
 */
import { signTwilioRequest } from '../../../functions/adapters/twilio/signature.ts';
import type { HttpEvent, HttpResult } from '../../../functions/services/voice.ts';

export const BASE_URL = 'https://voice.test.example';
export const AUTH_TOKEN = 'test-auth-token';

let sidCounter = 0;
/** A fresh, well-formed Call SID. */
export function newCallSid(): string {
  sidCounter++;
  return `CA${String(sidCounter).padStart(8, '0')}${'0'.repeat(24)}`;
}

export interface PostOptions {
  readonly token?: string;
  /** Sign, but send this header instead (or nothing with null). */
  readonly signature?: string | null;
  readonly baseUrl?: string;
}

/** An HTTP API event for a form post to `pathAndQuery`, signed for `baseUrl`. */
export function signedEvent(pathAndQuery: string, params: Record<string, string>, options: PostOptions = {}): HttpEvent {
  const base = options.baseUrl ?? BASE_URL;
  const body = new URLSearchParams(params).toString();
  const q = pathAndQuery.indexOf('?');
  const sig = options.signature === undefined ? signTwilioRequest(base + pathAndQuery, params, options.token ?? AUTH_TOKEN) : options.signature;
  return {
    rawPath: q === -1 ? pathAndQuery : pathAndQuery.slice(0, q),
    rawQueryString: q === -1 ? '' : pathAndQuery.slice(q + 1),
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      ...(sig === null ? {} : { 'x-twilio-signature': sig }),
    },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    requestContext: { http: { method: 'POST' } },
  };
}

/** What the caller hears and where the call goes, read from TwiML. */
export interface Heard {
  readonly says: string[];
  readonly gather?: { readonly action: string; readonly numDigits?: string; readonly prompt: string };
  readonly dial?: { readonly number?: string; readonly client?: string; readonly sip?: string; readonly callerId?: string; readonly action?: string };
  readonly hangup: boolean;
}

const attr = (tag: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1];
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** Read the TwiML of a response (only its body is looked at). */
export function hear(result: Pick<HttpResult, 'body'>): Heard {
  const xml = result.body;
  const says = [...xml.matchAll(/<Say[^>]*>([^<]*)<\/Say>/g)].map((m) => unescape(m[1] ?? ''));
  const g = /<Gather([^>]*)>(.*?)<\/Gather>/.exec(xml);
  const d = /<Dial([^>]*)>(.*?)<\/Dial>/.exec(xml);
  const noun = (name: string) => {
    const m = new RegExp(`<${name}[^>]*>([^<]*)</${name}>`).exec(d?.[2] ?? '');
    return m === null ? undefined : unescape(m[1] ?? '');
  };
  return {
    says,
    ...(g === null
      ? {}
      : {
          gather: {
            action: unescape(attr(g[1] ?? '', 'action') ?? ''),
            ...(attr(g[1] ?? '', 'numDigits') === undefined ? {} : { numDigits: attr(g[1] ?? '', 'numDigits') }),
            prompt: unescape(/<Say[^>]*>([^<]*)<\/Say>/.exec(g[2] ?? '')?.[1] ?? ''),
          },
        }),
    ...(d === null
      ? {}
      : {
          dial: {
            ...(noun('Number') === undefined ? {} : { number: noun('Number') }),
            ...(noun('Client') === undefined ? {} : { client: noun('Client') }),
            ...(noun('Sip') === undefined ? {} : { sip: noun('Sip') }),
            ...(attr(d[1] ?? '', 'callerId') === undefined ? {} : { callerId: attr(d[1] ?? '', 'callerId') }),
            ...(attr(d[1] ?? '', 'action') === undefined ? {} : { action: unescape(attr(d[1] ?? '', 'action') ?? '') }),
          },
        }),
    hangup: xml.includes('<Hangup/>'),
  };
}
