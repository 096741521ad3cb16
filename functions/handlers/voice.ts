/**
 * The voice function: every `/voice/*` route of docs/call-flow.md behind the HTTP API. Thin: the
 * composition root builds the AWS clients once per container; the pipeline lives in
 * `services/voice.ts`.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { snsAlerts } from '../adapters/alerts.ts';
import { makeDynamoClient } from '../adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../adapters/dynamodb/stores.ts';
import { makeSecretReader } from '../adapters/secrets.ts';
import { secretTokenSource } from '../adapters/twilio/tokens.ts';
import { pepperSecretArn, storageConfig, voiceConfig, type Env } from '../config.ts';
import { makeVoiceApp, type HttpEvent, type HttpResult, type VoiceDeps } from '../services/voice.ts';
import type { Logger } from '../core/ports.ts';
import { deployedFunction } from './lambda.ts';

/** The Lambda handler for a set of dependencies (tests and the local stack pass their own): the middy pipeline of services/voice.ts. */
export function makeVoiceHandler(deps: VoiceDeps): (event: HttpEvent, context?: object) => Promise<HttpResult> {
  return makeVoiceApp(deps);
}

function awsDeps(env: Env, log: Logger): VoiceDeps {
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
  // The tokens and the operator's SID bindings come from one secret: a cold container finds the
  // call's account there and reads its settings with the caller's records in one request.
  const twilio = secretTokenSource(secrets, voice.twilioTokensSecretArn);
  return {
    accounts: stores.accounts,
    calls: stores.calls,
    lockouts: stores.lockouts,
    callContext: stores.callContext,
    codes: stores.codes,
    authTokens: twilio.tokens,
    accountOf: twilio.accountOf,
    pepper: () => readSecret(pepperArn),
    // The SNS client is made on the first alert: alerts are rare, and loading its SDK is not.
    alerts: snsAlerts(voice.alertsTopicArn, log),
    ...(voice.publicBaseUrl === undefined ? {} : { publicBaseUrl: voice.publicBaseUrl }),
    emergencyCallerId: voice.emergencyCallerId,
    now: () => new Date(),
    log,
  };
}

/** The deployed voice function: the pipeline over AWS clients. */
const deployed = deployedFunction<HttpEvent, HttpResult>('tollgate-voice', (env, log) => makeVoiceHandler(awsDeps(env, log)));
export const handler = deployed.handler;
export const deployedHandler = deployed.build;
