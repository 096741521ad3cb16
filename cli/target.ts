/**
 * Where a command acts: the running local stack (`--local`, the default), found through
 * `$TOLLGATE_HOME/stack.json`, and an account in it. `--stack NAME` (AWS) comes with the AWS
 * issue and says so rather than pretending.
 */
import { resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { makeDynamoClient } from '../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores, type DynamoStores } from '../functions/adapters/dynamodb/stores.ts';
import { makeS3Client } from '../functions/adapters/s3/client.ts';
import { ACCOUNT_SLUG, type Settings } from '../functions/core/settings.ts';
import { readStackInfo, type StackInfo } from '../infra/local/stack-info.ts';
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
  --stack NAME     a deployed AWS stack (not available yet)`;

export interface TargetFlags {
  readonly account?: string | undefined;
  readonly local?: boolean | undefined;
  readonly stack?: string | undefined;
}

export interface Target {
  readonly info: StackInfo;
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
    throw usageError(
      `--stack ${flags.stack}: deployed AWS stacks are not available in this version of the CLI yet; manage the local stack with --local (the default)`,
    );
  }
  const home = localHome(io);
  const info = await readStackInfo(home);
  if (info === undefined) throw new CliError(`no local stack is running in ${home}: start it with npm start`);
  const s3 = makeS3Client({ endpoint: info.s3Endpoint, region: info.region });
  const client = makeDynamoClient({ endpoint: info.dynamodbEndpoint, region: info.region, requestTimeoutMs: 30_000 });
  return {
    info,
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
    throw new CliError(
      `account "${requested}" does not exist in the local stack (${known}): check --account, or create it with tollgate settings apply FILE`,
    );
  }
  if (accounts.length === 1) return accounts[0] as string;
  if (accounts.length === 0) {
    throw new CliError('the local stack has no accounts yet: create one with tollgate settings apply FILE');
  }
  throw usageError(`the local stack has ${accounts.length} accounts (${accounts.join(', ')}): choose one with --account NAME`);
}

/** The stored settings of an account that {@link resolveAccount} found. */
export async function accountSettings(target: Target, account: string): Promise<Settings> {
  const settings = await target.stores.accounts.getSettings(account);
  if (settings === undefined) throw new CliError(`account "${account}" has no settings: apply them with tollgate settings apply FILE`);
  return settings;
}
