/**
 * The AWS stack (docs/design.md): one stack of per-concern constructs around the same handlers the
 * local stack runs.
 *
 *   Twilio ─▶ VoiceApi (HTTP API ─▶ voice function) ─▶ Data (tables, secrets) ─▶ Alerts (SNS)
 *   admin ─▶ Data.bucket imports/ ─▶ CodeImport (SQS + DLQ ─▶ import function, which re-queues a paused import) ─▶ Data
 *   UsageExport (Scheduler hourly, and its continuation queue ─▶ export function) ─▶ Data.bucket exports/ ─▶ finance
 *   browser ─▶ ConsoleApp (same HTTP API ─▶ console function, Cognito sign-in) ─▶ Data, imports/
 *   Data.codes stream ─▶ ConsoleApp word indexer ─▶ Data.codes (description word index)
 *   Data.calls stream ─▶ CallEvents (publisher ─▶ EventBridge bus; webhook queue ─▶ deliverer) ─▶ integrators
 *
 * The outputs are what the operator wires into Twilio and what `tollgate --stack` reads.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AccountAccess } from './constructs/account-access.ts';
import { Alerts } from './constructs/alerts.ts';
import { CodeImport } from './constructs/code-import.ts';
import { CallEvents } from './constructs/call-events.ts';
import { ConsoleApp } from './constructs/console.ts';
import { Data } from './constructs/data.ts';
import { UsageExport } from './constructs/usage-export.ts';
import { VoiceApi, type CustomDomain } from './constructs/voice-api.ts';
import { STACK_OUTPUTS } from './outputs.ts';

export interface TollgateStackProps extends StackProps {
  /**
   * The emergency `<Dial>`'s caller ID of last resort: an E.164 number of the Twilio account
   * that a dispatcher can call back (docs/security.md, "Emergency calls").
   */
  readonly emergencyCallerId: string;
  /** Accounts that get per-account admin and finance policies. @default none */
  readonly accounts?: readonly string[];
  /** Subscribed to the alerts topic. @default no subscription */
  readonly alertEmail?: string;
  /** Serve the voice API on a custom domain. @default the API's own URL */
  readonly customDomain?: CustomDomain;
  /** Usage files under exports/ expire after this many days. @default kept */
  readonly exportsRetentionDays?: number;
  /** Old object versions (the audit trail) expire after this many days. @default 365 */
  readonly noncurrentVersionDays?: number;
  /** How long function and API logs are kept. @default one month */
  readonly logRetention?: RetentionDays;
  /** X-Ray tracing of every function. @default false */
  readonly tracing?: boolean;
}

export class TollgateStack extends Stack {
  readonly data: Data;
  readonly alerts: Alerts;
  readonly voice: VoiceApi;
  readonly codeImport: CodeImport;
  readonly usageExport: UsageExport;
  readonly console: ConsoleApp;
  readonly events: CallEvents;
  readonly accountAccess?: AccountAccess;

  constructor(scope: Construct, id: string, props: TollgateStackProps) {
    super(scope, id, { description: 'Tollgate: account and authorization codes for Twilio Programmable Voice', ...props });
    const common = {
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    };

    this.alerts = new Alerts(this, 'Alerts', props.alertEmail === undefined ? {} : { email: props.alertEmail });
    this.data = new Data(this, 'Data', {
      ...(props.noncurrentVersionDays === undefined ? {} : { noncurrentVersionDays: props.noncurrentVersionDays }),
      ...(props.exportsRetentionDays === undefined ? {} : { exportsRetentionDays: props.exportsRetentionDays }),
    });
    this.voice = new VoiceApi(this, 'VoiceApi', {
      data: this.data,
      alerts: this.alerts,
      emergencyCallerId: props.emergencyCallerId,
      ...(props.customDomain === undefined ? {} : { customDomain: props.customDomain }),
      ...common,
    });
    this.codeImport = new CodeImport(this, 'CodeImport', { data: this.data, alerts: this.alerts, ...common });
    this.usageExport = new UsageExport(this, 'UsageExport', { data: this.data, alerts: this.alerts, ...common });
    this.console = new ConsoleApp(this, 'Console', { data: this.data, alerts: this.alerts, api: this.voice.api, ...common });
    this.events = new CallEvents(this, 'CallEvents', { data: this.data, alerts: this.alerts, ...common });
    if (props.accounts !== undefined && props.accounts.length > 0) {
      this.accountAccess = new AccountAccess(this, 'AccountAccess', { bucket: this.data.bucket, accounts: props.accounts });
    }

    const output = (key: keyof typeof STACK_OUTPUTS, value: string, description: string) => new CfnOutput(this, STACK_OUTPUTS[key], { value, description });
    output('apiUrl', this.voice.baseUrl, 'Base URL of the voice API');
    output('voiceUrl', this.voice.url('/voice/incoming'), 'Twilio Voice URL (HTTP POST) of numbers, SIP domains and TwiML apps');
    output('statusCallbackUrl', this.voice.url('/voice/status'), 'Twilio status callback URL (HTTP POST)');
    output('fallbackUrl', this.voice.url('/voice/fallback'), 'Twilio fallback URL (HTTP POST)');
    output('consoleUrl', `${this.voice.baseUrl}/console/`, 'The web console (sign in with a user of the ConsoleUserPoolId pool)');
    output('userPoolId', this.console.userPool.userPoolId, 'Cognito user pool of console users: groups name account and role (acme:admin)');
    output('eventBusName', this.events.bus.eventBusName, 'EventBridge bus of call records (source tollgate, detail-type Call completed / Call retagged)');
    output('webhookSecretsArn', this.events.webhookSecrets.secretArn, 'Put {"acme": "<64 hex digits>"} here: the secret each account\'s webhook receivers check signatures with');
    output('bucket', this.data.bucket.bucketName, 'Upload imports/<account>/…, read results/<account>/… and exports/<account>/…');
    output('accountsTable', this.data.accounts.tableName, 'DynamoDB table: accounts, settings, users, ledgers');
    output('codesTable', this.data.codes.tableName, 'DynamoDB table: codes');
    output('callsTable', this.data.calls.tableName, 'DynamoDB table: calls and usage records');
    output('twilioSecretArn', this.data.twilioTokens.secretArn, 'Put {"AC…":["auth token"]} here (aws secretsmanager put-secret-value)');
    output('alertsTopicArn', this.alerts.topic.topicArn, 'Emergency calls, lockouts and alarms');
    output('importDeadLetterQueueUrl', this.codeImport.deadLetterQueue.queueUrl, 'Imports that failed on every attempt');
    if (this.voice.domainTarget !== undefined) {
      new CfnOutput(this, 'VoiceApiDomainTarget', { value: this.voice.domainTarget, description: 'Point the custom domain (CNAME or alias) here' });
    }
  }
}
