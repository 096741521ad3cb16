/**
 * The voice webhooks (docs/call-flow.md): an HTTP API whose `/voice/*` routes all go to one voice
 * function, so the later webhooks of a call find a warm container. The function verifies
 * Twilio's signature against the URL Twilio called: the request's own Host header for the
 * API's URL (no circular reference between the API and the function), or
 * `TOLLGATE_PUBLIC_URL` when a custom domain fronts it.
 */
import { Duration } from 'aws-cdk-lib';
import { DomainName, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, PayloadFormatVersion } from 'aws-cdk-lib/aws-apigatewayv2';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { ComparisonOperator } from 'aws-cdk-lib/aws-cloudwatch';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { Alerts } from './alerts.ts';
import { AppFunction, functionOptions } from './app-function.ts';
import type { Data } from './data.ts';
import { ENV } from '../../functions/config.ts';
import { HEALTH_PATH, VOICE_PATHS, type VoicePath } from '../../functions/routes.ts';

/** The routes Twilio calls (docs/call-flow.md). Any other method or path under /voice/ reaches the function too, which answers 405 or 404. */

/** The voice function's p99 duration above which the alarm goes off: Twilio waits 15 s, callers much less. */
export const VOICE_P99_ALARM_MS = 3000;

export interface CustomDomain {
  /** e.g. `voice.example.com`; point a CNAME (or alias) at the `VoiceApiDomainTarget` output. */
  readonly domainName: string;
  /** An ACM certificate for the domain, in the stack's region. */
  readonly certificateArn: string;
}

export interface VoiceApiProps {
  readonly data: Data;
  readonly alerts: Alerts;
  /** The emergency `<Dial>`'s caller ID of last resort (TOLLGATE_EMERGENCY_CALLER_ID). */
  readonly emergencyCallerId: string;
  /** Serve the API on this domain instead of its execute-api URL. @default the API's own URL */
  readonly customDomain?: CustomDomain;
  /**
   * Requests per second each route accepts, and the burst above it. A flood of one route
   * (say /voice/incoming) does not use up another's (the fallback URL). @default 200 per second, bursts of 400
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /** X-Ray tracing of the function. @default false */
  readonly tracing?: boolean;
}

export class VoiceApi extends Construct {
  readonly fn: AppFunction;
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** The base URL Twilio calls, without a trailing slash. */
  readonly baseUrl: string;
  /** Set with a custom domain: the regional host name its DNS record points at. */
  readonly domainTarget?: string;

  constructor(scope: Construct, id: string, props: VoiceApiProps) {
    super(scope, id);
    const { data, alerts } = props;

    this.fn = new AppFunction(this, 'Function', {
      handlerFile: 'voice.ts',
      description: 'Tollgate voice webhooks: prompts for codes, checks them, dials or hangs up',
      // Twilio waits 15 s for a webhook, then tries the fallback URL.
      timeout: Duration.seconds(10),
      memorySize: 1024,
      // Alerts only (functions/adapters/alerts.ts imports it on the first one): not compiled at every cold start.
      runtimeSdkModules: ['@aws-sdk/client-sns'],
      // Cold starts: Lambda's environment credentials, not the SDK's whole provider chain.
      lambdaCredentials: true,
      ...functionOptions(props),
    });
    this.fn.useTable(ENV.accountsTable, data.accounts, 'read');
    this.fn.useTable(ENV.codesTable, data.codes, 'read');
    this.fn.useTable(ENV.callsTable, data.calls, 'read-write');
    this.fn.useSecret(ENV.pepperSecretArn, data.pepper);
    this.fn.useSecret(ENV.twilioSecretArn, data.twilioTokens);
    this.fn.useTopic(ENV.alertsTopicArn, alerts.topic, alerts.key);
    this.fn.useSetting(ENV.emergencyCallerId, props.emergencyCallerId);

    let domain: DomainName | undefined;
    if (props.customDomain !== undefined) {
      domain = new DomainName(this, 'Domain', {
        domainName: props.customDomain.domainName,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
      });
      this.domainTarget = domain.regionalDomainName;
      // Twilio signs the URL it calls: the custom domain, which the request's Host header may not show.
      this.fn.useSetting(ENV.publicUrl, `https://${props.customDomain.domainName}`);
    }

    this.api = new HttpApi(this, 'Api', {
      description: 'Tollgate: Twilio voice webhooks',
      createDefaultStage: false,
      // With a custom domain the function checks signatures against that domain, so a request
      // through the execute-api URL could never pass: close it.
      disableExecuteApiEndpoint: domain !== undefined,
    });
    const integration = new HttpLambdaIntegration('Voice', this.fn, { payloadFormatVersion: PayloadFormatVersion.VERSION_2_0 });
    for (const path of VOICE_PATHS) this.api.addRoutes({ path, methods: [HttpMethod.POST], integration });
    this.api.addRoutes({ path: '/voice/{proxy+}', methods: [HttpMethod.ANY], integration });
    // Monitors: the same GET /health as the local stack (docs/call-flow.md), answered without storage.
    this.api.addRoutes({ path: HEALTH_PATH, methods: [HttpMethod.GET], integration });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 200, burstLimit: 400 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: accessLogFormat() },
      ...(domain === undefined ? {} : { domainMapping: { domainName: domain } }),
    });
    this.baseUrl = props.customDomain === undefined ? this.api.apiEndpoint : `https://${props.customDomain.domainName}`;
    this.addAlarms(alerts);

    // Twilio cannot send IAM or JWT credentials; every request carries X-Twilio-Signature, an
    // HMAC over the URL and the form that the function checks before anything else (docs/call-flow.md).
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "Twilio webhooks cannot carry IAM or JWT credentials; the voice function authenticates every request by its X-Twilio-Signature (HMAC-SHA1 with the account's auth token) before it reads or writes anything.",
    });
  }

  private addAlarms(alerts: Alerts): void {
    alerts.functionErrors('VoiceErrors', this.fn, 'The voice function');
    alerts.alarm('VoiceDurationP99', {
      metric: this.fn.metricDuration({ period: Duration.minutes(5), statistic: 'p99' }),
      threshold: VOICE_P99_ALARM_MS,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: `The voice function's p99 duration is over ${VOICE_P99_ALARM_MS / 1000} s: callers wait in silence. Look at DynamoDB latency and throttling, and at cold starts.`,
    });
    alerts.functionThrottles('VoiceThrottles', this.fn, 'The voice function');
    alerts.alarm('VoiceApi5xx', {
      metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      description: 'The voice API answered Twilio with a 5xx (the function crashed, timed out or was throttled): Twilio went to the fallback URL.',
    });
  }

  /** The full URL of a route, e.g. `url('/voice/incoming')`. */
  url(path: VoicePath): string {
    return `${this.baseUrl}${path}`;
  }
}

/**
 * One JSON line per request. No body and no query string values beyond the path: the codes
 * callers type travel in the body and never reach the logs.
 */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      time: '$context.requestTime',
      ip: '$context.identity.sourceIp',
      method: '$context.httpMethod',
      route: '$context.routeKey',
      path: '$context.path',
      status: '$context.status',
      bytes: '$context.responseLength',
      latencyMs: '$context.responseLatency',
      integrationLatencyMs: '$context.integrationLatency',
      integrationError: '$context.integrationErrorMessage',
      domain: '$context.domainName',
    }),
  );
}
