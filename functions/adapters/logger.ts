/**
 * The deployed functions' log: Powertools Logger behind the services' `Logger` port. Every
 * line is one JSON object with the service, level, the Lambda request id and whether it was a
 * cold start (`injectLambdaContext`), so CloudWatch Logs Insights reads them as fields.
 * Callers pass facts, never codes' digits or tokens (docs/security.md).
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Logger, LogLevel } from '../core/ports.ts';

export interface LambdaLogger {
  /** What the services log through. */
  readonly log: Logger;
  /** The handler wrapped so that every line it logs carries the invocation's context. */
  readonly wrap: <E, R>(handler: (event: E, context: Context) => Promise<R>) => (event: E, context: Context) => Promise<R>;
}

export function makeLambdaLogger(service: string, level: LogLevel = 'info'): LambdaLogger {
  const logger = new PowertoolsLogger({ serviceName: service, logLevel: level.toUpperCase() as Uppercase<LogLevel> });
  const line =
    (method: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: Record<string, unknown>): void =>
      fields === undefined ? logger[method](message) : logger[method](message, fields);
  return {
    log: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
    wrap: (handler) => middy(handler).use(injectLambdaContext(logger, { resetKeys: true })) as never,
  };
}
