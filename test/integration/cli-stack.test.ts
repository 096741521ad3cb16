/**
 * `tollgate … --stack NAME` end to end, without AWS: a fake CloudFormation client answers
 * DescribeStacks with the outputs a deployed stack has, naming the bucket and tables of a
 * local stack started here; the S3 and DynamoDB clients point at its emulators. TOLLGATE_HOME
 * names an empty folder, so nothing can come from the local stack's stack.json.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../cli/aws-target.ts';
import type { CliIo } from '../../cli/io.ts';
import { run } from '../../cli/main.ts';
import { makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { STACK_OUTPUTS } from '../../infra/outputs.ts';
import { fakeCloudFormation, type FakeCloudFormation } from '../support/fake-cloudformation.ts';

const REPO = join(import.meta.dirname, '..', '..');

let home: string;
let nowhere: string;
let stack: LocalStack;
let cfn: FakeCloudFormation;
let aws: AwsClients;
const regions: string[] = [];

async function tollgate(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  const err = new PassThrough().on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const io: CliIo = { stdout: out, stderr: err, stdin: new PassThrough(), env: { TOLLGATE_HOME: nowhere, ...env }, cwd: REPO, aws };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tollgate-stack-'));
  nowhere = await mkdtemp(join(tmpdir(), 'tollgate-nowhere-'));
  stack = await startLocalStack({ home, port: 0, authToken: 'test-token', log: silentLogger, exportSchedule: false });
  cfn = fakeCloudFormation({
    Prod: {
      outputs: {
        [STACK_OUTPUTS.apiUrl]: stack.httpUrl,
        [STACK_OUTPUTS.bucket]: stack.bucket,
        [STACK_OUTPUTS.accountsTable]: stack.tables.accounts,
        [STACK_OUTPUTS.codesTable]: stack.tables.codes,
        [STACK_OUTPUTS.callsTable]: stack.tables.calls,
        [STACK_OUTPUTS.importDeadLetterQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Prod-ImportDeadLetters',
      },
    },
    Empty: { outputs: {}, status: 'CREATE_IN_PROGRESS' },
  });
  aws = {
    cloudFormation: () => cfn,
    s3: (region) => {
      regions.push(region);
      return makeS3Client({ endpoint: stack.s3Endpoint });
    },
    dynamodb: (region) => {
      regions.push(region);
      return makeDynamoClient({ endpoint: stack.dynamodbEndpoint, requestTimeoutMs: 30_000 });
    },
  };
});

afterAll(async () => {
  await stack?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(nowhere, { recursive: true, force: true });
});

describe('tollgate --stack', () => {
  it("lists codes from the tables the stack's outputs name, in the stack's region", async () => {
    const r = await tollgate(['codes', 'list', '--stack', 'Prod']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0042');
    expect(r.stdout).toContain('Acme Corp - general counsel');
    expect(cfn.described.at(-1)).toBe('Prod');
    expect(new Set(regions)).toEqual(new Set(['eu-west-1']));
  });

  it('shows settings, naming the stack when the account is not there', async () => {
    const shown = await tollgate(['settings', 'show', '--stack', 'Prod', '--account', 'demo']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ account: 'demo' });
    const missing = await tollgate(['settings', 'show', '--stack', 'Prod', '--account', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('account "nope" does not exist in stack Prod (eu-west-1) (its accounts: demo)');
  });

  it('applies a change through the bucket and waits for its report', async () => {
    const r = await tollgate(['codes', 'add', '7777', '--description', 'Stack test matter', '--stack', 'Prod', '--account', 'demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`s3://${stack.bucket}/results/demo/`);
    const list = await tollgate(['codes', 'list', '--stack', 'Prod', '--account', 'demo']);
    expect(list.stdout).toContain('Stack test matter');
  });

  it('applies a settings file the same way', async () => {
    const file = join(home, 'acme.json');
    await writeFile(file, JSON.stringify({ account: 'acme', twilioAccountSids: ['AC0123456789abcdef0123456789abcdef'], homeCountry: 'US', timeZone: 'America/New_York' }));
    const r = await tollgate(['settings', 'apply', file, '--stack', 'Prod']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/applied/);
    expect((await tollgate(['settings', 'show', '--stack', 'Prod', '--account', 'acme'])).code).toBe(0);
  });

  it('says when the stack does not exist, or is not a finished Tollgate stack', async () => {
    const missing = await tollgate(['codes', 'list', '--stack', 'Nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('tollgate: --stack Nope: there is no such stack in eu-west-1; check the name, AWS_REGION and AWS_PROFILE\n');
    const empty = await tollgate(['codes', 'list', '--stack', 'Empty']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(
      /^tollgate: --stack Empty: the stack in eu-west-1 has no output ApiUrl, BucketName, AccountsTableName, CodesTableName, CallsTableName \(status CREATE_IN_PROGRESS\)/,
    );
  });

  it('refuses --local and --stack together', async () => {
    const r = await tollgate(['codes', 'list', '--local', '--stack', 'Prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tollgate: --local and --stack name different targets: give one of them\n');
  });

  it('wants the real auth token to place a simulated call against a stack', async () => {
    const r = await tollgate(['call', '--from', 'client:alice', '--to', '+14155550123', '--stack', 'Prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/set TWILIO_AUTH_TOKEN/);
  });
});
