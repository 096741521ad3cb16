/**
 * The voice function's credentials (functions/adapters/lambda-credentials.ts): Lambda's
 * environment credentials, swapped in for the SDK's default chain by the bundle's alias
 * (infra/lambda-bundle.ts), which leaves the SSO and web-identity providers out.
 */
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultProvider } from '../../functions/adapters/lambda-credentials.ts';
import { LAMBDA_CREDENTIALS_ALIAS } from '../../infra/lambda-bundle.ts';

const VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION'] as const;
const saved = new Map<string, string | undefined>();

beforeEach(() => {
  for (const v of VARS) saved.set(v, process.env[v]);
});
afterEach(() => {
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe("Lambda's environment credentials", () => {
  it("are the function role's keys and session token from the environment", async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-example';
    process.env.AWS_SESSION_TOKEN = 'token-example';
    await expect(defaultProvider({})()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret-example', sessionToken: 'token-example' });
  });

  it('fail with the reason when the environment has none, rather than looking anywhere else', async () => {
    for (const v of VARS) delete process.env[v];
    await expect(defaultProvider({})()).rejects.toThrow(/environment/i);
  });

  it('take the place of the default chain in the voice bundle: no SSO or web-identity provider is left in it', async () => {
    const bundle = async (alias: Record<string, string>) => {
      const out = await build({
        entryPoints: ['functions/handlers/voice.ts'],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        mainFields: ['module', 'main'],
        external: ['@aws-sdk/client-sns'],
        alias,
        write: false,
        logLevel: 'silent',
      });
      return out.outputFiles[0]?.text ?? '';
    };
    const chain = await bundle({});
    const lambda = await bundle({ ...LAMBDA_CREDENTIALS_ALIAS });
    for (const name of ['GetRoleCredentials', 'AssumeRoleWithWebIdentity']) {
      expect(chain).toContain(name);
      expect(lambda).not.toContain(name);
    }
    expect(lambda.length).toBeLessThan(chain.length * 0.85);
  });
});
