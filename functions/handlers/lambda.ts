/**
 * How each deployed function is put together: its handler is built from the environment on the
 * first invocation (so tests import the factories without an AWS environment, and a container
 * still builds its clients once), and every line it logs carries the invocation's context
 * (Powertools Logger, `functions/adapters/logger.ts`).
 */
import type { Context } from 'aws-lambda';
import { makeLambdaLogger } from '../adapters/logger.ts';
import { logLevel, type Env } from '../config.ts';
import type { Logger } from '../core/ports.ts';

export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

export interface DeployedFunction<E, R> {
  /** The Lambda entry point. */
  readonly handler: LambdaHandler<E, R>;
  /** The handler as `handler` builds it, from the environment given (for tests of the deployed wiring). */
  readonly build: (env: Env) => LambdaHandler<E, R>;
}

export function deployedFunction<E, R>(service: string, make: (env: Env, log: Logger) => LambdaHandler<E, R>): DeployedFunction<E, R> {
  const build = (env: Env): LambdaHandler<E, R> => {
    const lambda = makeLambdaLogger(service, logLevel(env));
    return lambda.wrap(make(env, lambda.log));
  };
  let deployed: LambdaHandler<E, R> | undefined;
  return {
    handler: (event, context) => {
      deployed ??= build(process.env);
      return deployed(event, context);
    },
    build,
  };
}
