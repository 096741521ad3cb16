/**
 * The console function: the web console's app and JSON API (docs/console.md) behind the HTTP
 * API, in payload format 2.0. The local stack mounts the same handler with its own sign-in.
 */
import { handle } from 'hono/aws-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { ConsoleDeps } from '../services/console/context.ts';
import { makeConsoleApp } from '../services/console/app.ts';

export type ConsoleHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

export function makeConsoleHandler(deps: ConsoleDeps): ConsoleHandler {
  const answer = handle(makeConsoleApp(deps));
  return (event, context) => answer(event as never, context as never) as Promise<APIGatewayProxyResultV2>;
}
