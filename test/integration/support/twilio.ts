/**
 * Twilio, as the end-to-end tests need it: posts the voice webhooks of one call to a running
 * HTTP server (the local stack's), signed for the public URL exactly as Twilio signs them, and
 * follows the TwiML it gets back — Gather with scripted keys, Dial with a scripted answer, then
 * the dial result and the status callback in the order the test asks for. The same walk as
 * `tollgate call`, with every reply kept for the assertions.
 */
import { request } from 'node:http';
import { signTwilioRequest } from '../../../functions/adapters/twilio/signature.ts';
import { readTwiml, type Verb } from '../../../cli/twiml-reader.ts';
import { hear, newCallSid, type Heard } from './voice.ts';

export interface TwilioOptions {
  /** Where requests go: the server's own address (`http://127.0.0.1:<port>`). */
  readonly httpUrl: string;
  /** The URL Twilio signs (`http://localhost:<port>`, or a tunnel). */
  readonly publicUrl: string;
  readonly accountSid: string;
  readonly authToken: string;
}

/** One HTTP answer to a webhook. */
export interface Reply {
  readonly path: string;
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** What the caller hears, when the answer is TwiML. */
  readonly heard: Heard | undefined;
}

export interface SendOptions {
  /** Sign with this token instead of the account's. */
  readonly token?: string;
  /** Send this header instead of the signature (or none with null). */
  readonly signature?: string | null;
  /** Sign this URL instead of `publicUrl + path` (what a proxy that rewrote the URL would cause). */
  readonly signedUrl?: string;
  /**
   * `fetch` (the default) percent-encodes what WHATWG URLs encode (`'` in a query becomes
   * `%27`); `raw` puts the path on the wire byte for byte, as Twilio's own HTTP client may.
   */
  readonly wire?: 'fetch' | 'raw';
}

/** A webhook ready to send: sending it twice sends the same bytes twice. */
export interface Prepared {
  readonly path: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly wire: 'fetch' | 'raw';
}

/** Keys a caller presses at one prompt: `0042#`, `#` (a lone pound), `` (silence), `0042` (numDigits reached). */
export type Keys = string;

export interface CallScript {
  readonly from: string;
  readonly to: string;
  readonly callSid?: string;
  /** More form fields on every webhook (`SipDomain`, `ApplicationSid`, …). */
  readonly extra?: Readonly<Record<string, string>>;
  /** One entry per prompt; when they run out at a prompt, the caller hangs up there. */
  readonly keys?: readonly Keys[];
  /** How the dialled leg ends. @default { status: 'completed', talkS: 30 } */
  readonly answer?: { readonly status: 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled'; readonly talkS?: number };
  /** The status callback's CallDuration. @default talk + 10 s */
  readonly callDuration?: number;
  /** Which of the dial result and the status callback Twilio sends first. @default 'dial-first' */
  readonly order?: 'dial-first' | 'status-first' | 'together';
}

export interface CallRun {
  readonly callSid: string;
  /** Every reply in order: the TwiML documents, then the callbacks. */
  readonly replies: readonly Reply[];
  /** What the caller heard in each TwiML document, in order. */
  readonly heard: readonly Heard[];
  /** Everything said, prompts included. */
  readonly says: readonly string[];
  /** The `<Dial>` the call ended in, if any. */
  readonly dial: Heard['dial'];
  /** The last document ended in `<Hangup/>`. */
  readonly hungUp: boolean;
  /** The caller hung up at a prompt (no keys left). */
  readonly abandoned: boolean;
  /** The dial-complete reply, when the call was dialled. */
  readonly dialComplete: Reply | undefined;
  readonly statusReply: Reply;
}

const FORM = 'application/x-www-form-urlencoded; charset=utf-8';
/** Twilio follows at most this many documents per call; more means the flow loops. */
const MAX_DOCUMENTS = 20;

export class FakeTwilio {
  readonly options: TwilioOptions;

  constructor(options: TwilioOptions) {
    this.options = { ...options, httpUrl: trimSlash(options.httpUrl), publicUrl: trimSlash(options.publicUrl) };
  }

  /** The same Twilio for another Account SID (and token). */
  as(accountSid: string, authToken = this.options.authToken): FakeTwilio {
    return new FakeTwilio({ ...this.options, accountSid, authToken });
  }

  /** The form fields every voice webhook of a call carries. */
  common(callSid: string, from: string, to: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
    return {
      AccountSid: this.options.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: callSid,
      CallStatus: 'ringing',
      Called: to,
      Caller: from,
      Direction: 'inbound',
      From: from,
      To: to,
      ...extra,
    };
  }

  /** Sign a webhook for `pathOrUrl` (a path, or an absolute public URL from TwiML). */
  prepare(pathOrUrl: string, params: Readonly<Record<string, string>>, options: SendOptions = {}): Prepared {
    const path = this.pathOf(pathOrUrl);
    const signedUrl = options.signedUrl ?? this.options.publicUrl + path;
    const signature = options.signature === undefined ? signTwilioRequest(signedUrl, params, options.token ?? this.options.authToken) : options.signature;
    return {
      path,
      body: new URLSearchParams(params).toString(),
      headers: {
        'content-type': FORM,
        'user-agent': 'TwilioProxy/1.1',
        ...(signature === null ? {} : { 'x-twilio-signature': signature }),
      },
      wire: options.wire ?? 'fetch',
    };
  }

  async send(prepared: Prepared): Promise<Reply> {
    const { status, contentType, body } = prepared.wire === 'raw' ? await rawPost(this.options.httpUrl, prepared) : await fetchPost(this.options.httpUrl, prepared);
    const isXml = /^text\/xml\b/i.test(contentType);
    return { path: prepared.path, status, contentType, body, heard: isXml ? hear({ body }) : undefined };
  }

  /** Sign and POST one webhook. */
  post(pathOrUrl: string, params: Readonly<Record<string, string>>, options: SendOptions = {}): Promise<Reply> {
    return this.send(this.prepare(pathOrUrl, params, options));
  }

  /**
   * Place a call: `/voice/incoming`, then whatever the TwiML says — keys at each Gather, the
   * scripted answer at a Dial — then the dial result and the status callback.
   */
  async call(script: CallScript): Promise<CallRun> {
    const callSid = script.callSid ?? newCallSid();
    const common = this.common(callSid, script.from, script.to, script.extra);
    const keys = [...(script.keys ?? [])];
    const answer = script.answer ?? { status: 'completed', talkS: 30 };
    const replies: Reply[] = [];
    const heard: Heard[] = [];
    let reply = await this.post('/voice/incoming', common);
    let abandoned = false;
    let dialAction: string | undefined;
    for (let n = 0; ; n++) {
      replies.push(reply);
      if (reply.status !== 200 || reply.heard === undefined) {
        throw new Error(`${reply.path} answered ${reply.status} ${reply.contentType}: ${reply.body.trim()}`);
      }
      heard.push(reply.heard);
      if (n >= MAX_DOCUMENTS) throw new Error(`call ${callSid} went past ${MAX_DOCUMENTS} documents`);
      const verb = movingVerb(readTwiml(reply.body));
      if (verb?.verb === 'Gather') {
        const pressed = keys.shift();
        if (pressed === undefined) {
          abandoned = true;
          break;
        }
        reply = await this.post(verb.action ?? '/voice/incoming', { ...common, CallStatus: 'in-progress', ...gatherResult(pressed) });
        continue;
      }
      if (verb?.verb === 'Dial') dialAction = verb.action;
      break;
    }

    const talkS = answer.status === 'completed' ? (answer.talkS ?? 30) : 0;
    const duration = script.callDuration ?? talkS + 10;
    const dialParams = {
      ...common,
      CallStatus: 'in-progress',
      DialCallStatus: answer.status,
      DialCallSid: newCallSid(),
      ...(answer.status === 'completed' ? { DialCallDuration: String(talkS), DialBridged: 'true' } : {}),
    };
    const statusParams = {
      ...common,
      CallStatus: 'completed',
      CallDuration: String(duration),
      Timestamp: new Date().toUTCString(),
      SequenceNumber: '0',
      CallbackSource: 'call-progress-events',
    };
    const dialComplete = dialAction === undefined ? undefined : () => this.post(dialAction as string, dialParams);
    const status = () => this.post('/voice/status', statusParams);
    let dialReply: Reply | undefined;
    let statusReply: Reply;
    const order = script.order ?? 'dial-first';
    if (order === 'together') {
      [dialReply, statusReply] = await Promise.all([dialComplete?.(), status()]);
    } else if (order === 'status-first') {
      statusReply = await status();
      dialReply = await dialComplete?.();
    } else {
      dialReply = await dialComplete?.();
      statusReply = await status();
    }
    if (dialReply !== undefined) replies.push(dialReply);
    replies.push(statusReply);
    const last = heard.at(-1);
    return {
      callSid,
      replies,
      heard,
      says: heard.flatMap((h) => h.says),
      dial: abandoned ? undefined : last?.dial,
      hungUp: last?.hangup === true,
      abandoned,
      dialComplete: dialReply,
      statusReply,
    };
  }

  private pathOf(pathOrUrl: string): string {
    if (pathOrUrl.startsWith(this.options.publicUrl)) return pathOrUrl.slice(this.options.publicUrl.length);
    if (/^https?:\/\//i.test(pathOrUrl)) throw new Error(`TwiML sent Twilio to ${pathOrUrl}, which is not under ${this.options.publicUrl}`);
    return pathOrUrl;
  }
}

/** The verb that moves the call on: the first Gather, Dial, Hangup or Redirect. */
function movingVerb(verbs: readonly Verb[]): Verb | undefined {
  return verbs.find((v) => v.verb === 'Gather' || v.verb === 'Dial' || v.verb === 'Hangup' || v.verb === 'Reject' || v.verb === 'Redirect');
}

/** What Twilio posts for keys pressed at a `<Gather finishOnKey="#">`. */
export function gatherResult(keys: Keys): { Digits: string; FinishedOnKey: string } {
  const hash = keys.indexOf('#');
  return hash === -1 ? { Digits: keys, FinishedOnKey: '' } : { Digits: keys.slice(0, hash), FinishedOnKey: '#' };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * How long a test waits for one webhook's answer before it gives up. Not Twilio's 15 s: on a
 * busy machine a slow answer is not a failure of the product (the benchmarks measure speed);
 * a request that never answers still ends the test.
 */
const GIVE_UP_MS = 120_000;

async function fetchPost(httpUrl: string, p: Prepared): Promise<{ status: number; contentType: string; body: string }> {
  const res = await fetch(httpUrl + p.path, { method: 'POST', headers: p.headers, body: p.body, signal: AbortSignal.timeout(GIVE_UP_MS) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** POST with the path exactly as given on the request line (no URL parser in between). */
function rawPost(httpUrl: string, p: Prepared): Promise<{ status: number; contentType: string; body: string }> {
  const url = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: 'POST', path: p.path, headers: { ...p.headers, 'content-length': String(Buffer.byteLength(p.body)) }, timeout: GIVE_UP_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST ${p.path} timed out`)));
    req.on('error', reject);
    req.end(p.body);
  });
}
