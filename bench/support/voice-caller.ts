/**
 * Twilio, as the voice benchmark plays it: one complete coded call is four signed form posts
 * (incoming → the Gather's action with the code → the Dial's action → the status callback),
 * each following the URL the previous TwiML gave, over keep-alive HTTP like Twilio's own
 * connection pool. Each post is timed from the first byte written to the last byte read.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { signTwilioRequest } from '../../functions/adapters/twilio/signature.ts';

export const ROUTES = ['incoming', 'code', 'dial-complete', 'status'] as const;
export type Route = (typeof ROUTES)[number];

export interface CallerOptions {
  /** Where to send the posts (the stack's own address). */
  readonly httpUrl: string;
  /** The URL the stack checks signatures against: action URLs in the TwiML start with it. */
  readonly publicUrl: string;
  readonly accountSid: string;
  readonly token: string;
  readonly from: string;
  readonly to: string;
  /** The code the caller enters at the prompt. */
  readonly code: string;
  readonly agent: Agent;
}

export interface Posted {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
}

export function newCallSid(): string {
  return `CA${randomBytes(16).toString('hex')}`;
}

/** POST a form to `path` (below the stack's address), signed for the public URL. */
export function post(options: CallerOptions, path: string, params: Record<string, string>): Promise<Posted> {
  const body = new URLSearchParams(params).toString();
  const signature = signTwilioRequest(options.publicUrl + path, params, options.token);
  const url = new URL(options.httpUrl + path);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      {
        method: 'POST',
        agent: options.agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'x-twilio-signature': signature,
          'user-agent': 'TwilioProxy/1.1',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`${path}: no answer in 15 s (Twilio's webhook timeout)`)));
    req.on('error', reject);
    req.end(body);
  });
}

const unescapeXml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The `action` of the first `<verb …>` in the TwiML, as a path below the public URL. */
function actionOf(twiml: string, verb: string, publicUrl: string): string | undefined {
  const tag = new RegExp(`<${verb}\\b[^>]*>`).exec(twiml)?.[0];
  const action = tag === undefined ? undefined : /\baction="([^"]*)"/.exec(tag)?.[1];
  if (action === undefined) return undefined;
  const url = unescapeXml(action);
  return url.startsWith(publicUrl) ? url.slice(publicUrl.length) : url;
}

export interface CallResult {
  readonly callSid: string;
  /** Per route, in order; a call that went wrong stops early. */
  readonly posts: { readonly route: Route; readonly ms: number; readonly status: number }[];
  /** What went wrong, if anything: the call did not take the expected path (its status callback was still posted). */
  readonly error?: string;
}

/**
 * One complete coded call: the caller is prompted for a code, enters it, is dialled, the
 * dialled party talks for a minute, then both callbacks arrive (dial result first, as Twilio
 * usually sends them).
 */
export async function codedCall(
  options: CallerOptions,
  callSid: string = newCallSid(),
  /** Called after each post (the benchmark reads the stack's DynamoDB request counter here). */
  afterPost?: (route: Route) => Promise<void>,
): Promise<CallResult> {
  const posts: { route: Route; ms: number; status: number }[] = [];
  const common = {
    CallSid: callSid,
    AccountSid: options.accountSid,
    From: options.from,
    To: options.to,
    Caller: options.from,
    Called: options.to,
    Direction: 'inbound',
    ApiVersion: '2010-04-01',
  };
  const step = async (route: Route, path: string, extra: Record<string, string>, expect: RegExp): Promise<Posted | string> => {
    let res: Posted;
    try {
      res = await post(options, path, { ...common, ...extra });
    } catch (err) {
      return `${route}: ${(err as Error).message}`;
    }
    posts.push({ route, ms: res.ms, status: res.status });
    await afterPost?.(route);
    if (res.status !== 200 || !expect.test(res.body)) return `${route}: ${res.status} ${res.body.slice(0, 300)}`;
    return res;
  };
  const statusCallback = (duration: string) =>
    step(
      'status',
      '/voice/status',
      { CallStatus: 'completed', CallDuration: duration, Timestamp: new Date().toUTCString(), SequenceNumber: '0', CallbackSource: 'call-progress-events' },
      /<Response/,
    );
  /**
   * A call that went off the coded path still ends as Twilio ends every call: with the status
   * callback, which must leave its usage record (the benchmark checks it).
   */
  const failed = async (error: string): Promise<CallResult> => {
    await statusCallback('5');
    return { callSid, posts, error };
  };

  const incoming = await step('incoming', '/voice/incoming', { CallStatus: 'ringing' }, /<Gather\b/);
  if (typeof incoming === 'string') return failed(incoming);
  const codePath = actionOf(incoming.body, 'Gather', options.publicUrl);
  if (codePath === undefined) return failed('incoming: the Gather has no action');
  const code = await step('code', codePath, { CallStatus: 'in-progress', Digits: options.code, FinishedOnKey: '#' }, /<Dial\b/);
  if (typeof code === 'string') return failed(code);
  const dialPath = actionOf(code.body, 'Dial', options.publicUrl);
  if (dialPath === undefined) return failed('code: the Dial has no action');
  const dial = await step(
    'dial-complete',
    dialPath,
    { CallStatus: 'in-progress', DialCallStatus: 'completed', DialCallSid: newCallSid(), DialCallDuration: '60', DialBridged: 'true' },
    /<Hangup\/>/,
  );
  if (typeof dial === 'string') return failed(dial);
  const status = await statusCallback('75');
  return typeof status === 'string' ? { callSid, posts, error: status } : { callSid, posts };
}
