/**
 * The AWS credentials of a function in Lambda: its role's, which Lambda puts in the
 * environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). The voice
 * function's bundle takes this in place of the SDK's default provider chain (an esbuild alias
 * for `@aws-sdk/credential-provider-node`, `lambdaCredentials` in infra/constructs/app-function.ts):
 * that chain also carries the SSO, web-identity, INI-file and process providers and the STS
 * and SSO clients behind them, which a function never uses and which would be compiled at
 * every cold start (docs/design.md, "Cold start").
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** The SDK clients' default credentials, as `@aws-sdk/credential-provider-node` exports it. */
export function defaultProvider(init: Parameters<typeof fromEnv>[0] = {}): ReturnType<typeof fromEnv> {
  return fromEnv(init);
}
