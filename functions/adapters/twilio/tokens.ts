/**
 * Twilio auth tokens per Account SID. In AWS they live in one Secrets Manager secret, a JSON
 * map `{ "AC…": ["primary", "secondary"] }`: adding the new token before retiring the old one
 * rotates without a failed webhook. Read once per container and again, at most every 10 s,
 * when a signature does not match (a token was rotated since).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export type TokenSource = (accountSid: string, options?: { readonly refresh?: boolean }) => Promise<readonly string[]>;

const REFRESH_INTERVAL_MS = 10_000;

/** Parse the secret: a map of Account SID to a token or a list of tokens. */
export function parseTokenMap(json: string): Map<string, string[]> {
  const parsed: unknown = JSON.parse(json);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('the Twilio token secret must be a JSON object: { "AC…": ["token", …] }');
  }
  const map = new Map<string, string[]>();
  for (const [sid, value] of Object.entries(parsed as Record<string, unknown>)) {
    const list = Array.isArray(value) ? value : [value];
    map.set(sid, list.filter((t): t is string => typeof t === 'string' && t !== ''));
  }
  return map;
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
