/**
 * Configuration, parsed once and frozen (docs/design.md). Each handler asks for what it needs; a
 * missing variable throws at start with its name, rather than failing on the first call.
 */
import type { TableNames } from './adapters/dynamodb/tables.ts';
import { E164 } from './core/identifiers.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Every environment variable a function reads, named once: the CDK constructs set them by
 * these names, and the readers below read them by the same.
 */
export const ENV = {
  accountsTable: 'TOLLGATE_ACCOUNTS_TABLE',
  codesTable: 'TOLLGATE_CODES_TABLE',
  callsTable: 'TOLLGATE_CALLS_TABLE',
  dynamodbEndpoint: 'TOLLGATE_DYNAMODB_ENDPOINT',
  bucket: 'TOLLGATE_BUCKET',
  s3Endpoint: 'TOLLGATE_S3_ENDPOINT',
  pepperSecretArn: 'TOLLGATE_PEPPER_SECRET_ARN',
  twilioSecretArn: 'TOLLGATE_TWILIO_SECRET_ARN',
  alertsTopicArn: 'TOLLGATE_ALERTS_TOPIC_ARN',
  publicUrl: 'TOLLGATE_PUBLIC_URL',
  emergencyCallerId: 'TOLLGATE_EMERGENCY_CALLER_ID',
  userPoolId: 'TOLLGATE_USER_POOL_ID',
  userPoolClientId: 'TOLLGATE_USER_POOL_CLIENT_ID',
  eventBusName: 'TOLLGATE_EVENT_BUS_NAME',
  webhookQueueUrl: 'TOLLGATE_WEBHOOK_QUEUE_URL',
  importQueueUrl: 'TOLLGATE_IMPORT_QUEUE_URL',
  exportQueueUrl: 'TOLLGATE_EXPORT_QUEUE_URL',
  webhookSecretsArn: 'TOLLGATE_WEBHOOK_SECRETS_ARN',
  logLevel: 'LOG_LEVEL',
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`environment variable ${name} is not set; the stack sets it for every function that needs it`);
  }
  return value.trim();
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export interface StorageConfig {
  readonly tables: TableNames;
  /** Set for a local DynamoDB-compatible endpoint. */
  readonly dynamodbEndpoint?: string;
}

export interface BucketConfig {
  readonly bucket: string;
  /** Set for a local S3-compatible endpoint. */
  readonly s3Endpoint?: string;
}

export function storageConfig(env: Env): StorageConfig {
  const endpoint = optional(env, ENV.dynamodbEndpoint);
  return Object.freeze({
    tables: Object.freeze({
      accounts: required(env, ENV.accountsTable),
      codes: required(env, ENV.codesTable),
      calls: required(env, ENV.callsTable),
    }),
    ...(endpoint === undefined ? {} : { dynamodbEndpoint: endpoint }),
  });
}

export function bucketConfig(env: Env): BucketConfig {
  const endpoint = optional(env, ENV.s3Endpoint);
  return Object.freeze({ bucket: required(env, ENV.bucket), ...(endpoint === undefined ? {} : { s3Endpoint: endpoint }) });
}

/** ARN of the Secrets Manager secret holding the authorization-code pepper. */
export function pepperSecretArn(env: Env): string {
  return required(env, ENV.pepperSecretArn);
}

/** ARN of the Secrets Manager secret holding the Twilio auth tokens and the operator's SID bindings. */
export function twilioSecretArn(env: Env): string {
  return required(env, ENV.twilioSecretArn);
}

/** The log level, `info` unless LOG_LEVEL says otherwise. */
export function logLevel(env: Env): 'debug' | 'info' | 'warn' | 'error' {
  const level = optional(env, ENV.logLevel)?.toLowerCase();
  if (level === undefined) return 'info';
  if (level === 'debug' || level === 'info' || level === 'warn' || level === 'error') return level;
  throw new ConfigError(`LOG_LEVEL is "${level}"; use debug, info, warn or error`);
}

export interface VoiceConfig {
  /** Secrets Manager secret: `{ "AC…": ["token", …] }`. */
  readonly twilioTokensSecretArn: string;
  readonly alertsTopicArn: string;
  /** The base URL Twilio calls, when it is not the request's own host (a custom domain behind a proxy). */
  readonly publicBaseUrl?: string;
  /** The emergency `<Dial>`'s caller ID of last resort (docs/security.md, "Emergency calls"). */
  readonly emergencyCallerId: string;
}

/** The variable that names the deployment's emergency caller ID, in AWS and locally. */
export const EMERGENCY_CALLER_ID_VARIABLE = ENV.emergencyCallerId;

/**
 * The deployment's emergency caller ID: an E.164 number of the Twilio account (a Twilio number
 * or a verified caller ID) that an emergency dispatcher can call back. Undefined when unset.
 */
export function emergencyCallerIdOf(env: Env): string | undefined {
  const value = optional(env, EMERGENCY_CALLER_ID_VARIABLE);
  if (value !== undefined && !E164.test(value)) {
    throw new ConfigError(`${EMERGENCY_CALLER_ID_VARIABLE} is "${value}": use an E.164 number of your Twilio account, such as +14155550100`);
  }
  return value;
}

export function voiceConfig(env: Env): VoiceConfig {
  const publicBaseUrl = optional(env, ENV.publicUrl);
  return Object.freeze({
    twilioTokensSecretArn: twilioSecretArn(env),
    alertsTopicArn: required(env, ENV.alertsTopicArn),
    ...(publicBaseUrl === undefined ? {} : { publicBaseUrl }),
    emergencyCallerId: emergencyCallerIdOf(env) ?? required(env, EMERGENCY_CALLER_ID_VARIABLE),
  });
}

export interface ConsoleConfig {
  /** The Cognito user pool console users sign in to, and its app client (no secret). */
  readonly userPoolId: string;
  readonly userPoolClientId: string;
}

export function consoleConfig(env: Env): ConsoleConfig {
  return Object.freeze({ userPoolId: required(env, ENV.userPoolId), userPoolClientId: required(env, ENV.userPoolClientId) });
}

export interface EventsConfig {
  readonly eventBusName: string;
  readonly webhookQueueUrl: string;
}

export function eventsConfig(env: Env): EventsConfig {
  return Object.freeze({ eventBusName: required(env, ENV.eventBusName), webhookQueueUrl: webhookQueueUrl(env) });
}

/** The queue of webhook deliveries (the publisher sends to it; the delivery function puts a failed one back later). */
export function webhookQueueUrl(env: Env): string {
  return required(env, ENV.webhookQueueUrl);
}

/** The import queue: an import that pauses at a checkpoint sends its notification to it again (docs/data-model.md). */
export function importQueueUrl(env: Env): string {
  return required(env, ENV.importQueueUrl);
}

/** The usage export's continuation queue: a run out of time sends a message to it, which invokes the export again. */
export function exportQueueUrl(env: Env): string {
  return required(env, ENV.exportQueueUrl);
}

/** ARN of the secret holding each account's webhook secret: `{ "acme": "<64 hex digits>" }`. */
export function webhookSecretsArn(env: Env): string {
  return required(env, ENV.webhookSecretsArn);
}
