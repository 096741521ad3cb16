/**
 * Console sign-in in AWS (docs/console.md): the stack's Amazon Cognito user pool. A sign-in is
 * Cognito's USER_PASSWORD_AUTH flow through the pool's app client; the session token is the ID
 * token Cognito issues (valid one hour), verified on every request with aws-jwt-verify against
 * the pool's keys: signature, issuer, audience (the app client), expiry. A user's groups name
 * account and role, `acme:admin`; a `user`'s calling identity is the `custom:identity` attribute.
 */
import { CognitoIdentityProviderClient, InitiateAuthCommand, type InitiateAuthCommandOutput } from '@aws-sdk/client-cognito-identity-provider';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { ACCOUNT_SLUG } from '../core/identifiers.ts';
import { CONSOLE_ROLES, type ConsoleAuth, type ConsoleRole, type ConsoleUser } from '../core/ports.ts';

/** The group that names a user's account and role. */
const GROUP = /^([a-z0-9][a-z0-9-]{0,39}):(admin|finance|user)$/;

export interface CognitoAuthOptions {
  readonly userPoolId: string;
  readonly clientId: string;
  readonly client?: CognitoIdentityProviderClient;
  /** Keys to trust without fetching them (tests); in AWS they are fetched from the pool once and cached. */
  readonly jwks?: { readonly keys: readonly Record<string, unknown>[] };
}

/** The console user an ID token's claims stand for; undefined unless exactly one group names an account and role. */
export function userFromClaims(claims: Record<string, unknown>): ConsoleUser | undefined {
  const groups = Array.isArray(claims['cognito:groups']) ? (claims['cognito:groups'] as unknown[]).filter((g): g is string => typeof g === 'string') : [];
  const matches = groups.map((g) => GROUP.exec(g)).filter((m): m is RegExpExecArray => m !== null);
  const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
  if (matches.length !== 1 || email === undefined) return undefined;
  const [, account, role] = matches[0] as RegExpExecArray;
  if (!ACCOUNT_SLUG.test(account as string) || !(CONSOLE_ROLES as readonly string[]).includes(role as string)) return undefined;
  const identity = typeof claims['custom:identity'] === 'string' && claims['custom:identity'] !== '' ? claims['custom:identity'] : undefined;
  if (role === 'user' && identity === undefined) return undefined;
  return { email, account: account as string, role: role as ConsoleRole, ...(identity === undefined ? {} : { identity }) };
}

export function cognitoConsoleAuth(options: CognitoAuthOptions): ConsoleAuth {
  const verifier = CognitoJwtVerifier.create({ userPoolId: options.userPoolId, clientId: options.clientId, tokenUse: 'id' });
  if (options.jwks !== undefined) verifier.cacheJwks(options.jwks as never);
  const client = options.client ?? new CognitoIdentityProviderClient({});
  const verify = async (token: string): Promise<ConsoleUser | undefined> => {
    try {
      return userFromClaims((await verifier.verify(token)) as Record<string, unknown>);
    } catch {
      return undefined;
    }
  };
  return {
    async signIn(email, password) {
      let out: InitiateAuthCommandOutput;
      try {
        out = await client.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: options.clientId, AuthParameters: { USERNAME: email, PASSWORD: password } }));
      } catch (err) {
        // A wrong password and an unknown user are the same answer (the client prevents user-existence errors too).
        if (['NotAuthorizedException', 'UserNotFoundException', 'PasswordResetRequiredException', 'UserNotConfirmedException'].includes((err as Error).name)) return undefined;
        throw err;
      }
      const token = out.AuthenticationResult?.IdToken;
      if (token === undefined) return undefined;
      const user = await verify(token);
      if (user === undefined) return undefined;
      const expiresAt = new Date(Date.now() + (out.AuthenticationResult?.ExpiresIn ?? 3600) * 1000).toISOString();
      return { token, expiresAt, user };
    },
    verify,
    // An ID token cannot be withdrawn one by one: the browser forgets it, and it expires within the hour.
    async signOut() {},
  };
}
