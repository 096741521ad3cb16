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
import { secretTokens } from '../adapters/twilio/tokens.ts';
import { logLevel, pepperSecretArn, storageConfig, voiceConfig, type Env } from '../config.ts';
import { makeLogger } from '../services/logger.ts';
import { makeVoiceApp, type HttpEvent, type HttpResult, type VoiceDeps } from '../services/voice.ts';

/** The Lambda handler for a set of dependencies (tests and the local stack pass their own): the middy pipeline of services/voice.ts. */
export function makeVoiceHandler(deps: VoiceDeps): (event: HttpEvent, context?: object) => Promise<HttpResult> {
  return makeVoiceApp(deps);
}

function awsDeps(env: Env): VoiceDeps {
  const storage = storageConfig(env);
  const voice = voiceConfig(env);
  const log = makeLogger({ service: 'tollgate-voice', level: logLevel(env) });
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
let deployed: ReturnType<typeof makeVoiceHandler> | undefined;
export const handler = (event: HttpEvent, context: Parameters<ReturnType<typeof makeVoiceHandler>>[1]): Promise<HttpResult> => {
  deployed ??= makeVoiceHandler(awsDeps(process.env));
  return deployed(event, context);
};
