/**
 * A Twilio stand-in for the voice tests: signs form posts exactly as Twilio does and sends
 * them to the voice app (in-process) or to a URL (the local stack's HTTP server).
 */
import { signTwilioRequest } from '../../../functions/adapters/twilio/signature.ts';
import { readTwiml, type Verb } from '../../../cli/twiml-reader.ts';
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
  /** The address the request comes from (the unverified-alert rate limit keys on it). */
  readonly sourceIp?: string;
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
    requestContext: { http: { method: 'POST', ...(options.sourceIp === undefined ? {} : { sourceIp: options.sourceIp }) } },
  };
}

/** What the caller hears and where the call goes, read from TwiML. */
export interface Heard {
  readonly says: string[];
  readonly gather?: { readonly action: string; readonly numDigits?: string; readonly prompt: string };
  readonly dial?: { readonly number?: string; readonly client?: string; readonly sip?: string; readonly callerId?: string; readonly action?: string };
  readonly hangup: boolean;
}

/** Read the TwiML of a response (only its body is looked at), with the reader the simulated caller uses. */
export function hear(result: Pick<HttpResult, 'body'>): Heard {
  const verbs = readTwiml(result.body);
  const says: string[] = [];
  for (const v of verbs) {
    if (v.verb === 'Say') says.push(v.text);
    if (v.verb === 'Gather') for (const p of v.prompts) if (p.verb === 'Say') says.push(p.text);
  }
  const g = verbs.find((v): v is Extract<Verb, { verb: 'Gather' }> => v.verb === 'Gather');
  const d = verbs.find((v): v is Extract<Verb, { verb: 'Dial' }> => v.verb === 'Dial');
  const prompt = g?.prompts.find((p): p is Extract<Verb, { verb: 'Say' }> => p.verb === 'Say')?.text ?? '';
  return {
    says,
    ...(g === undefined ? {} : { gather: { action: g.action ?? '', ...(g.numDigits === undefined ? {} : { numDigits: String(g.numDigits) }), prompt } }),
    ...(d === undefined
      ? {}
      : {
          dial: {
            [d.target.kind]: d.target.value,
            ...(d.callerId === undefined ? {} : { callerId: d.callerId }),
            ...(d.action === undefined ? {} : { action: d.action }),
          },
        }),
    hangup: verbs.some((v) => v.verb === 'Hangup'),
  };
}
