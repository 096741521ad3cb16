/**
 * The handlers as deployed (`handlers/*.ts` `deployedHandler`): built from the environment the
 * stack sets, with their own AWS SDK clients pointed at dynalite, s3rver and a loopback Secrets
 * Manager, invoked with the events and context AWS delivers (typed by `@types/aws-lambda`, so a
 * shape we read that AWS does not send fails to compile). Their logs are Powertools JSON lines
 * carrying the request id and cold start, and never a code's digits.
 *
 * With TOLLGATE_BUNDLES=cdk.out (`npm run test:bundles`, after `npm run synth`) the same tests
 * run the bundles Lambda would run, each in a process of its own (test/support/bundles.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, Context, S3Event, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signTwilioRequest } from '../../functions/adapters/twilio/signature.ts';
import { accountCodeKey } from '../../functions/adapters/code-key.ts';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { ENV } from '../../functions/config.ts';
import { DEFAULT_PROMPTS } from '../../functions/core/prompts.ts';
import { deployedHandler as deployedCodeWords } from '../../functions/handlers/code-words.ts';
import { deployedHandler as deployedPublisher } from '../../functions/handlers/events-publish.ts';
import { deployedHandler as deployedDeliverer } from '../../functions/handlers/events-deliver.ts';
import { verifyEvent } from '../../functions/core/events.ts';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deployedHandler as deployedConsole } from '../../functions/handlers/console.ts';
import { deployedHandler as deployedExport } from '../../functions/handlers/export.ts';
import { deployedHandler as deployedImport, IMPORT_TIME_RESERVE_MS } from '../../functions/handlers/import.ts';
import { deployedHandler as deployedVoice } from '../../functions/handlers/voice.ts';
import { ensureBucket, startS3rver, type RunningS3 } from '../../local/emulators.ts';
import { testSettings } from '../support/settings.ts';
import { startSecretsManager, type SecretsManagerStandIn } from '../support/secrets-manager.ts';
import { readFileSync } from 'node:fs';
import { BUNDLES_DIR, bundleEntry, startBundle, type RunningBundle } from '../support/bundles.ts';
import { streamEvent, streamRecord } from '../support/stream-events.ts';
import { testCall } from '../support/call-fixtures.ts';
import { makeDynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { codeKey } from '../../functions/adapters/dynamodb/codes.ts';
import { makeStorageEnv, startDynalite, type StorageEnv } from './support/dynamo.ts';
import { newAccountSid } from './support/e2e-stack.ts';
import { hear, newCallSid } from './support/voice.ts';

const BASE_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com';
const TOKEN = 'deployed-auth-token';
const SID = newAccountSid();
const PEPPER_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate-pepper-AbCdEf';
const TWILIO_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate-twilio-AbCdEf';
const BUCKET = 'tollgate-data';
const WEBHOOK_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate-webhooks-AbCdEf';
const WEBHOOK_SECRET = 'a1'.repeat(32);
const WEBHOOK_URL = 'https://billing.example.com/tollgate';
const SDK_ENV = ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ENDPOINT_URL_SNS', 'AWS_ENDPOINT_URL_EVENTBRIDGE'] as const;

let home: string;
let storage: StorageEnv;
let dynamoEndpoint: string;
let s3rver: RunningS3;
let sm: SecretsManagerStandIn;
let env: Record<string, string>;
let sdkEnv: Record<string, string>;
const saved = new Map<string, string | undefined>();
const bundles: RunningBundle<never, never>[] = [];

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** A deployed handler: built from the sources in this process, or the bundle from cdk.out in its own (TOLLGATE_BUNDLES). */
async function deployed<E, R>(fromSource: (env: Record<string, string>) => Handler<E, R>, constructPath: string): Promise<Handler<E, R>> {
  if (BUNDLES_DIR === undefined) return fromSource(env);
  const bundle = await startBundle<E, R>(bundleEntry(BUNDLES_DIR, constructPath), { ...env, ...sdkEnv }, (line) => {
    if (line.startsWith('{')) lines.push(line);
  });
  bundles.push(bundle as unknown as RunningBundle<never, never>);
  return (event, context) => bundle.invoke(event, context);
}
const lines: string[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tollgate-deployed-'));
  const dynamo = await startDynalite();
  dynamoEndpoint = dynamo.endpoint;
  storage = await makeStorageEnv(dynamo.endpoint, { onClose: () => dynamo.close() });
  s3rver = await startS3rver({ directory: join(home, 's3') });
  await ensureBucket(makeS3Client({ endpoint: s3rver.endpoint }), BUCKET);
  sm = await startSecretsManager();
  sm.secrets.set(PEPPER_ARN, 'deployed-pepper');
  sm.secrets.set(TWILIO_ARN, JSON.stringify({ [SID]: { account: 'acme', tokens: [TOKEN] } }));
  sm.secrets.set(WEBHOOK_ARN, JSON.stringify({ acme: WEBHOOK_SECRET }));
  await storage.stores.accounts.putSettings(
    testSettings({
      twilioAccountSids: [SID],
      callerId: '+14155550100',
      calls: { default: 'free', international: 'required' },
      lockout: { failures: 1, windowMinutes: 15, lockMinutes: 60 },
      webhooks: [WEBHOOK_URL],
    }),
  );
  await storage.stores.codes.writeCodes('acme', [{ put: { key: 'A#0042', kind: 'account', code: '0042', enabled: true } }]);

  // What the SDK reads in Lambda; SNS points at a port that refuses Publish, so an alert fails and is logged.
  const sdk: Record<(typeof SDK_ENV)[number], string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    AWS_ENDPOINT_URL_SNS: sm.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: sm.endpoint,
  };
  sdkEnv = sdk;
  for (const name of SDK_ENV) {
    saved.set(name, process.env[name]);
    process.env[name] = sdk[name];
  }
  env = {
    [ENV.accountsTable]: storage.tables.accounts,
    [ENV.codesTable]: storage.tables.codes,
    [ENV.callsTable]: storage.tables.calls,
    [ENV.dynamodbEndpoint]: dynamoEndpoint,
    [ENV.bucket]: BUCKET,
    [ENV.s3Endpoint]: s3rver.endpoint,
    [ENV.pepperSecretArn]: PEPPER_ARN,
    [ENV.twilioSecretArn]: TWILIO_ARN,
    [ENV.alertsTopicArn]: 'arn:aws:sns:us-east-1:123456789012:tollgate-alerts',
    [ENV.publicUrl]: BASE_URL,
    [ENV.emergencyCallerId]: '+15005550006',
    [ENV.userPoolId]: 'us-east-1_Tollgate1',
    [ENV.userPoolClientId]: 'consoleclient123',
    // The SQS client sends to the host of the queue's URL: the stand-in's here.
    [ENV.importQueueUrl]: `${sm.endpoint}/123456789012/tollgate-imports`,
    [ENV.exportQueueUrl]: `${sm.endpoint}/123456789012/tollgate-export-continuations`,
    [ENV.eventBusName]: 'tollgate-events',
    [ENV.webhookQueueUrl]: `${sm.endpoint}/123456789012/tollgate-webhooks`,
    [ENV.webhookSecretsArn]: WEBHOOK_ARN,
    [ENV.logLevel]: 'info',
  };
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = String(chunk);
      // The functions' JSON lines are kept for the assertions, not printed among the test output.
      if (!text.startsWith('{')) return write(chunk, ...rest);
      lines.push(...text.split('\n').filter(Boolean));
      return true;
    }) as typeof stream.write);
  }
});

afterAll(async () => {
  await Promise.all(bundles.map((b) => b.close()));
  vi.restoreAllMocks();
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await sm?.close();
  await s3rver?.close();
  await storage?.close();
  await rm(home, { recursive: true, force: true });
});

let requests = 0;
function lambdaContext(functionName: string): Context {
  requests++;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `00000000-0000-4000-8000-${String(requests).padStart(12, '0')}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/12/04/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 600_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A Twilio webhook as API Gateway's HTTP API (payload 2.0) delivers it: the body base64-encoded, as API Gateway does for a form, or `plain`. */
function apiGatewayEvent(path: string, params: Record<string, string>, query = '', encoding: 'base64' | 'plain' = 'base64'): APIGatewayProxyEventV2 {
  const body = new URLSearchParams(params).toString();
  return {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: query,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      host: new URL(BASE_URL).host,
      'user-agent': 'TwilioProxy/1.1',
      'x-forwarded-proto': 'https',
      'x-twilio-signature': signTwilioRequest(BASE_URL + path + (query === '' ? '' : `?${query}`), params, TOKEN),
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: new URL(BASE_URL).host,
      domainPrefix: 'abc123',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '54.172.60.1', userAgent: 'TwilioProxy/1.1' },
      requestId: `req-${requests}`,
      routeKey: `POST ${path}`,
      stage: '$default',
      time: '04/Dec/2026:03:00:00 +0000',
      timeEpoch: 1796353200000,
    },
    body: encoding === 'base64' ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: encoding === 'base64',
  };
}

/** An SQS message as Lambda's event source mapping delivers it. */
function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1796353200000', SenderId: 'AIDAS3', ApproximateFirstReceiveTimestamp: '1796353200001' },
    messageAttributes: {},
    md5OfBody: '0',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:tollgate-imports',
    awsRegion: 'us-east-1',
  };
}

function logged(requestId: string): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.function_request_id === requestId);
}

type VoiceHandler = Handler<APIGatewayProxyEventV2, { statusCode: number; body: string }>;

/** A call abroad with account code 0042, on every path Twilio posts to in turn, bodies plain and base64; its CallSid. */
async function codedCall(voice: VoiceHandler): Promise<string> {
  const callSid = newCallSid();
  const common = { AccountSid: SID, ApiVersion: '2010-04-01', Direction: 'inbound', From: 'client:carol', To: '+442079460018', Called: '+442079460018', CallSid: callSid };
  const post = async (url: string, params: Record<string, string>, encoding: 'base64' | 'plain') => {
    const at = new URL(url, BASE_URL);
    return voice(apiGatewayEvent(at.pathname, { ...common, ...params }, at.search.slice(1), encoding), lambdaContext('tollgate-voice'));
  };
  const prompt = hear(await post('/voice/incoming', { CallStatus: 'ringing' }, 'plain'));
  expect(prompt.gather?.action).toMatch(/\/voice\/code/);
  const dialled = hear(await post(prompt.gather?.action ?? '', { CallStatus: 'in-progress', Digits: '0042', FinishedOnKey: '#' }, 'base64'));
  expect(dialled.dial?.number).toBe('+442079460018');
  expect(dialled.dial?.action).toMatch(/\/voice\/dial-complete/);
  const after = await post(dialled.dial?.action ?? '', { CallStatus: 'in-progress', DialCallStatus: 'completed', DialCallDuration: '61', DialCallSid: newCallSid() }, 'plain');
  expect(after.statusCode).toBe(200);
  expect((await post('/voice/status', { CallStatus: 'completed', CallDuration: '70' }, 'base64')).statusCode).toBe(200);
  return callSid;
}

const recorded = new Set<string>();

async function until<T>(what: string, find: () => T | undefined, poll?: () => Promise<void>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    await poll?.();
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the deployed voice function', () => {
  let handler: Promise<ReturnType<typeof deployedVoice>> | undefined;
  const voice = () => (handler ??= deployed(deployedVoice, 'VoiceApi/Function'));

  it('answers a webhook in API Gateway’s shape: a free call dials, a code call asks for the code', async () => {
    // Its requests are signed with Lambda's environment credentials; as bundled, the SDK's
    // SSO and web-identity providers are not in it, nor the SNS client (the runtime's, on the first alert).
    if (BUNDLES_DIR !== undefined) {
      const code = readFileSync(bundleEntry(BUNDLES_DIR, 'VoiceApi/Function'), 'utf8');
      for (const absent of ['GetRoleCredentials', 'AssumeRoleWithWebIdentity', 'PublishBatch']) expect(code).not.toContain(absent);
      expect(code).toContain('@aws-sdk/client-sns');
    }
    const common = { AccountSid: SID, ApiVersion: '2010-04-01', CallStatus: 'ringing', Direction: 'inbound', From: 'client:alice' };
    const free = await (await voice())(
      apiGatewayEvent('/voice/incoming', { ...common, CallSid: newCallSid(), To: '+12125550100', Called: '+12125550100' }),
      lambdaContext('tollgate-voice'),
    );
    expect(free.statusCode).toBe(200);
    expect(hear(free).dial?.number).toBe('+12125550100');
    const abroad = await (await voice())(
      apiGatewayEvent('/voice/incoming', { ...common, CallSid: newCallSid(), To: '+442079460018', Called: '+442079460018' }),
      lambdaContext('tollgate-voice'),
    );
    expect(hear(abroad).gather).toBeDefined();
  });

  it('takes a coded call along every path Twilio posts to, with plain and base64 bodies, and refuses a signature made for another URL', async () => {
    const callSid = await codedCall(await voice());
    const record = await storage.stores.calls.get(callSid);
    expect(record?.state).toMatchObject({ code: '0042', codeStatus: 'valid', outcome: 'completed', talkS: 61 });
    const common = { AccountSid: SID, ApiVersion: '2010-04-01', Direction: 'inbound', From: 'client:carol', To: '+442079460018', Called: '+442079460018' };
    // Twilio's fallback URL: a caller still hears something and the call moves on.
    const fallback = await (await voice())(
      apiGatewayEvent('/voice/fallback', { ...common, CallSid: newCallSid(), CallStatus: 'in-progress', ErrorCode: '11200' }, '', 'plain'),
      lambdaContext('tollgate-voice'),
    );
    expect(fallback.statusCode).toBe(200);
    expect(hear(fallback).says.length + (hear(fallback).dial === undefined ? 0 : 1)).toBeGreaterThan(0);
    // Signed for the execute-api URL of another API: the URL rebuilt from the event differs.
    const forged = apiGatewayEvent('/voice/incoming', { ...common, CallSid: newCallSid(), CallStatus: 'ringing' });
    forged.headers['x-twilio-signature'] = signTwilioRequest('https://other.execute-api.us-east-1.amazonaws.com/voice/incoming', { ...common, CallStatus: 'ringing' }, TOKEN);
    expect((await (await voice())(forged, lambdaContext('tollgate-voice'))).statusCode).toBe(403);
  });

  it('dials 911 at once and records it; the alert SNS refuses is logged as Powertools JSON with the request id', async () => {
    const context = lambdaContext('tollgate-voice');
    const callSid = newCallSid();
    const params = { AccountSid: SID, ApiVersion: '2010-04-01', CallStatus: 'ringing', Direction: 'inbound', From: 'client:alice', To: '911', Called: '911', CallSid: callSid };
    const reply = await (await voice())(apiGatewayEvent('/voice/incoming', params), context);
    expect(hear(reply).dial).toMatchObject({ number: '911', callerId: '+14155550100' });
    const line = await until('the failed alert log line', () => logged(context.awsRequestId).find((l) => l.message === 'alert could not be sent'));
    expect(line).toMatchObject({ level: 'ERROR', service: 'tollgate-voice', kind: 'emergency', callSid, function_name: 'tollgate-voice', cold_start: expect.any(Boolean) });
    expect((line.error as { message?: string }).message).toBeTruthy();
    await until(
      'the emergency record',
      () => (recorded.has(callSid) ? true : undefined),
      async () => {
        if ((await storage.stores.calls.get(callSid)) !== undefined) recorded.add(callSid);
      },
    );
    expect(logged(context.awsRequestId).map((l) => l.message)).not.toContain('emergency call could not be recorded; it was dialled');
  });

  it('locks a caller out with its own message when the lockout alert cannot be sent, never an apology; no digits are logged', async () => {
    const callSid = newCallSid();
    const common = { AccountSid: SID, ApiVersion: '2010-04-01', Direction: 'inbound', From: 'client:bob', To: '+442079460018', Called: '+442079460018', CallSid: callSid };
    const prompt = await (await voice())(apiGatewayEvent('/voice/incoming', { ...common, CallStatus: 'ringing' }), lambdaContext('tollgate-voice'));
    const action = hear(prompt).gather?.action ?? '';
    const path = new URL(action, BASE_URL);
    const event = apiGatewayEvent(path.pathname, { ...common, CallStatus: 'in-progress', Digits: '9137', FinishedOnKey: '#' }, path.search.slice(1));
    const context = lambdaContext('tollgate-voice');
    const heard = hear(await (await voice())(event, context));
    expect(heard.says).toContain(DEFAULT_PROMPTS.lockedOut);
    expect(heard.says).not.toContain(DEFAULT_PROMPTS.error);
    await until('the failed lockout alert', () => logged(context.awsRequestId).find((l) => l.message === 'alert could not be sent' && l.kind === 'lockout'));
    expect(lines.join('\n')).not.toMatch(/9137|0042/);
  });
});

describe('the deployed import function', () => {
  it('takes an SQS batch of S3 notifications in AWS’s shapes: a test event is ignored, a garbled message is reported and logged', async () => {
    const handler = await deployed(deployedImport, 'CodeImport/Function');
    const event: SQSEvent = {
      Records: [
        sqsRecord('m-test', JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-12-04T03:00:00.000Z', Bucket: BUCKET })),
        sqsRecord('m-garbled', '{"Records": ['),
      ],
    };
    const context = lambdaContext('tollgate-import');
    expect(await handler(event, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-garbled' }] });
    const line = logged(context.awsRequestId).find((l) => l.level === 'ERROR');
    expect(line).toMatchObject({ service: 'tollgate-import', messageId: 'm-garbled', function_name: 'tollgate-import', cold_start: expect.any(Boolean) });
  });
});

describe('an S3 notification in AWS’s own shape, through SQS', () => {
  it('imports the object it names: key URL-encoded as S3 sends it (space as +, + as %2B, UTF-8), ETag without quotes, string sequencer, IAM principal; a second delivery of the message changes nothing', async () => {
    const key = 'imports/acme/codes/Q4 new+old clients (Zürich).csv';
    const s3 = makeS3Client({ endpoint: s3rver.endpoint });
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'code,description\n7001,Initech\n7002,Umbrella\n', ContentType: 'text/csv' }));
    const notification: S3Event = {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'us-east-1',
          eventTime: '2026-12-04T03:00:00.000Z',
          eventName: 'ObjectCreated:Put',
          userIdentity: { principalId: 'AWS:AIDAEXAMPLEADMIN' },
          requestParameters: { sourceIPAddress: '203.0.113.10' },
          responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'tollgate-imports',
            bucket: { name: BUCKET, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${BUCKET}` },
            object: { key: 'imports/acme/codes/Q4+new%2Bold+clients+%28Z%C3%BCrich%29.csv', size: 44, eTag: (put.ETag ?? '').replace(/"/g, ''), sequencer: '0055AED6DCD90281E5' },
          },
        },
      ],
    };
    const event: SQSEvent = {
      Records: [sqsRecord('m-upload', JSON.stringify(notification))],
    };
    const importer = await deployed(deployedImport, 'CodeImport/Function');
    expect(await importer(event, lambdaContext('tollgate-import'))).toEqual({ batchItemFailures: [] });
    const codes = await storage.stores.codes.getCodes('acme', [accountCodeKey('7001'), accountCodeKey('7002')]);
    expect([...codes.values()].map((c) => c.description).sort()).toEqual(['Initech', 'Umbrella']);
    const reports = async () => (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'results/acme/' }))).Contents?.length ?? 0;
    const before = await reports();
    expect(before).toBeGreaterThan(0);

    // SQS delivers at least once: the same message again imports nothing and writes no second report.
    expect(await importer(event, lambdaContext('tollgate-import'))).toEqual({ batchItemFailures: [] });
    expect(await reports()).toBe(before);
    s3.destroy();
  });

  it('pauses a long import near its deadline, sends the notification to its queue again, and the next invocations finish it', async () => {
    const key = 'imports/acme/codes/long.csv';
    const rows = Array.from({ length: 5_000 }, (_, i) => `${60_000 + i},Long matter ${i}`);
    const s3 = makeS3Client({ endpoint: s3rver.endpoint });
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `code,description\n${rows.join('\n')}\n`, ContentType: 'text/csv' }));
    s3.destroy();
    const object = { key, size: 1, eTag: (put.ETag ?? '').replace(/"/g, ''), sequencer: '0055AED6DCD9028200' };
    const notification = { Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object } }] };
    const importer = await deployed(deployedImport, 'CodeImport/Function');
    // Each invocation has a moment more than the time the import keeps in reserve: it applies a chunk, then pauses.
    const shortOfTime = () => {
      const deadline = Date.now() + IMPORT_TIME_RESERVE_MS + 1;
      return { ...lambdaContext('tollgate-import'), getRemainingTimeInMillis: () => deadline - Date.now() };
    };
    let body = JSON.stringify(notification);
    let invocations = 0;
    for (; invocations < 20; invocations++) {
      const context = shortOfTime();
      const result = await importer({ Records: [sqsRecord(`m-long-${invocations}`, body)] }, context);
      expect(result, JSON.stringify(logged(context.awsRequestId))).toEqual({ batchItemFailures: [] });
      const sent = sm.messages.splice(0);
      if (sent.length === 0) break;
      expect(sent).toHaveLength(1);
      expect(sent[0]?.queueUrl).toBe(env[ENV.importQueueUrl]);
      body = sent[0]?.body as string;
    }
    expect(invocations).toBeGreaterThan(0);
    const stored = await storage.stores.codes.getCodes('acme', [accountCodeKey('60000'), accountCodeKey('64999')]);
    expect([...stored.values()].map((c) => c.description).sort()).toEqual(['Long matter 0', 'Long matter 4999']);
  });
});

describe('the deployed export function', () => {
  it('runs on the schedule’s event with Lambda’s context, using its request id as the lease owner', async () => {
    const handler = await deployed(deployedExport, 'UsageExport/Function');
    const context = lambdaContext('tollgate-export');
    const run = await handler({ source: 'aws.scheduler', 'detail-type': 'Scheduled Event' }, context);
    expect(run.failed).toEqual([]);
    expect(run.accounts.map((a) => a.account)).toContain('acme');
  });

  it('with too little time left, starts no day and sends a message to its continuation queue, which invokes it again at once', async () => {
    const handler = await deployed(deployedExport, 'UsageExport/Function');
    // A call of ten days ago, so a day is due that the run has no time to write.
    const started = new Date(Date.now() - 10 * 86_400_000);
    const call = testCall({
      account: 'acme',
      callSid: newCallSid(),
      startedAt: started.toISOString(),
      endedAt: new Date(started.getTime() + 60_000).toISOString(),
      outcome: 'completed',
      durationS: 60,
      talkS: 55,
    });
    await makeDynamoStores({ client: storage.client, tables: storage.tables, now: () => started }).calls.put(call, { expectedRevision: undefined, timeZone: 'America/New_York' });
    sm.messages.splice(0);
    const run = await handler({ source: 'aws.scheduler' }, { ...lambdaContext('tollgate-export'), getRemainingTimeInMillis: () => 60_000 });
    expect(run.accounts.find((a) => a.account === 'acme')?.status).toBe('stopped');
    expect(sm.messages.splice(0)).toEqual([{ queueUrl: env[ENV.exportQueueUrl], body: JSON.stringify({ source: 'tollgate.continue' }) }]);
  });
});

describe('the deployed console function', () => {
  it('serves the browser app bundled beside it, with its Content-Security-Policy, and refuses the API without a token', async () => {
    const handler = await deployed(deployedConsole, 'Console/Function');
    const get = (path: string) => {
      const event = apiGatewayEvent(path, {});
      return handler(
        { ...event, routeKey: `GET ${path}`, body: '', isBase64Encoded: false, requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: 'GET' } } },
        lambdaContext('tollgate-console'),
      );
    };
    const page = (await get('/console/')) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.body).toContain('<script type="module" src="/console/app.js"></script>');
    const vendor = (await get('/console/vendor/preact-htm.js')) as { statusCode: number; headers: Record<string, string> };
    expect(vendor.statusCode).toBe(200);
    expect(vendor.headers['content-type']).toMatch(/javascript/);
    expect(((await get('/api/codes')) as { statusCode: number }).statusCode).toBe(401);
  });
});

describe('the deployed word indexer', () => {
  it("indexes the codes the codes table's stream reports, so the console finds them by a word of their description", async () => {
    const handler = await deployed(deployedCodeWords, 'Console/WordIndexer');
    const before = { kind: 'account', code: '0077', description: 'Harbour Freight – audit', enabled: true };
    const after = { ...before, description: 'Harbour Freight – probate' };
    await storage.stores.codes.writeCodes('acme', [{ put: { key: 'A#0077', ...after } as never }]);
    const keys = { pk: codeKey('acme', 'A#0077').pk?.S, sk: 'A#0077' };
    const result = await handler(streamEvent(streamRecord('INSERT', keys, undefined, before), streamRecord('MODIFY', keys, before, after)), lambdaContext('tollgate-code-words'));
    expect(result).toEqual({ indexed: 2 });
    const found = async (word: string) => (await storage.stores.codes.pageCodes('acme', { limit: 10, word })).codes.map((c) => c.key);
    expect(await found('harb')).toEqual(['A#0077']);
    expect(await found('probate')).toEqual(['A#0077']);
    expect(await found('audit')).toEqual([]);
  });
});

describe('the deployed call-record event functions', () => {
  it("publish a completed call from the calls table's stream to the bus and queue it for the account's webhook; deliver it signed, and put a failed delivery back for later", async () => {
    const publisher = await deployed(deployedPublisher, 'CallEvents/Publisher');
    const voice = await deployed(deployedVoice, 'VoiceApi/Function');
    const callSid = await codedCall(voice as VoiceHandler);
    // The stored item as the stream carries it: before the status callback, and after.
    const item = (await storage.client.send(new GetItemCommand({ TableName: storage.tables.calls, Key: { pk: { S: callSid } } }))).Item ?? {};
    const before = { ...item, statusReceived: { BOOL: false } };
    const record = streamRecord('MODIFY', { pk: callSid }, undefined, undefined);
    const event = streamEvent({ ...record, dynamodb: { ...record.dynamodb, OldImage: before as never, NewImage: item as never } });
    sm.events.splice(0);
    sm.messages.splice(0);
    expect(await publisher(event, lambdaContext('tollgate-events'))).toEqual({ published: 1 });
    expect(sm.events).toHaveLength(1);
    expect(sm.events[0]).toMatchObject({ EventBusName: 'tollgate-events', Source: 'tollgate', DetailType: 'Call completed' });
    expect(JSON.parse(sm.events[0]?.Detail ?? '{}')).toMatchObject({ call_sid: callSid, code: '0042', code_status: 'valid' });
    const [queued] = sm.messages.splice(0);
    expect(queued?.queueUrl).toBe(env[ENV.webhookQueueUrl]);
    const delivery = JSON.parse(queued?.body ?? '{}') as { url: string; event: { id: string } };
    expect(delivery.url).toBe(WEBHOOK_URL);

    // The deliverer: one delivery to a receiver on loopback, one to a port that refuses.
    const received: { signature: string; body: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ signature: String(req.headers['tollgate-signature'] ?? ''), body });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const deliverer = await deployed(deployedDeliverer, 'CallEvents/Deliverer');
      const toReceiver = sqsRecord('d-ok', JSON.stringify({ ...delivery, url: `http://127.0.0.1:${port}/hook` }));
      const toNowhere = {
        ...sqsRecord('d-refused', JSON.stringify({ ...delivery, url: 'http://127.0.0.1:9/hook' })),
        attributes: { ...toReceiver.attributes, ApproximateReceiveCount: '3' },
      };
      expect(await deliverer({ Records: [toReceiver, toNowhere] }, lambdaContext('tollgate-webhooks'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'd-refused' }] });
      expect(received).toHaveLength(1);
      expect(JSON.parse(received[0]?.body ?? '{}')).toMatchObject({ id: delivery.event.id });
      expect(verifyEvent(received[0]?.body ?? '', received[0]?.signature ?? '', WEBHOOK_SECRET, Math.floor(Date.now() / 1000))).toBe(true);
      // The third try waits 4 minutes before the next.
      expect(sm.delays.splice(0)).toEqual([{ receiptHandle: 'rh-d-refused', seconds: 240 }]);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
