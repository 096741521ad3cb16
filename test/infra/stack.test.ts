/**
 * The AWS stack's template, by property: what runs where, what is kept, what is alarmed, and
 * what each function may do. One synthesis (bundling skipped) serves the whole file.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableDefinitions } from '../../functions/adapters/dynamodb/tables.ts';
import { EXPORT_LEDGER_KEYS } from '../../infra/constructs/usage-export.ts';
import { VOICE_PATHS } from '../../functions/routes.ts';
import { BULK_FUNCTION_MEMORY_MB, EXPORT_SEMI_SPACE_MB, heapLimitMb } from '../../infra/function-memory.ts';
import { STACK_OUTPUTS } from '../../infra/outputs.ts';
import { allows, flatten, isReadOnlyAction, logicalId, roleStatements, synth, TEST_EMERGENCY_CALLER_ID, type Statement, type Synth } from './support/synth.ts';

let s: Synth;
let ids: {
  voice: string;
  import: string;
  export: string;
  console: string;
  bucket: string;
  accounts: string;
  codes: string;
  calls: string;
  topic: string;
  importQueue: string;
  importDlq: string;
  scheduleDlq: string;
  exportFailures: string;
};
let roles: { voice: Statement[]; import: Statement[]; export: Statement[]; console: Statement[] };

beforeAll(() => {
  s = synth();
  const st = s.stack;
  ids = {
    voice: logicalId(st.voice.fn),
    import: logicalId(st.codeImport.fn),
    export: logicalId(st.usageExport.fn),
    console: logicalId(st.console.fn),
    bucket: logicalId(st.data.bucket),
    accounts: logicalId(st.data.accounts),
    codes: logicalId(st.data.codes),
    calls: logicalId(st.data.calls),
    topic: logicalId(st.alerts.topic),
    importQueue: logicalId(st.codeImport.queue),
    importDlq: logicalId(st.codeImport.deadLetterQueue),
    scheduleDlq: logicalId(st.usageExport.scheduleDeadLetterQueue),
    exportFailures: logicalId(st.usageExport.failureQueue),
  };
  roles = {
    voice: roleStatements(s.json, logicalId(st.voice.fn.role!)),
    import: roleStatements(s.json, logicalId(st.codeImport.fn.role!)),
    export: roleStatements(s.json, logicalId(st.usageExport.fn.role!)),
    console: roleStatements(s.json, logicalId(st.console.fn.role!)),
  };
});

const arn = (id: string) => `<${id}.Arn>`;
const object = (key: string) => `${arn(ids.bucket)}/${key}`;
const functionProps = (id: string) => s.json.Resources[id]?.Properties ?? {};
const env = (id: string) => (functionProps(id).Environment as { Variables: Record<string, unknown> }).Variables;

describe('the functions', () => {
  it('run Node.js 22 on arm64, every one of them', () => {
    for (const id of [ids.voice, ids.import, ids.export, ids.console]) {
      expect(functionProps(id)).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    }
    // Any other function is CDK's deploy-time bucket-notifications helper, not ours.
    const ours = [ids.voice, ids.import, ids.export, ids.console, logicalId(s.stack.events.publisher), logicalId(s.stack.events.deliverer), logicalId(s.stack.console.indexer)];
    for (const id of ours.slice(4)) expect(functionProps(id)).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    const others = Object.entries(s.json.Resources).filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && !ours.includes(id));
    expect(others.map(([id]) => id).every((id) => id.startsWith('BucketNotificationsHandler'))).toBe(true);
  });

  it('each log to a log group of their own that expires', () => {
    for (const id of [ids.voice, ids.import, ids.export, ids.console]) {
      const logGroup = flatten((functionProps(id).LoggingConfig as { LogGroup: unknown }).LogGroup);
      const groupId = /^<(.+)>$/.exec(logGroup)?.[1] ?? '';
      expect(s.json.Resources[groupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    }
  });

  it('each run with a heap limit of a quarter of their memory, the limit the benchmarks measure the importer and exporter with', () => {
    const ours = [ids.voice, ids.import, ids.export, ids.console, logicalId(s.stack.events.publisher), logicalId(s.stack.events.deliverer), logicalId(s.stack.console.indexer)];
    for (const id of ours) {
      const memory = functionProps(id).MemorySize as number;
      const young = id === ids.export ? ` --max-semi-space-size=${EXPORT_SEMI_SPACE_MB}` : '';
      expect(env(id).NODE_OPTIONS).toBe(`--enable-source-maps --max-old-space-size=${memory / 4}${young}`);
    }
    expect(functionProps(ids.import).MemorySize).toBe(BULK_FUNCTION_MEMORY_MB);
    expect(functionProps(ids.export).MemorySize).toBe(BULK_FUNCTION_MEMORY_MB);
    expect(heapLimitMb(BULK_FUNCTION_MEMORY_MB)).toBe(256);
  });

  it("give the voice function time below Twilio's 15 s and the import and export 15 minutes", () => {
    expect(functionProps(ids.voice).Timeout).toBe(10);
    expect(functionProps(ids.import).Timeout).toBe(900);
    expect(functionProps(ids.export).Timeout).toBe(900);
  });

  it("set exactly the variables each handler's config reads", () => {
    const keys = (id: string) =>
      Object.keys(env(id))
        .filter((k) => k.startsWith('TOLLGATE_'))
        .sort();
    expect(keys(ids.voice)).toEqual([
      'TOLLGATE_ACCOUNTS_TABLE',
      'TOLLGATE_ALERTS_TOPIC_ARN',
      'TOLLGATE_CALLS_TABLE',
      'TOLLGATE_CODES_TABLE',
      'TOLLGATE_EMERGENCY_CALLER_ID',
      'TOLLGATE_PEPPER_SECRET_ARN',
      'TOLLGATE_TWILIO_SECRET_ARN',
    ]);
    expect(env(ids.voice).TOLLGATE_EMERGENCY_CALLER_ID).toBe(TEST_EMERGENCY_CALLER_ID);
    expect(keys(ids.import)).toEqual([
      'TOLLGATE_ACCOUNTS_TABLE',
      'TOLLGATE_BUCKET',
      'TOLLGATE_CALLS_TABLE',
      'TOLLGATE_CODES_TABLE',
      'TOLLGATE_IMPORT_QUEUE_URL',
      'TOLLGATE_PEPPER_SECRET_ARN',
      'TOLLGATE_TWILIO_SECRET_ARN',
    ]);
    expect(keys(ids.export)).toEqual(['TOLLGATE_ACCOUNTS_TABLE', 'TOLLGATE_BUCKET', 'TOLLGATE_CALLS_TABLE', 'TOLLGATE_CODES_TABLE', 'TOLLGATE_EXPORT_QUEUE_URL']);
    expect(flatten(env(ids.voice).TOLLGATE_CALLS_TABLE)).toBe(`<${ids.calls}>`);
    expect(flatten(env(ids.import).TOLLGATE_BUCKET)).toBe(`<${ids.bucket}>`);
    // The voice function takes its public URL from the request's Host unless a custom domain is set.
    expect(env(ids.voice).TOLLGATE_PUBLIC_URL).toBeUndefined();
  });
});

describe('the tables', () => {
  const defs = tableDefinitions({ accounts: 'accounts', codes: 'codes', calls: 'calls' });
  const sortByName = <T extends { AttributeName?: string | undefined }>(xs: readonly T[] | undefined) =>
    [...(xs ?? [])].sort((a, b) => String(a.AttributeName).localeCompare(String(b.AttributeName)));

  it.each(['accounts', 'codes', 'calls'] as const)('%s has the keys, indexes and TTL of tables.ts', (name) => {
    const def = defs[name];
    const props = s.json.Resources[ids[name]]?.Properties ?? {};
    expect(props.KeySchema).toEqual(def.input.KeySchema);
    expect(sortByName(props.AttributeDefinitions as { AttributeName: string }[])).toEqual(sortByName(def.input.AttributeDefinitions));
    expect(props.BillingMode).toBe(def.input.BillingMode);
    const gsis = (props.GlobalSecondaryIndexes ?? []) as unknown[];
    expect(gsis).toEqual((def.input.GlobalSecondaryIndexes ?? []).map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection })));
    if (def.ttlAttribute === undefined) expect(props.TimeToLiveSpecification).toBeUndefined();
    else expect(props.TimeToLiveSpecification).toEqual({ AttributeName: def.ttlAttribute, Enabled: true });
  });

  it.each(['accounts', 'codes', 'calls'] as const)('%s has point-in-time recovery and deletion protection, and is retained', (name) => {
    const table = s.json.Resources[ids[name]];
    expect(table?.Properties).toMatchObject({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table?.DeletionPolicy).toBe('Retain');
  });
});

describe('the bucket', () => {
  it('is versioned, encrypted, closed to the public, retained and logged', () => {
    const bucket = s.json.Resources[ids.bucket];
    expect(bucket?.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { LogFilePrefix: 'bucket/' },
    });
    expect(bucket?.DeletionPolicy).toBe('Retain');
  });

  it('refuses requests without TLS', () => {
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('expires old versions after a year and keeps exports unless told', () => {
    const rules = (s.json.Resources[ids.bucket]?.Properties?.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toContainEqual(expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 365 }, Status: 'Enabled' }));
    expect(rules.some((r) => r.Prefix === 'exports/')).toBe(false);
    const retained = synth({ exportsRetentionDays: 400 });
    const retainedRules = (retained.json.Resources[logicalId(retained.stack.data.bucket)]?.Properties?.LifecycleConfiguration as { Rules: unknown[] }).Rules;
    expect(retainedRules).toContainEqual(expect.objectContaining({ Prefix: 'exports/', ExpirationInDays: 400, Status: 'Enabled' }));
  });

  it('announces objects created under imports/ — and nothing else — to the import queue', () => {
    const notifications = Object.values(s.json.Resources).filter((r) => r.Type === 'Custom::S3BucketNotifications');
    expect(notifications).toHaveLength(1);
    const config = notifications[0]?.Properties?.NotificationConfiguration as Record<string, unknown>;
    expect(config.LambdaFunctionConfigurations ?? []).toEqual([]);
    expect(config.TopicConfigurations ?? []).toEqual([]);
    expect(config.QueueConfigurations).toEqual([
      {
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'imports/' }] } },
        QueueArn: { 'Fn::GetAtt': [ids.importQueue, 'Arn'] },
      },
    ]);
    expect(flatten(notifications[0]?.Properties?.BucketName)).toBe(`<${ids.bucket}>`);
  });
});

describe('the queues and the schedule', () => {
  it('dead-letter an import notification after three receives, and encrypt both queues', () => {
    expect(s.json.Resources[ids.importQueue]?.Properties).toMatchObject({
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [ids.importDlq, 'Arn'] }, maxReceiveCount: 3 },
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 5400,
    });
    expect(s.json.Resources[ids.importDlq]?.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });

  it('feed the import function one file at a time, with partial batch failures', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: ids.import },
      EventSourceArn: { 'Fn::GetAtt': [ids.importQueue, 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('run the export every hour, with retries and a dead-letter queue', () => {
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [ids.export, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ids.scheduleDlq, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      }),
    });
  });

  it("keep an export run that failed after Lambda's retries", () => {
    s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ids.export },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ids.exportFailures, 'Arn'] } } },
    });
  });
});

describe('the voice API', () => {
  it('routes every /voice/* path Twilio calls to the voice function, the rest of /voice/ too, and GET /health; the console beside them', () => {
    const routes = Object.values(s.json.Resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => r.Properties?.RouteKey)
      .sort();
    const consoleRoutes = ['GET /', 'GET /console', 'GET /console/{proxy+}', 'ANY /api/{proxy+}'];
    expect(routes).toEqual([...VOICE_PATHS.map((p) => `POST ${p}`), 'ANY /voice/{proxy+}', 'GET /health', ...consoleRoutes].sort());
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [ids.console, 'Arn'] },
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [ids.voice, 'Arn'] },
    });
  });

  it('throttles each route and writes access logs without bodies', () => {
    const stage = Object.values(s.json.Resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    expect(stage?.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
    const format = (stage?.Properties?.AccessLogSettings as { Format: string }).Format;
    expect(JSON.parse(format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status', route: '$context.routeKey' });
    expect(format).not.toMatch(/body|querystring/i);
  });

  it('gives Twilio its URLs as outputs, and the CLI the bucket and tables', () => {
    const outputs = s.json.Outputs ?? {};
    const value = (key: string) => flatten(outputs[key]?.Value);
    expect(value(STACK_OUTPUTS.voiceUrl)).toBe(`<${logicalId(s.stack.voice.api)}.ApiEndpoint>/voice/incoming`);
    expect(value(STACK_OUTPUTS.apiUrl)).toBe(`<${logicalId(s.stack.voice.api)}.ApiEndpoint>`);
    expect(value(STACK_OUTPUTS.statusCallbackUrl)).toMatch(/\/voice\/status$/);
    expect(value(STACK_OUTPUTS.fallbackUrl)).toMatch(/\/voice\/fallback$/);
    expect(value(STACK_OUTPUTS.bucket)).toBe(`<${ids.bucket}>`);
    expect(value(STACK_OUTPUTS.accountsTable)).toBe(`<${ids.accounts}>`);
    expect(value(STACK_OUTPUTS.codesTable)).toBe(`<${ids.codes}>`);
    expect(value(STACK_OUTPUTS.callsTable)).toBe(`<${ids.calls}>`);
    expect(value(STACK_OUTPUTS.twilioSecretArn)).toBe(`<${logicalId(s.stack.data.twilioTokens)}>`);
  });

  it('on a custom domain, tells the function its public URL and closes the execute-api URL', () => {
    const custom = synth({ customDomain: { domainName: 'voice.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123' } });
    const voiceEnv = (custom.json.Resources[logicalId(custom.stack.voice.fn)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(voiceEnv.TOLLGATE_PUBLIC_URL).toBe('https://voice.example.com');
    custom.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    custom.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'voice.example.com' });
    custom.template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', { Stage: '$default' });
    expect(flatten(custom.json.Outputs?.[STACK_OUTPUTS.voiceUrl]?.Value)).toBe('https://voice.example.com/voice/incoming');
  });
});

describe('the secrets and the alerts topic', () => {
  it('keeps the pepper on teardown and generates it; the token map starts empty', () => {
    const pepper = s.json.Resources[logicalId(s.stack.data.pepper)];
    expect(pepper?.DeletionPolicy).toBe('Retain');
    expect(pepper?.Properties).toMatchObject({ GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } });
    expect(s.json.Resources[logicalId(s.stack.data.twilioTokens)]?.Properties).toMatchObject({ SecretString: '{}' });
  });

  it("encrypts the topic with a rotated key, lets the account's alarms publish to it, and subscribes an address only when given", () => {
    const key = logicalId(s.stack.alerts.key);
    expect(s.json.Resources[ids.topic]?.Properties).toMatchObject({ KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    expect(s.json.Resources[key]?.Properties).toMatchObject({ EnableKeyRotation: true });
    s.template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]) },
    });
    // enforceSSL's topic policy replaces SNS's default one: the account's alarms are let back in, TLS only.
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: ids.topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
    s.template.resourceCountIs('AWS::SNS::Subscription', 0);
    const subscribed = synth({ alertEmail: 'ops@example.com' });
    subscribed.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});

describe('the alarms', () => {
  const alarmsOn = (metric: string, dimension: string, id: string) =>
    Object.values(s.json.Resources).filter((r) => {
      if (r.Type !== 'AWS::CloudWatch::Alarm' || r.Properties?.MetricName !== metric) return false;
      const dims = (r.Properties.Dimensions ?? []) as { Name: string; Value: unknown }[];
      return dims.some((d) => d.Name === dimension && new RegExp(`^<${id}(\\.\\w+)?>$`).test(flatten(d.Value)));
    });
  const only = (metric: string, dimension: string, id: string) => {
    const found = alarmsOn(metric, dimension, id);
    expect(found, `${metric} alarm on ${id}`).toHaveLength(1);
    return found[0]?.Properties ?? {};
  };

  it('go off on any voice function error', () => {
    expect(only('Errors', 'FunctionName', ids.voice)).toMatchObject({
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it("go off when the voice function's p99 duration passes 3 s", () => {
    expect(only('Duration', 'FunctionName', ids.voice)).toMatchObject({
      Namespace: 'AWS/Lambda',
      ExtendedStatistic: 'p99',
      Period: 300,
      Threshold: 3000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
  });

  it('go off on any throttled invocation of any function', () => {
    for (const id of [ids.voice, ids.import, ids.export]) {
      expect(only('Throttles', 'FunctionName', id)).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 1 });
    }
  });

  it('go off when any dead-letter queue holds a message', () => {
    for (const id of [ids.importDlq, ids.scheduleDlq, ids.exportFailures]) {
      const props = alarmsOn('ApproximateNumberOfMessagesVisible', 'QueueName', id);
      expect(props, `dead-letter alarm on ${id}`).toHaveLength(1);
      expect(props[0]?.Properties).toMatchObject({ Namespace: 'AWS/SQS', Statistic: 'Maximum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    }
  });

  it('go off when the export fails and when the API answers 5xx', () => {
    expect(only('Errors', 'FunctionName', ids.export)).toMatchObject({ Threshold: 1 });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/ApiGateway', MetricName: '5xx', Threshold: 1 });
  });

  it('all tell the alerts topic, when they go off and when they clear', () => {
    const alarms = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect((alarm.Properties?.AlarmActions as unknown[]).map(flatten)).toEqual([`<${ids.topic}>`]);
      expect((alarm.Properties?.OKActions as unknown[]).map(flatten)).toEqual([`<${ids.topic}>`]);
    }
  });
});

describe('what each function may do', () => {
  const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
  const reads = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];

  it('grants no write action on a * resource, to any function', () => {
    for (const statements of Object.values(roles)) {
      for (const st of statements) {
        if (st.resources.some((r) => r === '*')) expect(st.actions.filter((a) => !isReadOnlyAction(a))).toEqual([]);
        // Nor an action wildcard.
        expect(st.actions.filter((a) => a.includes('*'))).toEqual([]);
      }
    }
  });

  it('lets each function write only its own log group', () => {
    for (const [name, statements] of Object.entries(roles)) {
      const logs = statements.filter((st) => st.actions.some((a) => a.startsWith('logs:')));
      const fns = { voice: s.stack.voice.fn, import: s.stack.codeImport.fn, export: s.stack.usageExport.fn, console: s.stack.console.fn } as const;
      const group = fns[name as keyof typeof fns].logs;
      expect(logs.flatMap((st) => st.resources)).toEqual([arn(logicalId(group))]);
    }
  });

  it('voice: reads accounts and codes, reads and writes calls, reads the secrets, publishes alerts', () => {
    const v = roles.voice;
    for (const action of reads) {
      expect(allows(v, action, arn(ids.accounts))).toBe(true);
      expect(allows(v, action, arn(ids.codes))).toBe(true);
      expect(allows(v, action, arn(ids.calls))).toBe(true);
    }
    for (const action of writes) {
      expect(allows(v, action, arn(ids.calls))).toBe(true);
      expect(allows(v, action, arn(ids.accounts)), action).toBe(false);
      expect(allows(v, action, arn(ids.codes)), action).toBe(false);
    }
    expect(allows(v, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.data.pepper)}>`)).toBe(true);
    expect(allows(v, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.data.twilioTokens)}>`)).toBe(true);
    expect(allows(v, 'secretsmanager:PutSecretValue', `<${logicalId(s.stack.data.twilioTokens)}>`)).toBe(false);
    expect(allows(v, 'sns:Publish', `<${ids.topic}>`)).toBe(true);
  });

  it('voice: cannot touch the bucket at all', () => {
    for (const key of ['imports/acme/settings.json', 'results/acme/x.json', 'exports/acme/usage/2026/11/usage-2026-11-20.csv']) {
      for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject']) expect(allows(roles.voice, action, object(key)), `${action} ${key}`).toBe(false);
    }
    expect(roles.voice.flatMap((st) => st.resources).filter((r) => r.includes(ids.bucket))).toEqual([]);
  });

  it('import: reads imports/, writes results/, redacts in imports/, reads and writes accounts and codes, reads the pepper and the SID bindings — and no more', () => {
    const i = roles.import;
    expect(allows(i, 's3:GetObject', object('imports/acme/codes/march.csv'))).toBe(true);
    expect(allows(i, 's3:GetObjectVersion', object('imports/acme/codes/march.csv'))).toBe(true);
    expect(allows(i, 's3:PutObject', object('results/acme/march.csv.20261121T000000Z.json'))).toBe(true);
    // A codes file with authorization digits is replaced by its redacted copy and the version
    // that held them deleted for good; a rejected codes file is deleted.
    expect(allows(i, 's3:PutObject', object('imports/acme/codes/march.csv'))).toBe(true);
    expect(allows(i, 's3:DeleteObjectVersion', object('imports/acme/codes/march.csv'))).toBe(true);
    expect(allows(i, 's3:DeleteObject', object('imports/acme/codes/march.csv'))).toBe(true);
    expect(allows(i, 's3:DeleteObjectVersion', object('results/acme/march.csv.20261121T000000Z.json'))).toBe(false);
    expect(allows(i, 's3:DeleteObjectVersion', object('exports/acme/usage/x.csv'))).toBe(false);
    expect(allows(i, 's3:PutObject', object('exports/acme/usage/x.csv'))).toBe(false);
    expect(allows(i, 's3:GetObject', object('exports/acme/usage/x.csv'))).toBe(false);
    for (const action of [...reads, ...writes]) {
      expect(allows(i, action, arn(ids.accounts))).toBe(true);
      expect(allows(i, action, arn(ids.codes))).toBe(true);
      expect(allows(i, action, arn(ids.calls)), action).toBe(false);
    }
    expect(allows(i, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.data.pepper)}>`)).toBe(true);
    // The operator binds SIDs to accounts in the Twilio token secret: a settings import checks them there.
    expect(allows(i, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.data.twilioTokens)}>`)).toBe(true);
    expect(allows(i, 'secretsmanager:PutSecretValue', `<${logicalId(s.stack.data.twilioTokens)}>`)).toBe(false);
    expect(allows(i, 'sqs:DeleteMessage', arn(ids.importQueue))).toBe(true);
    // A paused import sends its notification again, to its own queue only.
    expect(allows(i, 'sqs:SendMessage', arn(ids.importQueue))).toBe(true);
    expect(allows(i, 'sqs:SendMessage', arn(ids.importDlq))).toBe(false);
    expect(flatten(env(ids.import).TOLLGATE_IMPORT_QUEUE_URL)).toBe(`<${ids.importQueue}>`);
  });

  it('export: queries the calls index, reads accounts, writes only its own ledger items and exports/ — and cannot write codes', () => {
    const e = roles.export;
    // A run out of time invokes itself again through its continuation queue, which dead-letters into the failed runs.
    const continuations = logicalId(s.stack.usageExport.continuations);
    expect(allows(e, 'sqs:SendMessage', arn(continuations))).toBe(true);
    expect(allows(e, 'sqs:ReceiveMessage', arn(continuations))).toBe(true);
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: ids.export },
      EventSourceArn: { 'Fn::GetAtt': [continuations, 'Arn'] },
      BatchSize: 1,
    });
    expect(s.json.Resources[continuations]?.Properties).toMatchObject({ VisibilityTimeout: 5400, RedrivePolicy: { maxReceiveCount: 2 } });
    expect(allows(e, 'dynamodb:Query', `${arn(ids.calls)}/index/byDay`)).toBe(true);
    expect(allows(e, 'dynamodb:GetItem', arn(ids.calls))).toBe(false);
    expect(allows(e, 'dynamodb:PutItem', arn(ids.calls))).toBe(false);
    expect(allows(e, 'dynamodb:Query', arn(ids.accounts))).toBe(true);
    for (const action of writes) {
      expect(allows(e, action, arn(ids.accounts), { 'dynamodb:LeadingKeys': ['EXPORT#acme'] }), action).toBe(true);
      expect(allows(e, action, arn(ids.accounts), { 'dynamodb:LeadingKeys': ['ACCOUNT#acme'] }), action).toBe(false);
      expect(allows(e, action, arn(ids.accounts), { 'dynamodb:LeadingKeys': ['EXPORT#acme', 'SID#AC1'] }), action).toBe(false);
      for (const key of [[], ['acme#0']]) expect(allows(e, action, arn(ids.codes), { 'dynamodb:LeadingKeys': key }), action).toBe(false);
    }
    for (const action of reads) expect(allows(e, action, arn(ids.codes)), action).toBe(false);
    expect(e.flatMap((st) => st.resources).filter((r) => r.includes(ids.codes))).toEqual([]);
    expect(EXPORT_LEDGER_KEYS).toEqual(['EXPORT#*']);
    expect(allows(e, 's3:PutObject', object('exports/acme/usage/2026/11/usage-2026-11-20.csv'))).toBe(true);
    expect(allows(e, 's3:PutObject', object('results/acme/x.json'))).toBe(false);
    expect(allows(e, 's3:PutObject', object('imports/acme/settings.json'))).toBe(false);
    expect(allows(e, 's3:GetObject', object('exports/acme/usage/2026/11/usage-2026-11-20.csv'))).toBe(false);
    expect(allows(e, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.data.pepper)}>`)).toBe(false);
  });

  it('console: reads the tables, writes calls and its ledger mark, writes change files it cannot read back, reads reports and exports — and no secret', () => {
    const c = roles.console;
    for (const action of reads) for (const table of [ids.accounts, ids.codes, ids.calls]) expect(allows(c, action, arn(table)), action).toBe(true);
    expect(allows(c, 'dynamodb:Query', `${arn(ids.calls)}/index/byDay`)).toBe(true);
    for (const action of writes) {
      expect(allows(c, action, arn(ids.calls)), action).toBe(true);
      expect(allows(c, action, arn(ids.codes)), action).toBe(false);
      expect(allows(c, action, arn(ids.accounts), { 'dynamodb:LeadingKeys': ['EXPORT#acme'] }), action).toBe(true);
      expect(allows(c, action, arn(ids.accounts), { 'dynamodb:LeadingKeys': ['ACCOUNT#acme'] }), action).toBe(false);
    }
    expect(allows(c, 's3:PutObject', object('imports/acme/codes/console-add-1.csv'))).toBe(true);
    // Authorization digits rest in imports/ until the import redacts them: the console never reads there.
    expect(allows(c, 's3:GetObject', object('imports/acme/codes/console-add-1.csv'))).toBe(false);
    expect(allows(c, 's3:GetObject', object('results/acme/x.json'))).toBe(true);
    expect(allows(c, 's3:PutObject', object('results/acme/x.json'))).toBe(false);
    expect(allows(c, 's3:GetObject', object('exports/acme/usage/2026/11/usage-2026-11-20.csv'))).toBe(true);
    expect(allows(c, 's3:PutObject', object('exports/acme/codes/codes-acme-1.csv'))).toBe(true);
    expect(allows(c, 's3:DeleteObject', object('imports/acme/codes/x.csv'))).toBe(false);
    expect(allows(c, 's3:ListBucket', arn(ids.bucket), { 's3:prefix': 'results/acme/' })).toBe(true);
    expect(allows(c, 's3:ListBucket', arn(ids.bucket), { 's3:prefix': 'imports/acme/' })).toBe(false);
    expect(allows(c, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.data.pepper)}>`)).toBe(false);
    expect(allows(c, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.data.twilioTokens)}>`)).toBe(false);
  });

  it('call events: the calls stream feeds the publisher, which may only put events on the bus and queue deliveries; the deliverer reads only the webhook secrets', () => {
    s.template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
    s.template.resourceCountIs('AWS::Events::EventBus', 1);
    const publisher = roleStatements(s.json, logicalId(s.stack.events.publisher.role!));
    const bus = `<${logicalId(s.stack.events.bus)}.Arn>`;
    expect(allows(publisher, 'events:PutEvents', bus)).toBe(true);
    expect(allows(publisher, 'sqs:SendMessage', `<${logicalId(s.stack.events.queue)}.Arn>`)).toBe(true);
    expect(allows(publisher, 'dynamodb:GetRecords', `<${ids.calls}.StreamArn>`)).toBe(true);
    for (const action of writes) for (const table of [ids.accounts, ids.codes, ids.calls]) expect(allows(publisher, action, arn(table)), action).toBe(false);
    expect(allows(publisher, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.events.webhookSecrets)}>`)).toBe(false);
    const deliverer = roleStatements(s.json, logicalId(s.stack.events.deliverer.role!));
    expect(allows(deliverer, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.events.webhookSecrets)}>`)).toBe(true);
    expect(allows(deliverer, 'secretsmanager:GetSecretValue', `<${logicalId(s.stack.data.pepper)}>`)).toBe(false);
    for (const action of reads) expect(allows(deliverer, action, arn(ids.calls)), action).toBe(false);
    s.template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { maxReceiveCount: 30 } });
  });

  it("console's word indexer: the codes stream feeds it code items only, and it may write only word index items", () => {
    const indexer = logicalId(s.stack.console.indexer);
    s.template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' }, KeySchema: Match.anyValue() });
    expect((s.json.Resources[ids.codes]?.Properties as { StreamSpecification?: unknown }).StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: indexer },
      EventSourceArn: { 'Fn::GetAtt': [ids.codes, 'StreamArn'] },
      BisectBatchOnFunctionError: true,
      FilterCriteria: {
        Filters: [
          { Pattern: JSON.stringify({ dynamodb: { Keys: { sk: { S: [{ prefix: 'A#' }] } } } }) },
          { Pattern: JSON.stringify({ dynamodb: { Keys: { sk: { S: [{ prefix: 'Z#' }] } } } }) },
        ],
      },
    });
    const role = roleStatements(s.json, logicalId(s.stack.console.indexer.role!));
    const leading = (pk: string) => ({ 'dynamodb:LeadingKeys': [pk] });
    expect(allows(role, 'dynamodb:BatchWriteItem', arn(ids.codes), leading('acme#W#sm'))).toBe(true);
    expect(allows(role, 'dynamodb:BatchWriteItem', arn(ids.codes), leading('acme#3'))).toBe(false);
    expect(allows(role, 'dynamodb:BatchWriteItem', arn(ids.codes), leading('acme#CID'))).toBe(false);
    for (const action of reads) expect(allows(role, action, arn(ids.codes)), action).toBe(false);
    for (const action of writes) for (const table of [ids.accounts, ids.calls]) expect(allows(role, action, arn(table)), action).toBe(false);
    expect(allows(role, 'dynamodb:GetRecords', `<${ids.codes}.StreamArn>`)).toBe(true);
  });

  it('console: a Cognito pool nobody signs up to themselves, and an app client for password sign-in without a secret', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      UsernameAttributes: ['email'],
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12 }) },
      Schema: Match.arrayWith([Match.objectLike({ Name: 'identity', AttributeDataType: 'String', Mutable: true })]),
    });
    s.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH']),
      GenerateSecret: false,
      PreventUserExistenceErrors: 'ENABLED',
      IdTokenValidity: 60,
    });
    expect(Object.keys(env(ids.console)).sort()).toEqual(
      [
        'LOG_LEVEL',
        'NODE_OPTIONS',
        'TOLLGATE_ACCOUNTS_TABLE',
        'TOLLGATE_BUCKET',
        'TOLLGATE_CALLS_TABLE',
        'TOLLGATE_CODES_TABLE',
        'TOLLGATE_USER_POOL_CLIENT_ID',
        'TOLLGATE_USER_POOL_ID',
      ].sort(),
    );
  });

  it("only adds X-Ray's resource-less actions when tracing is on", () => {
    const traced = synth({ tracing: true });
    const statements = roleStatements(traced.json, logicalId(traced.stack.voice.fn.role!));
    const star = statements.filter((st) => st.resources.includes('*'));
    expect(star.flatMap((st) => st.actions).every((a) => a.startsWith('xray:'))).toBe(true);
    expect(traced.json.Resources[logicalId(traced.stack.voice.fn)]?.Properties).toMatchObject({ TracingConfig: { Mode: 'Active' } });
  });
});
