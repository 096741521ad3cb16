/**
 * The stack's CloudFormation outputs by key. The stack writes them and `tollgate --stack NAME`
 * reads them (cli/aws-target.ts), so both sides name them from here. No CDK import: the CLI
 * loads this file too.
 */
export const STACK_OUTPUTS = {
  /** The base URL of the HTTP API (or the custom domain), without a trailing slash. */
  apiUrl: 'ApiUrl',
  /** Voice URL of numbers, SIP domains and TwiML apps: `<api>/voice/incoming`. */
  voiceUrl: 'VoiceUrl',
  /** Status callback URL: `<api>/voice/status`. */
  statusCallbackUrl: 'StatusCallbackUrl',
  /** Fallback URL: `<api>/voice/fallback`. */
  fallbackUrl: 'FallbackUrl',
  bucket: 'BucketName',
  accountsTable: 'AccountsTableName',
  codesTable: 'CodesTableName',
  callsTable: 'CallsTableName',
  /** The secret the operator puts the Twilio auth tokens in. */
  twilioSecretArn: 'TwilioAuthTokensSecretArn',
  alertsTopicArn: 'AlertsTopicArn',
  /** Import notifications that failed on every attempt. */
  importDeadLetterQueueUrl: 'ImportDeadLetterQueueUrl',
  /** The web console: `<api>/console/`. */
  consoleUrl: 'ConsoleUrl',
  /** The Cognito user pool console users sign in to. */
  userPoolId: 'ConsoleUserPoolId',
  /** The EventBridge bus of call-record events. */
  eventBusName: 'EventBusName',
  /** The secret of each account's webhook signing secret. */
  webhookSecretsArn: 'WebhookSecretsArn',
} as const;

export type StackOutputName = keyof typeof STACK_OUTPUTS;

/** The stack name when none is given with `-c stackName=…`. */
export const DEFAULT_STACK_NAME = 'Tollgate';
