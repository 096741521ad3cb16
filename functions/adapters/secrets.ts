/**
 * Secrets Manager reads through Powertools Parameters: a value is cached for `maxAgeSeconds`
 * (so a rotated secret is picked up without a redeploy, and the hot path does not pay a round
 * trip on every invocation), and a failed read is not cached, so the next invocation tries again.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';

/** How long a read secret is trusted before it is read again. */
export const SECRET_MAX_AGE_SECONDS = 300;

export function makeSecretReader(client?: SecretsManagerClient, maxAgeSeconds = SECRET_MAX_AGE_SECONDS): (arn: string) => Promise<string> {
  const provider = new SecretsProvider(client === undefined ? {} : { awsSdkV3Client: client });
  return async (arn) => {
    const value = await provider.get(arn, { maxAge: maxAgeSeconds });
    if (typeof value !== 'string' || value === '') throw new Error(`secret ${arn} has no string value`);
    return value;
  };
}
