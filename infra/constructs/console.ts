/**
 * The web console in AWS (docs/console.md): a Cognito user pool whose groups name account and
 * role (`acme:admin`), the console function with the browser app bundled beside it, and its
 * routes on the voice API's HTTP API — one origin, no CORS; and the word indexer, which keeps
 * the codes' description index the Codes page searches by from the codes table's stream.
 *
 * Least privilege: the function reads the three tables (it writes only call records, for
 * tagging, lockouts, which live in the calls table, and the export ledger's "day changed"
 * mark); in the bucket it reads reports and exports, lists only those, and writes only change
 * files under imports/ and codes exports under exports/ — it cannot read imports/, where an
 * authorization code's digits rest until the import redacts them. IAM cannot tell one tenant's
 * items from another's here (one function serves every account, keys do not start with the
 * account in every table): the function keys every read by the account of the verified token,
 * and the tests hold it to that (another account's data answers 404).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { HttpMethod, PayloadFormatVersion, type HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccountRecovery, FeaturePlan, Mfa, StringAttribute, UserPool, type UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { FilterCriteria, FilterRule } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CALLS_BY_DAY_INDEX } from '../../functions/adapters/dynamodb/tables.ts';
import { WORD_INDEX_KEYS } from '../../functions/adapters/dynamodb/code-words.ts';
import { ENV } from '../../functions/config.ts';
import { CONSOLE_ROUTES } from '../../functions/routes.ts';
import type { Alerts } from './alerts.ts';
import { consumeStream } from './table-stream.ts';
import { AppFunction, functionOptions } from './app-function.ts';
import { BUCKET_PREFIXES, type Data } from './data.ts';
import { acknowledgeObjectWildcards } from './nag.ts';
import { EXPORT_LEDGER_KEYS } from './usage-export.ts';

export interface ConsoleAppProps {
  readonly data: Data;
  readonly alerts: Alerts;
  /** The HTTP API the voice webhooks use: the console's routes go on it. */
  readonly api: HttpApi;
  readonly logRetention?: RetentionDays;
  readonly tracing?: boolean;
}

export class ConsoleApp extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly fn: AppFunction;
  /** Keeps the codes' description word index the Codes page searches by, from the codes table's stream. */
  readonly indexer: AppFunction;

  constructor(scope: Construct, id: string, props: ConsoleAppProps) {
    super(scope, id);
    const { data } = props;
    this.userPool = this.makeUserPool();
    this.client = this.userPool.addClient('Console', {
      authFlows: { userPassword: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(8),
      enableTokenRevocation: true,
    });
    this.fn = this.makeFunction(props);
    this.indexer = this.makeIndexer(props);

    const integration = new HttpLambdaIntegration('Console', this.fn, { payloadFormatVersion: PayloadFormatVersion.VERSION_2_0 });
    for (const route of CONSOLE_ROUTES) {
      const path = route.path.endsWith('/*') ? `${route.path.slice(0, -2)}/{proxy+}` : route.path;
      props.api.addRoutes({ path, methods: route.methods.length > 1 ? [HttpMethod.ANY] : route.methods.map((m) => m as HttpMethod), integration });
    }
    props.alerts.functionErrors('ConsoleErrors', this.fn, 'The console function');
    this.acknowledge(data);
  }

  private makeUserPool(): UserPool {
    return new UserPool(this, 'Users', {
      // Operators create console users (README, "Deploy to AWS"); nobody signs themselves up.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: { identity: new StringAttribute({ mutable: true, maxLen: 200 }) },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.ESSENTIALS,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** The function, with exactly the grants docs/console.md names. */
  private makeFunction(props: ConsoleAppProps): AppFunction {
    const { data } = props;
    const fn = new AppFunction(this, 'Function', {
      handlerFile: 'console.ts',
      description: 'Tollgate web console: the browser app and its JSON API for admins, finance and users',
      // API Gateway waits 30 s for an integration; the API answers a slow import with a ticket after 20 s.
      timeout: Duration.seconds(29),
      memorySize: 1024,
      bundleFiles: [
        { from: 'functions/web', to: 'web' },
        { from: 'node_modules/htm/preact/standalone.module.js', to: 'web/vendor/preact-htm.js' },
      ],
      ...functionOptions(props),
    });
    fn.useTable(ENV.accountsTable, data.accounts, 'read-write', { writeLeadingKeys: EXPORT_LEDGER_KEYS });
    fn.useTable(ENV.codesTable, data.codes, 'read');
    fn.useTable(ENV.callsTable, data.calls, 'read-write');
    fn.useTable(ENV.callsTable, data.calls, 'read', { index: CALLS_BY_DAY_INDEX });
    fn.useBucket(ENV.bucket, data.bucket, {
      read: [BUCKET_PREFIXES.results, BUCKET_PREFIXES.exports],
      list: [BUCKET_PREFIXES.results, BUCKET_PREFIXES.exports],
      write: [BUCKET_PREFIXES.imports, BUCKET_PREFIXES.exports],
    });
    fn.useSetting(ENV.userPoolId, this.userPool.userPoolId);
    fn.useSetting(ENV.userPoolClientId, this.client.userPoolClientId);
    return fn;
  }

  /** Reads the codes stream (code items only: the filter), writes only word index items (`<acct>#W#…`). */
  private makeIndexer(props: ConsoleAppProps): AppFunction {
    const { data } = props;
    const indexer = new AppFunction(this, 'WordIndexer', {
      handlerFile: 'code-words.ts',
      description: "Tollgate console: keeps the codes' description word index from the codes table's stream",
      timeout: Duration.seconds(60),
      memorySize: 512,
      ...functionOptions(props),
    });
    indexer.useTable(ENV.accountsTable, data.accounts, 'none');
    indexer.useTable(ENV.codesTable, data.codes, 'write', { writeLeadingKeys: [WORD_INDEX_KEYS] });
    indexer.useTable(ENV.callsTable, data.calls, 'none');
    // Its own writes (word items) come back on the stream: the filter keeps them from invoking it.
    const codeItems = (prefix: string) => FilterCriteria.filter({ dynamodb: { Keys: { sk: { S: FilterRule.beginsWith(prefix) } } } });
    consumeStream(this, indexer, {
      table: data.codes,
      alerts: props.alerts,
      alarms: { failures: 'WordIndexStreamFailures', errors: 'WordIndexerErrors' },
      what: "Indexing codes' description words",
      fnWhat: 'The word indexer',
      filters: [codeItems('A#'), codeItems('Z#')],
    });
    return indexer;
  }

  private acknowledge(data: Data): void {
    acknowledgeObjectWildcards(this.fn, data.bucket, {
      [BUCKET_PREFIXES.imports]: "The console writes change files under imports/<account>/ of the signed-in user's account (the one door, docs/console.md); it cannot read them.",
      [BUCKET_PREFIXES.results]: "The console reads import reports under results/<account>/ of the signed-in user's account: the audit trail and the answer to a change.",
      [BUCKET_PREFIXES.exports]: "The console reads usage files and writes codes exports under exports/<account>/ of the signed-in user's account, and hands them out as links.",
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason: 'MFA is optional (TOTP): small firms run the console with a handful of admins; operators who want it required set it on the pool. Finance and users change nothing.',
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'The Plus feature plan (threat protection) costs per user and month; the pool uses Essentials, with no self sign-up, a 12-character password policy, optional TOTP and user-existence errors hidden. Operators who want threat protection switch the plan.',
    });
  }
}
