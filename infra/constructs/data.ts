/**
 * What Tollgate keeps: the three DynamoDB tables, the bucket (imports, results, exports —
 * docs/data-model.md), its access-log bucket, and the two secrets. Everything here that holds data survives a
 * `cdk destroy` on purpose (RETAIN, deletion protection); the README says how to remove it.
 *
 * The tables' keys, index and TTL are not written here: they are read from
 * `functions/adapters/dynamodb/tables.ts`, the definitions the local stack and the tests create
 * their tables from, so the deployed tables cannot drift from the ones the code is tested on.
 */
import { Duration, RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, type Attribute, StreamViewType } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type LifecycleRule } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { tableDefinitions, type TableDefinition } from '../../functions/adapters/dynamodb/tables.ts';

/** The bucket's top-level folders (docs/data-model.md): one flow each, so every rule is a prefix rule. */
export const BUCKET_PREFIXES = { imports: 'imports/', results: 'results/', exports: 'exports/' } as const;

export interface DataProps {
  /**
   * Old versions of objects — the accounts' audit trail of settings and code files — expire
   * this many days after they were replaced or deleted.
   * @default 365
   */
  readonly noncurrentVersionDays?: number;
  /** Usage files under `exports/` expire this many days after they were written. @default kept */
  readonly exportsRetentionDays?: number;
  /** How long the bucket's access logs are kept, in days. @default 365 */
  readonly accessLogDays?: number;
}

export class Data extends Construct {
  readonly accounts: Table;
  readonly codes: Table;
  readonly calls: Table;
  /** imports/, results/, exports/ (docs/data-model.md). */
  readonly bucket: Bucket;
  /** Server access logs of {@link bucket}: who read or wrote which file. */
  readonly accessLogs: Bucket;
  /** `{ "AC…": { "account": "acme", "tokens": ["token", …] } }`: the Twilio auth tokens webhooks are verified with, and the account the operator binds each SID to. */
  readonly twilioTokens: Secret;
  /** The key authorization codes are hashed with (docs/data-model.md). */
  readonly pepper: Secret;

  constructor(scope: Construct, id: string, props: DataProps = {}) {
    super(scope, id);

    // Names are placeholders: CloudFormation names the tables; only the keys are taken.
    const defs = tableDefinitions({ accounts: 'accounts', codes: 'codes', calls: 'calls' });
    this.accounts = tableFrom(this, 'Accounts', defs.accounts);
    // Its stream carries each write of a code to the console's word indexer (docs/console.md).
    this.codes = tableFrom(this, 'Codes', defs.codes, StreamViewType.NEW_AND_OLD_IMAGES);
    // Its stream carries each write of a call to the event publisher (docs/events.md).
    this.calls = tableFrom(this, 'Calls', defs.calls, StreamViewType.NEW_AND_OLD_IMAGES);

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(props.accessLogDays ?? 365), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const lifecycleRules: LifecycleRule[] = [
      {
        id: 'expire-old-versions',
        noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 365),
        expiredObjectDeleteMarker: true,
        // A large upload that never finished (a lost laptop connection) costs storage until then.
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ];
    if (props.exportsRetentionDays !== undefined) {
      lifecycleRules.push({ id: 'expire-exports', prefix: BUCKET_PREFIXES.exports, expiration: Duration.days(props.exportsRetentionDays) });
    }
    this.bucket = new Bucket(this, 'Bucket', {
      // Every admin change is a new version: the version history is the audit trail (docs/call-flow.md).
      versioned: true,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'bucket/',
      lifecycleRules,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.twilioTokens = new Secret(this, 'TwilioAuthTokens', {
      description:
        'Tollgate: Twilio auth tokens and account by Account SID, { "AC…": { "account": "acme", "tokens": ["primary", "secondary"] } }; put the real value in after the first deploy',
      // An empty map, not a secret: the operator puts the tokens in (README). CloudFormation
      // leaves a value put in later alone as long as this template value does not change.
      secretStringValue: SecretValue.unsafePlainText('{}'),
      // Tokens live in Twilio too: a torn-down stack need not keep them.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.pepper = new Secret(this, 'CodePepper', {
      description: 'Tollgate: the key authorization codes are hashed with; without it every stored authorization code is lost',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      // Retained with the codes table it unlocks.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    Validations.of(this.twilioTokens).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Twilio issues auth tokens; Secrets Manager cannot rotate them. The secret holds a list per Account SID, so the operator rotates by adding the secondary token from the Twilio console, promoting it there, then removing the old one (README).',
    });
    Validations.of(this.pepper).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The pepper keys the stored hashes of authorization codes (docs/data-model.md); a new pepper would make every stored authorization code invalid. It never leaves the functions and is never logged.',
    });
  }
}

/** A CDK table with exactly the keys, indexes and TTL of a table definition, plus production settings. */
function tableFrom(scope: Construct, id: string, def: TableDefinition, stream?: StreamViewType): Table {
  const input = def.input;
  const attribute = (name: string | undefined): Attribute => {
    const type = input.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
    if (name === undefined || type === undefined) throw new Error(`table ${id}: key attribute ${String(name)} has no definition`);
    return { name, type: type === 'S' ? AttributeType.STRING : type === 'N' ? AttributeType.NUMBER : AttributeType.BINARY };
  };
  const keyOf = (schema: typeof input.KeySchema, type: 'HASH' | 'RANGE') => schema?.find((k) => k.KeyType === type)?.AttributeName;
  const sortKey = keyOf(input.KeySchema, 'RANGE');
  if (input.BillingMode !== 'PAY_PER_REQUEST') throw new Error(`table ${id}: the definitions are on-demand; ${String(input.BillingMode)} is not supported here`);
  const table = new Table(scope, id, {
    partitionKey: attribute(keyOf(input.KeySchema, 'HASH')),
    ...(sortKey === undefined ? {} : { sortKey: attribute(sortKey) }),
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    ...(def.ttlAttribute === undefined ? {} : { timeToLiveAttribute: def.ttlAttribute }),
    ...(stream === undefined ? {} : { stream }),
  });
  for (const gsi of input.GlobalSecondaryIndexes ?? []) {
    if (gsi.IndexName === undefined) throw new Error(`table ${id}: an index has no name`);
    const gsiSort = keyOf(gsi.KeySchema, 'RANGE');
    if (gsi.Projection?.ProjectionType !== 'ALL') throw new Error(`table ${id}: index ${gsi.IndexName} projects ${String(gsi.Projection?.ProjectionType)}; only ALL is mirrored`);
    table.addGlobalSecondaryIndex({
      indexName: gsi.IndexName,
      partitionKey: attribute(keyOf(gsi.KeySchema, 'HASH')),
      ...(gsiSort === undefined ? {} : { sortKey: attribute(gsiSort) }),
    });
  }
  return table;
}
