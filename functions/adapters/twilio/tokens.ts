/**
 * Twilio auth tokens per Account SID, and the operator's binding of each SID to an account. In
 * AWS both live in one Secrets Manager secret, a JSON map
 * `{ "AC…": { "account": "acme", "tokens": ["primary", "secondary"] } }`: adding the new token
 * before retiring the old one rotates without a failed webhook, and only the operator, who
 * holds the secret, decides which account a SID's calls belong to (docs/security.md,
 * "Tenancy"). The older form `{ "AC…": ["token", …] }` still gives tokens, bound to no account.
 * Tokens are cached like every secret, and read again, at most every 10 s, when a signature does
 * not match (a token was rotated since).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SECRET_MAX_AGE_SECONDS } from '../secrets.ts';
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
 * The secret, read through Powertools Parameters (functions/adapters/secrets.ts): cached for
 * `maxAge` seconds, or read again now with `force`; parsed once per value read.
 */
function twilioSecret(client: SecretsManagerClient, secretArn: string) {
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  let parsed: { readonly json: string; readonly map: Map<string, TwilioSidEntry> } | undefined;
  return async (maxAge: number, force = false): Promise<Map<string, TwilioSidEntry>> => {
    const json = (await provider.get(secretArn, { maxAge, forceFetch: force })) ?? '{}';
    if (typeof json !== 'string') throw new Error(`secret ${secretArn} has no string value`);
    if (parsed?.json !== json) parsed = { json, map: parseTwilioSecret(json) };
    return parsed.map;
  };
}

/**
 * The operator's SID bindings from the secret, read again when older than 10 s: settings are
 * applied rarely, and a binding the operator just made must count.
 */
export function secretBindings(client: SecretsManagerClient, secretArn: string): SidBindings {
  const read = twilioSecret(client, secretArn);
  return async (accountSid) => (await read(REFRESH_INTERVAL_MS / 1000)).get(accountSid)?.account;
}

/**
 * The tokens of a SID: the secret is trusted for {@link SECRET_MAX_AGE_SECONDS}, and read again
 * at once when a signature does not match (`refresh`), at most every 10 s, so a flood of forged
 * requests cannot turn into a flood of secret reads.
 */
function tokensOf(read: ReturnType<typeof twilioSecret>, now: () => number): TokenSource {
  let forcedAt = Number.NEGATIVE_INFINITY;
  return async (accountSid, options) => {
    const force = options?.refresh === true && now() - forcedAt > REFRESH_INTERVAL_MS;
    if (force) forcedAt = now();
    return (await read(SECRET_MAX_AGE_SECONDS, force)).get(accountSid)?.tokens ?? [];
  };
}

/**
 * The tokens of each SID (`tokens`), and the account the operator bound it to (`accountOf`), over one cached read
 * of the secret: the voice function finds a call's account without reading storage.
 * `accountOf` is undefined for a SID in the older form (no binding): storage says then.
 */
export function secretTokenSource(client: SecretsManagerClient, secretArn: string, now: () => number = Date.now) {
  const read = twilioSecret(client, secretArn);
  return {
    tokens: tokensOf(read, now),
    accountOf: async (accountSid: string) => (await read(SECRET_MAX_AGE_SECONDS)).get(accountSid)?.account,
  };
}

/** One token for every account (the local stack's TWILIO_AUTH_TOKEN). */
export function fixedTokens(token: string): TokenSource {
  const tokens = [token];
  return async () => tokens;
}
