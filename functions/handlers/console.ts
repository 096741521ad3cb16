/**
 * The console function: the web console's app and JSON API (docs/console.md) behind the HTTP
 * API, in payload format 2.0. Signed in through the stack's Cognito user pool; the local stack
 * mounts the same handler with its own sign-in.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { handle } from 'hono/aws-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { cognitoConsoleAuth } from '../adapters/cognito-auth.ts';
import { loadConsoleAssets, WEB_DIR } from '../adapters/console-assets.ts';
import { makeDynamoClient } from '../adapters/dynamodb/client.ts';
import { makeDynamoStores, type DynamoStores } from '../adapters/dynamodb/stores.ts';
import { s3ChangeDoor } from '../adapters/s3/change-door.ts';
import { makeS3Client } from '../adapters/s3/client.ts';
import { s3ExportFiles } from '../adapters/s3/export-files.ts';
import { bucketConfig, consoleConfig, storageConfig, type Env } from '../config.ts';
import type { Logger } from '../core/ports.ts';
import type { ConsoleDeps } from '../services/console/context.ts';
import { makeConsoleApp } from '../services/console/app.ts';
import { deployedFunction } from './lambda.ts';

export type ConsoleHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

/** What the console reads and writes in storage: the same stores in AWS and in the local stack. */
export function consoleStores(stores: DynamoStores): Pick<ConsoleDeps, 'accounts' | 'users' | 'codes' | 'calls' | 'lockouts' | 'exports'> {
  return { accounts: stores.accounts, users: stores.users, codes: stores.codes, calls: stores.calls, lockouts: stores.lockouts, exports: stores.exports };
}

export function makeConsoleHandler(deps: ConsoleDeps): ConsoleHandler {
  const answer = handle(makeConsoleApp(deps));
  return (event, context) => answer(event as never, context as never) as Promise<APIGatewayProxyResultV2>;
}

/** The browser app's files: bundled beside the function as `web/` (infra/constructs/console.ts); run from the sources, the repository's. */
const BUNDLED_WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));
const DEFAULT_WEB_DIR = existsSync(BUNDLED_WEB_DIR) ? BUNDLED_WEB_DIR : WEB_DIR;

async function awsConsoleHandler(env: Env, log: Logger, webDir: string): Promise<ConsoleHandler> {
  const storage = storageConfig(env);
  const { bucket, s3Endpoint } = bucketConfig(env);
  const { userPoolId, userPoolClientId } = consoleConfig(env);
  const client = makeDynamoClient(storage.dynamodbEndpoint === undefined ? {} : { endpoint: storage.dynamodbEndpoint });
  const stores = makeDynamoStores({ client, tables: storage.tables });
  const s3 = makeS3Client(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint });
  return makeConsoleHandler({
    auth: cognitoConsoleAuth({ userPoolId, clientId: userPoolClientId }),
    ...consoleStores(stores),
    door: s3ChangeDoor(s3, bucket),
    files: s3ExportFiles(s3, bucket),
    assets: await loadConsoleAssets(webDir),
    now: () => new Date(),
    log,
  });
}

/** The deployed console function; `webDir` is where its browser app lies (tests of the bundle pass theirs). */
export function consoleFunction(webDir = DEFAULT_WEB_DIR) {
  return deployedFunction<APIGatewayProxyEventV2, APIGatewayProxyResultV2>('tollgate-console', (env, log) => {
    const ready = awsConsoleHandler(env, log, webDir);
    return async (event, context) => (await ready)(event, context);
  });
}

const deployed = consoleFunction();
export const handler = deployed.handler;
export const deployedHandler = deployed.build;
