/**
 * Secrets Manager reads, once per container: the pepper never changes, and re-reading it on
 * every invocation would add a round trip to the hot path.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export function makeSecretReader(client: SecretsManagerClient = new SecretsManagerClient({})): (arn: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (arn) => {
    let value = cache.get(arn);
    if (value === undefined) {
      value = client.send(new GetSecretValueCommand({ SecretId: arn })).then((out) => {
        if (out.SecretString === undefined || out.SecretString === '') throw new Error(`secret ${arn} has no string value`);
        return out.SecretString;
      });
      // A failed read must not be cached: the next invocation tries again.
      value.catch(() => cache.delete(arn));
      cache.set(arn, value);
    }
    return value;
  };
}
