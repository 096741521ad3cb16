/**
 * Console sign-in in AWS: Cognito ID tokens verified offline with aws-jwt-verify against keys
 * the test makes (the pool's JWKS cached up front), the user read from the groups and the
 * identity attribute, and Cognito's sign-in answers (its client stood in for: no AWS here).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { describe, expect, it } from 'vitest';
import { cognitoConsoleAuth, userFromClaims } from '../../functions/adapters/cognito-auth.ts';

const POOL = 'us-east-1_Tollgate1';
const CLIENT = 'consoleclient123';
const ISSUER = `https://cognito-idp.us-east-1.amazonaws.com/${POOL}`;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = { keys: [{ ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'k1', alg: 'RS256', use: 'sig' }] };

function token(claims: Record<string, unknown>, key: KeyObject = privateKey): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: CLIENT, token_use: 'id', iat: now, exp: now + 3600, ...claims })}`;
  return `${body}.${sign('sha256', Buffer.from(body), key).toString('base64url')}`;
}

function cognito(answer: (input: Record<string, unknown>) => unknown): CognitoIdentityProviderClient {
  return { send: async (command: { input: Record<string, unknown> }) => answer(command.input) } as unknown as CognitoIdentityProviderClient;
}

describe('console sign-in through Cognito', () => {
  it('reads account and role from exactly one group, and a user needs their identity', () => {
    expect(userFromClaims({ email: 'Ann@Acme.test', 'cognito:groups': ['acme:admin'] })).toEqual({ email: 'ann@acme.test', account: 'acme', role: 'admin' });
    expect(userFromClaims({ email: 'a@acme.test', 'cognito:groups': ['acme:user'], 'custom:identity': 'client:ann' })).toEqual({
      email: 'a@acme.test',
      account: 'acme',
      role: 'user',
      identity: 'client:ann',
    });
    expect(userFromClaims({ email: 'a@acme.test', 'cognito:groups': ['acme:user'] })).toBeUndefined();
    expect(userFromClaims({ email: 'a@acme.test', 'cognito:groups': ['acme:admin', 'globex:admin'] })).toBeUndefined();
    expect(userFromClaims({ email: 'a@acme.test', 'cognito:groups': ['acme:owner', 'Acme:admin'] })).toBeUndefined();
    expect(userFromClaims({ email: 'a@acme.test' })).toBeUndefined();
  });

  it("verifies an ID token's signature, issuer, audience, use and expiry", async () => {
    const auth = cognitoConsoleAuth({ userPoolId: POOL, clientId: CLIENT, jwks, client: cognito(() => ({})) });
    expect(await auth.verify(token({ email: 'fin@acme.test', 'cognito:groups': ['acme:finance'] }))).toEqual({ email: 'fin@acme.test', account: 'acme', role: 'finance' });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(await auth.verify(token({ email: 'x@acme.test', 'cognito:groups': ['acme:admin'] }, other))).toBeUndefined();
    expect(await auth.verify(token({ email: 'x@acme.test', 'cognito:groups': ['acme:admin'], aud: 'another-client' }))).toBeUndefined();
    expect(await auth.verify(token({ email: 'x@acme.test', 'cognito:groups': ['acme:admin'], token_use: 'access' }))).toBeUndefined();
    expect(await auth.verify(token({ email: 'x@acme.test', 'cognito:groups': ['acme:admin'], exp: Math.floor(Date.now() / 1000) - 60 }))).toBeUndefined();
    expect(await auth.verify('not.a.token')).toBeUndefined();
  });

  it("signs in with Cognito's password flow, and answers a wrong password like an unknown user", async () => {
    const idToken = token({ email: 'ann@acme.test', 'cognito:groups': ['acme:admin'] });
    const auth = cognitoConsoleAuth({
      userPoolId: POOL,
      clientId: CLIENT,
      jwks,
      client: cognito((input) => {
        expect(input).toMatchObject({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: CLIENT });
        const { PASSWORD } = input.AuthParameters as { PASSWORD: string };
        if (PASSWORD !== 'right-password') throw Object.assign(new Error('Incorrect username or password.'), { name: 'NotAuthorizedException' });
        return { AuthenticationResult: { IdToken: idToken, ExpiresIn: 3600 } };
      }),
    });
    const session = await auth.signIn('ann@acme.test', 'right-password');
    expect(session).toMatchObject({ token: idToken, user: { email: 'ann@acme.test', account: 'acme', role: 'admin' } });
    expect(await auth.signIn('ann@acme.test', 'wrong-password')).toBeUndefined();
  });
});
