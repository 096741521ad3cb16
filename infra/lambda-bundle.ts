/**
 * What the voice function's bundle swaps in (esbuild `alias`): the SDK's default credential
 * chain replaced by the credentials Lambda gives in the environment
 * (`functions/adapters/lambda-credentials.ts`). Plain values, no CDK: the voice benchmark
 * bundles with them too, to measure the bundle as deployed.
 */
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

export const LAMBDA_CREDENTIALS_ALIAS: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': join(ROOT, 'functions/adapters/lambda-credentials.ts'),
};
