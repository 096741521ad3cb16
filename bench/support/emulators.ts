/**
 * The benchmark's storage engines in a process of their own, so that the importer's peak RSS
 * (measured in its own process) counts the importer alone: dynalite in memory and s3rver in a
 * temp directory, both on loopback. Prints one JSON line with the endpoints, then runs until
 * its stdin closes (the parent exits or ends it) or it gets SIGTERM.
 *
 *   node bench/support/emulators.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynalite, startS3rver } from '../../local/emulators.ts';

const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-s3-'));
const dynamo = await startDynalite();
const s3 = await startS3rver({ directory: dir });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([dynamo.close(), s3.close()]);
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ dynamodbEndpoint: dynamo.endpoint, s3Endpoint: s3.endpoint, pid: process.pid })}\n`);
