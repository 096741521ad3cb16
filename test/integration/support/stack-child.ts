/**
 * The local stack in a process of its own (as `tollgate dev` runs it), so a test can kill it
 * with SIGKILL in the middle of its work and start it again on the same TOLLGATE_HOME. Prints
 * one JSON line with its endpoints once it is ready, then runs until killed.
 *
 *   TOLLGATE_HOME=… node test/integration/support/stack-child.ts
 */
import { silentLogger } from '../../../functions/services/logger.ts';
import { startLocalStack } from '../../../local/stack.ts';

export interface StackChildInfo {
  readonly httpUrl: string;
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  readonly bucket: string;
  readonly tables: { readonly accounts: string; readonly codes: string; readonly calls: string };
}

if (import.meta.main) {
  const home = process.env.TOLLGATE_HOME;
  if (home === undefined) throw new Error('TOLLGATE_HOME is not set');
  const stack = await startLocalStack({ home, port: 0, authToken: 'child-token', log: silentLogger, seed: false, exportSchedule: false });
  const info: StackChildInfo = { httpUrl: stack.httpUrl, s3Endpoint: stack.s3Endpoint, dynamodbEndpoint: stack.dynamodbEndpoint, bucket: stack.bucket, tables: stack.tables };
  process.stdout.write(`${JSON.stringify(info)}\n`);
}
