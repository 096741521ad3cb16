/**
 * `<home>/stack.json`: how the CLI finds a running local stack. Kept apart from the stack
 * itself so that reading it does not load the emulators and handlers.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TableNames } from '../functions/adapters/dynamodb/tables.ts';

/** What `<home>/stack.json` holds: how the CLI reaches a running stack. */
export interface StackInfo {
  readonly pid: number;
  readonly startedAt: string;
  readonly home: string;
  readonly httpUrl: string;
  readonly publicUrl: string;
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly tables: TableNames;
}

/** The stack.json of `home`, or undefined when there is none or its process is gone. */
export async function readStackInfo(home: string): Promise<StackInfo | undefined> {
  let text: string;
  try {
    text = await readFile(join(home, 'stack.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const info = JSON.parse(text) as StackInfo;
  return isAlive(info.pid) ? info : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
