/**
 * The voice function: every `/voice/*` route of docs/call-flow.md behind the HTTP API. Thin: the
 * composition root builds the AWS clients once per container; the pipeline lives in
 * `services/voice.ts`.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { snsAlerts } from '../adapters/alerts.ts';
import { makeDynamoClient } from '../adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../adapters/dynamodb/stores.ts';
import { makeLambdaLogger, type LambdaLogger } from '../adapters/logger.ts';
import { makeSecretReader } from '../adapters/secrets.ts';
import { secretTokens } from '../adapters/twilio/tokens.ts';
import { logLevel, pepperSecretArn, storageConfig, voiceConfig, type Env } from '../config.ts';
import { makeVoiceApp, type HttpEvent, type HttpResult, type VoiceDeps } from '../services/voice.ts';

/** The Lambda handler for a set of dependencies (tests and the local stack pass their own): the middy pipeline of services/voice.ts. */
export function makeVoiceHandler(deps: VoiceDeps): (event: HttpEvent, context?: object) => Promise<HttpResult> {
  return makeVoiceApp(deps);
}

function awsDeps(env: Env, log: LambdaLogger['log']): VoiceDeps {
  const storage = storageConfig(env);
  const voice = voiceConfig(env);
  // Twilio waits 15 s for the whole webhook: short attempts, few retries.
  const client = makeDynamoClient({
    ...(storage.dynamodbEndpoint === undefined ? {} : { endpoint: storage.dynamodbEndpoint }),
    connectionTimeoutMs: 500,
    requestTimeoutMs: 1_500,
    maxAttempts: 2,
  });
  const stores = makeDynamoStores({ client, tables: storage.tables });
  const secrets = new SecretsManagerClient({});
  const readSecret = makeSecretReader(secrets);
  const pepperArn = pepperSecretArn(env);
  return {
    accounts: stores.accounts,
    calls: stores.calls,
    lockouts: stores.lockouts,
    callContext: stores.callContext,
    codes: stores.codes,
    authTokens: secretTokens(secrets, voice.twilioTokensSecretArn),
    pepper: () => readSecret(pepperArn),
    // The SNS client is made on the first alert: alerts are rare, and loading its SDK is not.
    alerts: snsAlerts(voice.alertsTopicArn, log),
    ...(voice.publicBaseUrl === undefined ? {} : { publicBaseUrl: voice.publicBaseUrl }),
    emergencyCallerId: voice.emergencyCallerId,
    now: () => new Date(),
    log,
  };
}

// Built on the first invocation rather than at import, so tests import the factory without
// an AWS environment; a container still builds its clients once.
let deployed: ((event: HttpEvent, context: Context) => Promise<HttpResult>) | undefined;
export const handler = (event: HttpEvent, context: Context): Promise<HttpResult> => {
  deployed ??= deployedHandler(process.env);
  return deployed(event, context);
};

/** The handler as deployed: the pipeline over AWS clients, its log lines carrying the invocation's context. */
export function deployedHandler(env: Env): (event: HttpEvent, context: Context) => Promise<HttpResult> {
  const lambda = makeLambdaLogger('tollgate-voice', logLevel(env));
  return lambda.wrap(makeVoiceHandler(awsDeps(env, lambda.log)));
}
