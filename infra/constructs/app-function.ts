/**
 * The one way a Tollgate function is made: Node.js 22 on arm64, an esbuild ESM bundle
 * (minified, with source maps), its own log group with retention, its own role that can write
 * to that log group and nothing else until a `use…` method adds a grant. Each `use…` method
 * sets the environment variable the handler's `config.ts` reads and grants exactly what that
 * resource is used for, together, so a function never holds a grant it has no name for, or a
 * name it has no grant for.
 */
import { dirname, join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogLevel, NodejsFunction, OutputFormat, type ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { v8Flags } from '../function-memory.ts';
import { LAMBDA_CREDENTIALS_ALIAS } from '../lambda-bundle.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Every function's runtime: the Node.js major the project is tested on (package.json engines). */
export const FUNCTION_RUNTIME = Runtime.NODEJS_22_X;
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64;

/**
 * CommonJS dependencies inside an ESM bundle still call `require` (twilio's webhooks module
 * requires 'crypto'); ESM has none, so the bundle makes one. The same banner the benchmarks
 * measure the bundles with (bench/voice.bench.ts).
 */
export const BUNDLE_BANNER = "import{createRequire}from'node:module';const require=createRequire(import.meta.url);";

/** Reads of a table (or of one of its indexes). No Scan: no handler scans. */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;
/** Writes of items. No transactions: the storage design needs none (docs/design.md). */
export const TABLE_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'] as const;
export const OBJECT_READ_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'] as const;
/** PutObject covers multipart uploads; aborting one (lib-storage does on failure) is separate. */
export const OBJECT_WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'] as const;
/** Deleting an object, and deleting one of its versions for good. */
export const OBJECT_DELETE_ACTIONS = ['s3:DeleteObject', 's3:DeleteObjectVersion'] as const;

/** `write`: puts and deletes only (a stream consumer that writes what it is given). */
export type TableAccess = 'none' | 'read' | 'write' | 'read-write';

export interface TableUse {
  /** Reads go to this index only (`dynamodb:Query` on it); the table itself is not readable. @default the table */
  readonly index?: string;
  /**
   * Writes only to items whose partition key matches one of these patterns
   * (`dynamodb:LeadingKeys`, e.g. `EXPORT#*`). @default any item
   */
  readonly writeLeadingKeys?: readonly string[];
}

export interface BucketUse {
  /** Key prefixes whose objects the function reads, e.g. `imports/`. @default none */
  readonly read?: readonly string[];
  /** Key prefixes under which the function writes objects, e.g. `results/`. @default none */
  readonly write?: readonly string[];
  /** Key prefixes under which the function deletes objects and object versions for good. @default none */
  readonly delete?: readonly string[];
  /** Key prefixes the function lists (`s3:ListBucket` with an `s3:prefix` condition). @default none */
  readonly list?: readonly string[];
}

/** The stack-wide function options a construct passes on: log retention and tracing, when set. */
export function functionOptions(props: {
  readonly logRetention?: RetentionDays | undefined;
  readonly tracing?: boolean | undefined;
}): Pick<AppFunctionProps, 'logRetention' | 'tracing'> {
  return {
    ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
  };
}

export interface AppFunctionProps {
  /** The handler module under `functions/handlers/`, e.g. `voice.ts`; it exports `handler`. */
  readonly handlerFile: string;
  /** What the function does, for the console. */
  readonly description: string;
  /** @default 1024 MB (CPU scales with memory: a faster cold start for the voice function) */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** How long the function's logs are kept. @default one month */
  readonly logRetention?: RetentionDays;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /** `LOG_LEVEL` of the handler's logger. @default "info" */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * For asynchronous invocations (a schedule): where an event goes after the last retry,
   * with the request and the error. @default dropped after the retries
   */
  readonly asyncFailureQueue?: IQueue;
  /** Retries of a failed asynchronous invocation. @default 2 (Lambda's) */
  readonly asyncRetryAttempts?: number;
  /** How old an asynchronous event may get before it is dropped. @default 6 hours (Lambda's) */
  readonly asyncMaxEventAge?: Duration;
  /**
   * Files the handler reads at run time, copied into the bundle after esbuild: `from` relative
   * to the repository, `to` relative to the bundle (the handler's own folder). @default none
   */
  readonly bundleFiles?: readonly { readonly from: string; readonly to: string }[];
  /**
   * AWS SDK packages left out of the bundle and taken from the Lambda runtime's own SDK, for
   * clients the handler imports only when it first needs them (the voice function's SNS
   * client, on its first alert): code that is not in the file is not compiled at every cold
   * start. Only packages the `nodejs22.x` runtime ships. @default none: the SDK is bundled
   */
  readonly runtimeSdkModules?: readonly `@aws-sdk/${string}`[];
  /** V8's young generation (`--max-semi-space-size`, MB; function-memory.ts). @default V8's for the memory */
  readonly semiSpaceMb?: number;
  /**
   * Bundle the credentials Lambda gives in the environment instead of the SDK's default chain
   * (`infra/lambda-bundle.ts`): its SSO, web-identity, INI-file and process providers, and the
   * STS and SSO clients behind them, are never used in a function and are compiled at every
   * cold start. @default false: the SDK's chain
   */
  readonly lambdaCredentials?: boolean;
}

/** A Tollgate Lambda function; see the file comment. */
export class AppFunction extends NodejsFunction {
  /** The function's own log group (also `logGroup`). */
  readonly logs: LogGroup;
  private readonly names = new Map<string, string>();

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const logs = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Kept after a teardown, for whoever looks into what happened; empty once they expire.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An own role instead of the AWSLambdaBasicExecutionRole managed policy: it may write to
    // its own log group, not to every log group of the account.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (Tollgate)`,
    });
    logs.grantWrite(role);
    super(scope, id, {
      entry: join(ROOT, 'functions', 'handlers', props.handlerFile),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      logGroup: logs,
      tracing: props.tracing === true ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        LOG_LEVEL: props.logLevel ?? 'info',
        // Stack traces point at the TypeScript sources through the bundle's source map; the heap
        // limit is V8's own for this much memory, said outright (function-memory.ts).
        NODE_OPTIONS: ['--enable-source-maps', ...v8Flags(props.memorySize ?? 1024, props.semiSpaceMb)].join(' '),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // The map names lines; the sources themselves need not ship with the function.
        sourcesContent: false,
        // ESM builds of the dependencies first: the AWS SDK's dist-es tree-shakes, dist-cjs does not.
        mainFields: ['module', 'main'],
        banner: BUNDLE_BANNER,
        // The SDK goes into the bundle: pinned by package-lock.json rather than by whatever the
        // runtime ships, and it imported faster than the runtime's copy (bench/results/voice.json).
        bundleAwsSDK: true,
        ...(props.runtimeSdkModules === undefined ? {} : { externalModules: [...props.runtimeSdkModules] }),
        ...(props.lambdaCredentials === true ? { esbuildArgs: { '--alias': Object.entries(LAMBDA_CREDENTIALS_ALIAS).map(([from, to]) => `${from}=${to}`) } } : {}),
        logLevel: LogLevel.WARNING,
        ...(props.bundleFiles === undefined ? {} : { commandHooks: copyAfterBundling(props.bundleFiles) }),
      },
      ...(props.asyncFailureQueue === undefined ? {} : { onFailure: new SqsDestination(props.asyncFailureQueue) }),
      ...(props.asyncRetryAttempts === undefined ? {} : { retryAttempts: props.asyncRetryAttempts }),
      ...(props.asyncMaxEventAge === undefined ? {} : { maxEventAge: props.asyncMaxEventAge }),
    });
    this.logs = logs;
    if (props.tracing === true) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "Tracing is on: X-Ray's xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so they take *. Nothing else does.",
      });
    }
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the version the handlers are tested and benchmarked on (package.json engines, .ci/run); nodejs22.x is supported by Lambda until 2027-04-30. Move FUNCTION_RUNTIME and the bundle target to 24 together with CI.',
    });
  }

  /**
   * Name a table in `envName` and allow `access` to it. `'none'` names it without any grant
   * (config.ts asks every handler for all three table names).
   */
  useTable(envName: string, table: ITable, access: TableAccess, use: TableUse = {}): void {
    this.setName(envName, table.tableName);
    if (access === 'none') return;
    if (access !== 'write') {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: use.index === undefined ? [...TABLE_READ_ACTIONS] : ['dynamodb:Query'],
          resources: [use.index === undefined ? table.tableArn : `${table.tableArn}/index/${use.index}`],
        }),
      );
    }
    if (access === 'read') return;
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [...TABLE_WRITE_ACTIONS],
        resources: [table.tableArn],
        ...(use.writeLeadingKeys === undefined ? {} : { conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...use.writeLeadingKeys] } } }),
      }),
    );
  }

  /** Name the bucket in `envName` and allow reading and writing objects under the given prefixes only. */
  useBucket(envName: string, bucket: IBucket, use: BucketUse): void {
    this.setName(envName, bucket.bucketName);
    const objects = (prefixes: readonly string[]) => prefixes.map((p) => bucket.arnForObjects(`${checkPrefix(p)}*`));
    if (use.read !== undefined && use.read.length > 0) {
      this.addToRolePolicy(new PolicyStatement({ actions: [...OBJECT_READ_ACTIONS], resources: objects(use.read) }));
    }
    if (use.write !== undefined && use.write.length > 0) {
      this.addToRolePolicy(new PolicyStatement({ actions: [...OBJECT_WRITE_ACTIONS], resources: objects(use.write) }));
    }
    if (use.delete !== undefined && use.delete.length > 0) {
      this.addToRolePolicy(new PolicyStatement({ actions: [...OBJECT_DELETE_ACTIONS], resources: objects(use.delete) }));
    }
    if (use.list !== undefined && use.list.length > 0) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': use.list.map((p) => `${checkPrefix(p)}*`) } },
        }),
      );
    }
  }

  /** Name a secret's ARN in `envName` and allow reading its value. */
  useSecret(envName: string, secret: ISecret): void {
    this.setName(envName, secret.secretArn);
    this.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
  }

  /** Name a topic's ARN in `envName` and allow publishing to it (and using its key to encrypt). */
  useTopic(envName: string, topic: ITopic, key?: IKey): void {
    this.setName(envName, topic.topicArn);
    this.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
    if (key !== undefined) {
      this.addToRolePolicy(new PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }));
    }
  }

  /** A plain setting (no grant), e.g. the public URL. */
  useSetting(envName: string, value: string): void {
    this.setName(envName, value);
  }

  private setName(envName: string, value: string): void {
    const previous = this.names.get(envName);
    if (previous !== undefined && previous !== value) throw new Error(`${this.node.path}: ${envName} is set twice, to different values`);
    this.names.set(envName, value);
    this.addEnvironment(envName, value);
  }
}

/** esbuild's hooks that copy run-time files into the bundle (`cp`, run where the bundling runs). */
function copyAfterBundling(files: readonly { readonly from: string; readonly to: string }[]): ICommandHooks {
  const quote = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir, outputDir) =>
      files.flatMap(({ from, to }) => {
        const target = join(outputDir, to);
        return [`mkdir -p ${quote(dirname(target))}`, `cp -R ${quote(join(inputDir, from))} ${quote(target)}`];
      }),
  };
}

function checkPrefix(prefix: string): string {
  if (!/^[a-z0-9-]+\/([a-z0-9-]+\/)*$/.test(prefix)) throw new Error(`bucket prefix "${prefix}" must be folder names ending in "/"`);
  return prefix;
}
