/**
 * `--stack NAME`: a deployed Tollgate stack. The bucket and the tables are found from the
 * stack's CloudFormation outputs (infra/outputs.ts), through the standard AWS credential chain
 * (AWS_PROFILE, environment variables, SSO, instance roles …) and its region (AWS_REGION or
 * the profile's). Nothing is configured in Tollgate itself.
 *
 * The clients come from {@link AwsClients}, which `CliIo.aws` may replace: the tests pass a
 * fake CloudFormation client and clients for the local emulators, since AWS is not reachable
 * from them.
 */
import { CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { makeDynamoClient } from '../functions/adapters/dynamodb/client.ts';
import type { TableNames } from '../functions/adapters/dynamodb/tables.ts';
import { makeS3Client } from '../functions/adapters/s3/client.ts';
import { STACK_OUTPUTS, type StackOutputName } from '../infra/outputs.ts';
import { CliError } from './errors.ts';

/** What `--stack` needs of CloudFormation: DescribeStacks, and the region the client resolved. */
export interface CloudFormationPort {
  send(command: DescribeStacksCommand): Promise<DescribeStacksCommandOutput>;
  readonly config: { readonly region: () => Promise<string> };
  destroy?(): void;
}

/** The AWS clients a `--stack` target is made of. */
export interface AwsClients {
  cloudFormation(): CloudFormationPort;
  s3(region: string): S3Client;
  dynamodb(region: string): DynamoDBClient;
}

/** Real clients over the standard credential chain. */
export const defaultAwsClients: AwsClients = {
  cloudFormation: () => new CloudFormationClient({}),
  s3: (region) => makeS3Client({ region }),
  // A person waits on these, not a phone line: room for a slow network.
  dynamodb: (region) => makeDynamoClient({ region, connectionTimeoutMs: 5_000, requestTimeoutMs: 30_000 }),
};

/** A deployed stack, as its outputs describe it. */
export interface StackDescription {
  readonly stackName: string;
  readonly region: string;
  /** The voice API's base URL (ApiUrl). */
  readonly apiUrl: string;
  readonly bucket: string;
  readonly tables: TableNames;
  readonly importDeadLetterQueueUrl?: string;
}

const REQUIRED: readonly StackOutputName[] = ['apiUrl', 'bucket', 'accountsTable', 'codesTable', 'callsTable'];

/** Read a stack's outputs; every failure becomes a {@link CliError} that says what to do. */
export async function describeStack(clients: AwsClients, stackName: string): Promise<StackDescription> {
  const cfn = clients.cloudFormation();
  try {
    let region: string;
    try {
      region = await cfn.config.region();
    } catch (err) {
      throw new CliError(`--stack ${stackName}: no AWS region is set; set AWS_REGION, or a region in your AWS profile (aws configure)`, { cause: err });
    }
    let out: DescribeStacksCommandOutput;
    try {
      out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    } catch (err) {
      throw awsError(err, stackName, region);
    }
    const stack = out.Stacks?.[0];
    if (stack === undefined) throw new CliError(`--stack ${stackName}: there is no such stack in ${region}; check the name, AWS_REGION and AWS_PROFILE`);
    const outputs = new Map<string, string>();
    for (const o of stack.Outputs ?? []) {
      if (o.OutputKey !== undefined && o.OutputValue !== undefined) outputs.set(o.OutputKey, o.OutputValue);
    }
    const missing = REQUIRED.filter((name) => !outputs.has(STACK_OUTPUTS[name])).map((name) => STACK_OUTPUTS[name]);
    if (missing.length > 0) {
      const status = stack.StackStatus === undefined ? '' : ` (status ${stack.StackStatus})`;
      throw new CliError(`--stack ${stackName}: the stack in ${region} has no output ${missing.join(', ')}${status}; is it a Tollgate stack, and has its deployment finished?`);
    }
    const value = (name: StackOutputName) => outputs.get(STACK_OUTPUTS[name]) as string;
    const dlq = outputs.get(STACK_OUTPUTS.importDeadLetterQueueUrl);
    return {
      stackName,
      region,
      apiUrl: value('apiUrl').replace(/\/+$/, ''),
      bucket: value('bucket'),
      tables: { accounts: value('accountsTable'), codes: value('codesTable'), calls: value('callsTable') },
      ...(dlq === undefined ? {} : { importDeadLetterQueueUrl: dlq }),
    };
  } finally {
    cfn.destroy?.();
  }
}

/** An AWS SDK error as a message about the stack, the credentials or the permissions. */
export function awsError(err: unknown, stackName: string, region: string): CliError {
  const name = (err as { name?: string }).name ?? '';
  const message = (err as Error).message ?? String(err);
  if (name === 'ValidationError' && /does not exist/i.test(message)) {
    return new CliError(`--stack ${stackName}: there is no such stack in ${region}; check the name, AWS_REGION and AWS_PROFILE`, { cause: err });
  }
  if (name === 'CredentialsProviderError' || (/credential/i.test(message) && /could not|unable|missing|not load/i.test(message))) {
    return new CliError(`--stack ${stackName}: no AWS credentials were found; sign in (aws sso login, or aws configure) or set AWS_PROFILE`, { cause: err });
  }
  if (name === 'ExpiredToken' || name === 'ExpiredTokenException' || /expired/i.test(message)) {
    return new CliError(`--stack ${stackName}: your AWS credentials have expired; sign in again (aws sso login)`, { cause: err });
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || /not authorized/i.test(message)) {
    return new CliError(`--stack ${stackName}: access denied (${message}); the CLI needs cloudformation:DescribeStacks on the stack`, { cause: err });
  }
  return new CliError(`--stack ${stackName}: could not read the stack in ${region}: ${message}`, { cause: err });
}

/**
 * An error of a data command against a deployed stack, when it is about reaching AWS or about
 * permissions: as a {@link CliError} that says so. Anything else is returned as it was.
 */
export function awsDataError(err: unknown, target: { readonly stackName: string; readonly region: string }): unknown {
  if (err instanceof CliError) return err;
  const name = (err as { name?: string }).name ?? '';
  const message = (err as Error).message ?? String(err);
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOTFOUND' || name === 'TimeoutError') {
    return new CliError(`lost the connection to AWS (${target.region}): ${message}; check the network and try again`, { cause: err });
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'Forbidden' || /not authorized/i.test(message)) {
    return new CliError(
      `access denied in stack ${target.stackName} (${message}); the tollgate CLI reads and writes the stack's tables and bucket, which needs an operator's permissions`,
      { cause: err },
    );
  }
  if (name === 'ExpiredToken' || name === 'ExpiredTokenException' || name === 'CredentialsProviderError') {
    return new CliError(`your AWS credentials are missing or expired; sign in again (aws sso login) or set AWS_PROFILE`, { cause: err });
  }
  return err;
}
