/**
 * `--stack NAME` finds the bucket and tables from the stack's outputs, and says what to do
 * when it cannot: no such stack, no region, no credentials, not a Tollgate stack.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { awsDataError, describeStack, type AwsClients } from '../../cli/aws-target.ts';
import { CliError } from '../../cli/io.ts';
import { STACK_OUTPUTS } from '../../infra/outputs.ts';
import { fakeCloudFormation, type FakeCloudFormation } from '../support/fake-cloudformation.ts';

const OUTPUTS = {
  [STACK_OUTPUTS.apiUrl]: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
  [STACK_OUTPUTS.voiceUrl]: 'https://abc123.execute-api.eu-west-1.amazonaws.com/voice/incoming',
  [STACK_OUTPUTS.bucket]: 'tollgate-databucket-1a2b3c',
  [STACK_OUTPUTS.accountsTable]: 'Tollgate-DataAccounts-XYZ',
  [STACK_OUTPUTS.codesTable]: 'Tollgate-DataCodes-XYZ',
  [STACK_OUTPUTS.callsTable]: 'Tollgate-DataCalls-XYZ',
  [STACK_OUTPUTS.importDeadLetterQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Tollgate-Dlq',
};

function clients(cfn: FakeCloudFormation): AwsClients {
  return { cloudFormation: () => cfn, s3: (region) => new S3Client({ region }), dynamodb: (region) => new DynamoDBClient({ region }) };
}

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

describe('describeStack', () => {
  it('reads the bucket, the tables and the API URL from the outputs of the named stack', async () => {
    const cfn = fakeCloudFormation({ Tollgate: { outputs: OUTPUTS } });
    const stack = await describeStack(clients(cfn), 'Tollgate');
    expect(stack).toEqual({
      stackName: 'Tollgate',
      region: 'eu-west-1',
      apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      bucket: 'tollgate-databucket-1a2b3c',
      tables: { accounts: 'Tollgate-DataAccounts-XYZ', codes: 'Tollgate-DataCodes-XYZ', calls: 'Tollgate-DataCalls-XYZ' },
      importDeadLetterQueueUrl: OUTPUTS.ImportDeadLetterQueueUrl,
    });
    expect(cfn.described).toEqual(['Tollgate']);
  });

  it('says a stack that does not exist is not there, naming the region', async () => {
    const err = await failure(describeStack(clients(fakeCloudFormation({ Tollgate: { outputs: OUTPUTS } }, { region: 'us-east-2' })), 'prod'));
    expect(err.message).toBe('--stack prod: there is no such stack in us-east-2; check the name, AWS_REGION and AWS_PROFILE');
  });

  it('names the outputs a stack lacks, with its status', async () => {
    const { BucketName: _bucket, CallsTableName: _calls, ...partial } = OUTPUTS;
    const cfn = fakeCloudFormation({ Half: { outputs: partial, status: 'UPDATE_ROLLBACK_COMPLETE' } });
    const err = await failure(describeStack(clients(cfn), 'Half'));
    expect(err.message).toBe(
      '--stack Half: the stack in eu-west-1 has no output BucketName, CallsTableName (status UPDATE_ROLLBACK_COMPLETE); is it a Tollgate stack, and has its deployment finished?',
    );
  });

  it('asks for a region when none is configured', async () => {
    const cfn = fakeCloudFormation({}, { regionError: new Error('Region is missing') });
    const err = await failure(describeStack(clients(cfn), 'Tollgate'));
    expect(err.message).toMatch(/^--stack Tollgate: no AWS region is set; set AWS_REGION/);
    expect(cfn.described).toEqual([]);
  });

  it('asks to sign in when there are no credentials, or they expired', async () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect((await failure(describeStack(clients(fakeCloudFormation({}, { sendError: missing })), 'Tollgate'))).message).toMatch(
      /no AWS credentials were found; sign in \(aws sso login, or aws configure\) or set AWS_PROFILE$/,
    );
    const expired = Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' });
    expect((await failure(describeStack(clients(fakeCloudFormation({}, { sendError: expired })), 'Tollgate'))).message).toMatch(/credentials have expired/);
  });

  it('names the permission a refused DescribeStacks needs', async () => {
    const denied = Object.assign(new Error('User: arn:aws:iam::123456789012:user/x is not authorized to perform: cloudformation:DescribeStacks'), {
      name: 'AccessDenied',
    });
    const err = await failure(describeStack(clients(fakeCloudFormation({}, { sendError: denied })), 'Tollgate'));
    expect(err.message).toMatch(/access denied .* needs cloudformation:DescribeStacks on the stack$/);
  });
});

describe('errors of data commands against a stack', () => {
  const target = { stackName: 'Tollgate', region: 'eu-west-1' };

  it('turn AccessDenied and lost connections into messages, and leave other errors alone', () => {
    const denied = awsDataError(Object.assign(new Error('not authorized to perform: dynamodb:Query'), { name: 'AccessDeniedException' }), target);
    expect(denied).toBeInstanceOf(CliError);
    expect((denied as CliError).message).toMatch(/^access denied in stack Tollgate/);
    const lost = awsDataError(Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' }), target);
    expect((lost as CliError).message).toMatch(/^lost the connection to AWS \(eu-west-1\)/);
    const other = new TypeError('a bug');
    expect(awsDataError(other, target)).toBe(other);
  });
});
