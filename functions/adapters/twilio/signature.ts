/**
 * Twilio request signatures (`X-Twilio-Signature`, docs/call-flow.md "Signature").
 *
 * The algorithm is HMAC-SHA1, keyed by the auth token, over the full URL Twilio requested
 * followed by every form field's name and value sorted by name, in base64. We use twilio's
 * own implementation rather than a copy, and import only its webhooks module: the package
 * root loads ~237 modules, this file one (plus node built-ins).
 */
import { getExpectedTwilioSignature, validateRequest } from 'twilio/lib/webhooks/webhooks.js';

/** Form fields as parsed from the body; a field sent more than once is an array. */
export type TwilioParams = Readonly<Record<string, string | readonly string[]>>;

/**
 * Whether `headerValue` is the Twilio signature of (`url`, `params`) under any of `tokens`.
 *
 * - `url` must be the exact public URL Twilio requested (see {@link publicUrl}). twilio's
 *   `validateRequest` tries it as received, with and without the default port (`:443`/`:80`),
 *   and only then a `new URL()`-normalised form (`'` → `%27`, and back), so a proxy that adds
 *   or drops the port, or an HTTP client that re-escapes the query, still verifies.
 * - `tokens` is the account's token list — primary and secondary during a rotation — and any
 *   match is enough. An empty list, or an empty or missing header, is never valid.
 * - Comparison is constant-time: the library compares with `crypto.timingSafeEqual` after a
 *   length check (the length of a base64 SHA-1 is fixed, so that reveals nothing).
 * - Never throws: a URL `new URL()` rejects, or any other garbage, is simply not valid, so the
 *   caller can answer 403 without a try/catch of its own.
 */
export function verifyTwilioSignature(url: string, params: TwilioParams, headerValue: string | undefined, tokens: readonly string[]): boolean {
  if (!headerValue) return false;
  return tokens.some((token) => {
    // An empty key would still produce an HMAC; a blank secondary token must not make
    // every request signed with '' pass.
    if (!token) return false;
    try {
      return validateRequest(token, headerValue, url, params);
    } catch {
      // validateRequest falls back to `new URL(url)`, which throws on malformed URLs.
      return false;
    }
  });
}

/**
 * The signature Twilio would send for a POST of `params` to `url` with auth token `token`.
 * Used by the simulated caller (`tollgate call`) and tests, so they sign exactly as Twilio does.
 */
export function signTwilioRequest(url: string, params: TwilioParams, token: string): string {
  return getExpectedTwilioSignature(token, url, params);
}

/**
 * The URL Twilio signed: `baseUrl` (scheme, host and any path prefix such as an API Gateway
 * stage) + `rawPath` + `?rawQueryString`.
 *
 * Nothing is decoded or re-encoded — Twilio signed the bytes it sent, so `%27` and `'` must
 * stay as received. The only normalisation is at the join: trailing slashes on the base are
 * dropped and one slash separates it from the path, so `https://x/` + `/voice` is not
 * `https://x//voice`. A path that itself starts with `//` is kept as received.
 *
 * @param baseUrl        e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod` or `http://localhost:3000/`
 * @param rawPath        the request path below the base, e.g. `/voice/code`
 * @param rawQueryString the query string as received, without or with its leading `?`
 */
export function publicUrl(baseUrl: string, rawPath: string, rawQueryString?: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  const path = rawPath === '' || rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  const query = rawQueryString?.startsWith('?') ? rawQueryString.slice(1) : rawQueryString;
  return query ? `${base}${path}?${query}` : `${base}${path}`;
}
