/**
 * Where a command acts: the running local stack (`--local`, the default), found through
 * `$TOLLGATE_HOME/stack.json`, or a deployed AWS stack (`--stack NAME`), found through its
 * CloudFormation outputs (cli/aws-target.ts); and an account in it.
 */
import { resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { makeDynamoClient } from '../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores, type DynamoStores } from '../functions/adapters/dynamodb/stores.ts';
import type { TableNames } from '../functions/adapters/dynamodb/tables.ts';
import { makeS3Client } from '../functions/adapters/s3/client.ts';
import { ACCOUNT_SLUG, type Settings } from '../functions/core/settings.ts';
import { readStackInfo, type StackInfo } from '../local/stack-info.ts';
import { defaultAwsClients, describeStack } from './aws-target.ts';
import { CliError, usageError, type CliIo } from './io.ts';

export const DEFAULT_HOME = '.tollgate';

/** Options every data command takes. */
export const TARGET_OPTIONS = {
  account: { type: 'string' },
  local: { type: 'boolean' },
  stack: { type: 'string' },
} as const;

export const TARGET_HELP = `Target:
  --account NAME   the account (default: the only account there is)
  --local          the local stack running in $TOLLGATE_HOME (default: .tollgate)  [default]
  --stack NAME     a deployed AWS stack (e.g. Tollgate), through your AWS credentials
                   (AWS_PROFILE, AWS_REGION …) and the stack's outputs`;

export interface TargetFlags {
  readonly account?: string | undefined;
  readonly local?: boolean | undefined;
  readonly stack?: string | undefined;
}

/** The local stack, as its stack.json describes it. */
export interface LocalTargetInfo extends StackInfo {
  readonly kind: 'local';
}

/** A deployed stack, as its outputs describe it. */
export interface AwsTargetInfo {
  readonly kind: 'aws';
  readonly stackName: string;
  readonly region: string;
  /** Where requests go (the voice API's base URL). */
  readonly httpUrl: string;
  /** The URL Twilio signs: the same one in AWS. */
  readonly publicUrl: string;
  readonly bucket: string;
  readonly tables: TableNames;
  /** Imports that failed on every attempt wait here (ImportDeadLetterQueueUrl). */
  readonly importDeadLetterQueueUrl?: string;
}

export type TargetInfo = LocalTargetInfo | AwsTargetInfo;

export interface Target {
  readonly info: TargetInfo;
  /** How messages name it: "the local stack", "stack Tollgate (eu-west-1)". */
  readonly label: string;
  readonly bucket: string;
  readonly s3: S3Client;
  readonly stores: DynamoStores;
  /** `s3://bucket/key`, for telling people where something is. */
  location(key: string): string;
  close(): void;
}

/** The folder of the local stack: `$TOLLGATE_HOME`, relative to the working directory. */
export function localHome(io: CliIo): string {
  return resolve(io.cwd, io.env.TOLLGATE_HOME?.trim() || DEFAULT_HOME);
}

/** Connect to the target the flags name. */
export async function openTarget(io: CliIo, flags: TargetFlags): Promise<Target> {
  if (flags.stack !== undefined) {
    if (flags.local === true) throw usageError('--local and --stack name different targets: give one of them');
    return openStackTarget(io, flags.stack);
  }
  const home = localHome(io);
  const info = await readStackInfo(home);
  if (info === undefined) throw new CliError(`no local stack is running in ${home}: start it with npm start`);
  const s3 = makeS3Client({ endpoint: info.s3Endpoint, region: info.region });
  const client = makeDynamoClient({ endpoint: info.dynamodbEndpoint, region: info.region, requestTimeoutMs: 30_000 });
  return {
    info: { kind: 'local', ...info },
    label: 'the local stack',
    bucket: info.bucket,
    s3,
    stores: makeDynamoStores({ client, tables: info.tables }),
    location: (key) => `s3://${info.bucket}/${key}`,
    close() {
      s3.destroy();
      client.destroy();
    },
  };
}

/** A deployed stack: its outputs name the bucket and the tables (cli/aws-target.ts). */
async function openStackTarget(io: CliIo, stackName: string): Promise<Target> {
  if (stackName.trim() === '') throw usageError('--stack needs the name of a deployed stack, e.g. --stack Tollgate');
  const clients = io.aws ?? defaultAwsClients;
  const stack = await describeStack(clients, stackName);
  const s3 = clients.s3(stack.region);
  const client = clients.dynamodb(stack.region);
  return {
    info: {
      kind: 'aws',
      stackName,
      region: stack.region,
      httpUrl: stack.apiUrl,
      publicUrl: stack.apiUrl,
      bucket: stack.bucket,
      tables: stack.tables,
      ...(stack.importDeadLetterQueueUrl === undefined ? {} : { importDeadLetterQueueUrl: stack.importDeadLetterQueueUrl }),
    },
    label: `stack ${stackName} (${stack.region})`,
    bucket: stack.bucket,
    s3,
    stores: makeDynamoStores({ client, tables: stack.tables }),
    location: (key) => `s3://${stack.bucket}/${key}`,
    close() {
      s3.destroy();
      client.destroy();
    },
  };
}

/**
 * The account a command acts on: `--account`, checked to exist, or the only one there is.
 * `mustExist: false` for commands that may create it (settings apply).
 */
export async function resolveAccount(target: Target, requested: string | undefined): Promise<string> {
  if (requested !== undefined && !ACCOUNT_SLUG.test(requested)) {
    throw usageError(`--account "${requested}" is not an account name: 1-40 lower-case letters, digits or "-"`);
  }
  const accounts = await target.stores.accounts.listAccounts();
  if (requested !== undefined) {
    if (accounts.includes(requested)) return requested;
    const known = accounts.length === 0 ? 'it has none yet' : `its accounts: ${accounts.join(', ')}`;
    throw new CliError(`account "${requested}" does not exist in ${target.label} (${known}): check --account, or create it with tollgate settings apply FILE`);
  }
  if (accounts.length === 1) return accounts[0] as string;
  if (accounts.length === 0) {
    throw new CliError(`${target.label} has no accounts yet: create one with tollgate settings apply FILE`);
  }
  throw usageError(`${target.label} has ${accounts.length} accounts (${accounts.join(', ')}): choose one with --account NAME`);
}

/** The stored settings of an account that {@link resolveAccount} found. */
export async function accountSettings(target: Target, account: string): Promise<Settings> {
  const settings = await target.stores.accounts.getSettings(account);
  if (settings === undefined) throw new CliError(`account "${account}" has no settings: apply them with tollgate settings apply FILE`);
  return settings;
}
