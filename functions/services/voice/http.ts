/**
 * The HTTP side of the voice function: reading a webhook request (path, method, a form body of
 * at most 64 KB, the URL Twilio signed), refusals with a plain-text reason, and TwiML answers.
 */
import { ACCOUNT_SID, CALL_SID } from '../../core/identifiers.ts';
import type { Action, SpeechOptions } from '../../core/types.ts';
import { publicUrl } from '../../adapters/twilio/signature.ts';
import { renderTwiml } from '../../adapters/twilio/twiml.ts';
import { MAX_BODY_BYTES, VOICE_PATHS } from '../../routes.ts';
import type { HttpEvent, HttpResult, VoiceRequest } from './context.ts';

const ROUTES: ReadonlySet<string> = new Set(VOICE_PATHS);
/** Longer than any number, client name or SIP address Twilio sends. */
const MAX_ADDRESS_LENGTH = 1024;
/** C0/C1 controls, U+FFFE/U+FFFF and unpaired surrogates. */
const NOT_AN_ADDRESS = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TEXT = 'text/plain; charset=utf-8';

/** An HTTP answer other than TwiML: a refusal with a plain-text reason. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

/** Header names in lower case, as HTTP treats them. */
export function lowerCase(headers: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

/** The public base URL: configured, or the scheme and host the request came to. */
export function baseUrlOf(configured: string | undefined, headers: Readonly<Record<string, string | undefined>>): string {
  return configured ?? `${headers['x-forwarded-proto'] ?? 'https'}://${headers.host ?? 'localhost'}`;
}

/** Path, method and body checked; the form read both as Twilio signed it and as fields. */
export function parseRequest(event: HttpEvent, configuredBase: string | undefined): VoiceRequest {
  const method = (event.requestContext?.http?.method ?? 'POST').toUpperCase();
  const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;
  if (!ROUTES.has(path)) throw new HttpError(404, `no such path: ${path}`);
  if (method !== 'POST') throw new HttpError(405, `${path} takes POST`, { allow: 'POST' });
  const headers = lowerCase(event.headers ?? {});
  const { params, rawParams } = readForm(event, headers);
  const rawQuery = event.rawQueryString ?? '';
  const base = baseUrlOf(configuredBase, headers);
  return {
    path,
    query: new URLSearchParams(rawQuery),
    params,
    rawParams,
    // Signed as Twilio requested it: the raw path, before the trailing slash is dropped for routing.
    url: publicUrl(base, event.rawPath, rawQuery),
    base,
    signature: headers['x-twilio-signature'],
    sourceIp: event.requestContext?.http?.sourceIp,
  };
}

function readForm(event: HttpEvent, headers: Readonly<Record<string, string | undefined>>) {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > MAX_BODY_BYTES) throw new HttpError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
  if (bytes.byteLength > 0 && !/^application\/x-www-form-urlencoded\b/i.test(headers['content-type'] ?? '')) {
    throw new HttpError(400, 'the body must be application/x-www-form-urlencoded, as Twilio sends it');
  }
  const rawParams: Record<string, string | string[]> = {};
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(bytes.toString('utf8'))) {
    const prev = rawParams[k];
    rawParams[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    params[k] ??= v;
  }
  return { params, rawParams };
}

/** The fields every verified webhook must carry, well-formed. */
export function requireParams(req: VoiceRequest, names: readonly string[]): void {
  for (const name of names) {
    const value = req.params[name];
    if (value === undefined || value === '') throw new HttpError(400, `${name} is missing`);
  }
  if (!CALL_SID.test(req.params.CallSid ?? '')) throw new HttpError(400, 'CallSid is not a Twilio Call SID');
  if (!ACCOUNT_SID.test(req.params.AccountSid ?? '')) throw new HttpError(400, 'AccountSid is not a Twilio Account SID');
}

/**
 * The caller and destination of a first webhook, before they are stored and dialled: Twilio
 * never sends control characters (or anything XML cannot carry) in a number, client name or
 * SIP address, and a `<Dial>` to one could not even be rendered.
 */
export function requireAddresses(req: VoiceRequest, names: readonly string[]): void {
  for (const name of names) {
    const value = req.params[name];
    if (value !== undefined && (value.length > MAX_ADDRESS_LENGTH || NOT_AN_ADDRESS.test(value))) {
      throw new HttpError(400, `${name} is not a phone number, client name or SIP address`);
    }
  }
}

export function twimlResult(actions: readonly Action[], speech: SpeechOptions, baseUrl: string | undefined): HttpResult {
  return {
    statusCode: 200,
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: renderTwiml(actions, { speech, ...(baseUrl === undefined ? {} : { baseUrl }) }),
  };
}

/** The status callback's answer: Twilio reads nothing from it. */
export const EMPTY_TWIML: HttpResult = { statusCode: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' };

export function textResult(statusCode: number, message: string, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { 'content-type': TEXT, ...headers }, body: `${message}\n` };
}

/** `GET /health` in AWS: answered without storage — the function runs, and the URL it checks signatures against. */
export function health(event: HttpEvent, configuredBase: string | undefined): HttpResult {
  const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
  if (method !== 'GET') return textResult(405, '/health takes GET', { allow: 'GET' });
  const body = JSON.stringify({ status: 'ok', publicUrl: baseUrlOf(configuredBase, lowerCase(event.headers ?? {})) });
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
}
