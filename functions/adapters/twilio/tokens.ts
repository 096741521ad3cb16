/**
 * Twilio auth tokens per Account SID, and the operator's binding of each SID to an account. In
 * AWS both live in one Secrets Manager secret, a JSON map
 * `{ "AC…": { "account": "acme", "tokens": ["primary", "secondary"] } }`: adding the new token
 * before retiring the old one rotates without a failed webhook, and only the operator, who
 * holds the secret, decides which account a SID's calls belong to (docs/security.md,
 * "Tenancy"). The older form `{ "AC…": ["token", …] }` still gives tokens, bound to no account.
 * Tokens are read once per container and again, at most every 10 s, when a signature does not
 * match (a token was rotated since).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SidBindings } from '../../core/ports.ts';

export type TokenSource = (accountSid: string, options?: { readonly refresh?: boolean }) => Promise<readonly string[]>;

const REFRESH_INTERVAL_MS = 10_000;

/** One SID's entry in the secret. */
export interface TwilioSidEntry {
  readonly tokens: string[];
  /** The account the operator bound the SID to; undefined in the older form. */
  readonly account?: string;
}

const NOT_A_MAP = 'the Twilio token secret must be a JSON object: { "AC…": { "account": "acme", "tokens": ["token", …] } }';

/** Parse the secret: per Account SID, `{ account, tokens }`, or (older) a token or a list of tokens. */
export function parseTwilioSecret(json: string): Map<string, TwilioSidEntry> {
  const parsed: unknown = JSON.parse(json);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(NOT_A_MAP);
  const map = new Map<string, TwilioSidEntry>();
  for (const [sid, value] of Object.entries(parsed as Record<string, unknown>)) {
    const bound = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as { account?: unknown; tokens?: unknown }) : undefined;
    const raw = bound === undefined ? value : bound.tokens;
    const list = Array.isArray(raw) ? raw : [raw];
    const tokens = list.filter((t): t is string => typeof t === 'string' && t !== '');
    map.set(sid, { tokens, ...(typeof bound?.account === 'string' && bound.account !== '' ? { account: bound.account } : {}) });
  }
  return map;
}

/** The tokens of every SID in the secret. */
export function parseTokenMap(json: string): Map<string, string[]> {
  return new Map([...parseTwilioSecret(json)].map(([sid, entry]) => [sid, entry.tokens]));
}

/**
 * The operator's SID bindings from the secret, read again when older than 10 s: settings are
 * applied rarely, and a binding the operator just made must count.
 */
export function secretBindings(client: SecretsManagerClient, secretArn: string, now: () => number = Date.now): SidBindings {
  let cache: { map: Promise<Map<string, TwilioSidEntry>>; at: number } | undefined;
  return async (accountSid) => {
    if (cache === undefined || now() - cache.at > REFRESH_INTERVAL_MS) {
      const map = client.send(new GetSecretValueCommand({ SecretId: secretArn })).then((out) => parseTwilioSecret(out.SecretString ?? '{}'));
      map.catch(() => (cache = undefined));
      cache = { map, at: now() };
    }
    return (await cache.map).get(accountSid)?.account;
  };
}

export function secretTokens(client: SecretsManagerClient, secretArn: string, now: () => number = Date.now): TokenSource {
  let cache: { map: Promise<Map<string, string[]>>; at: number } | undefined;
  const load = () => {
    const map = client.send(new GetSecretValueCommand({ SecretId: secretArn })).then((out) => parseTokenMap(out.SecretString ?? '{}'));
    map.catch(() => (cache = undefined));
    cache = { map, at: now() };
    return map;
  };
  return async (accountSid, options) => {
    if (cache === undefined || (options?.refresh === true && now() - cache.at > REFRESH_INTERVAL_MS)) await load();
    return (await (cache ?? { map: load() }).map).get(accountSid) ?? [];
  };
}

/** One token for every account (the local stack's TWILIO_AUTH_TOKEN). */
export function fixedTokens(token: string): TokenSource {
  const tokens = [token];
  return async () => tokens;
}
