/**
 * One of the benchmark's storage engines in a process of its own, so that the importer's peak
 * RSS (measured in its own process) counts the importer alone, and so that S3's work (an
 * upload's parts, a file read) does not take turns with DynamoDB's on one thread, as in AWS
 * where they are separate services: dynalite in memory, or s3rver in a temp directory, on
 * loopback. Prints one JSON line with its endpoint, then runs until its stdin closes (the
 * parent exits or ends it) or it gets SIGTERM.
 *
 * Each line on dynalite's stdin is a command, answered by one JSON line on its stdout:
 *   {"seed":"usage"|"codes","table":"…","rows":N}   load N usage records (support/usage-records.ts)
 *       or codes (support/rows.ts) into an empty table inside this process (support/engine-seed.ts)
 *
 *   node bench/support/emulators.ts dynamodb|s3
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startDynalite, startS3rver } from '../../local/emulators.ts';
import { captureDynaliteStore } from './engine-seed.ts';
import { codeItems } from './rows.ts';
import { usageItems } from './usage-records.ts';

const engine = process.argv[2];
if (engine !== 'dynamodb' && engine !== 's3') throw new Error(`usage: emulators.ts dynamodb|s3 (not ${engine})`);
const dir = engine === 's3' ? await mkdtemp(join(tmpdir(), 'tollgate-bench-s3-')) : undefined;
// Only dynalite's process is seeded; the store is reachable only if captured before it starts.
const seeder = engine === 'dynamodb' ? captureDynaliteStore() : undefined;
const server = dir === undefined ? await startDynalite() : await startS3rver({ directory: dir });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => undefined);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

/** One command at a time, in the order they came. */
let queue = Promise.resolve();
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  queue = queue.then(async () => {
    const command = JSON.parse(line) as { seed?: string; table?: string; rows?: number };
    const generate = command.seed === 'usage' ? usageItems : command.seed === 'codes' ? codeItems : undefined;
    if (seeder === undefined || generate === undefined || command.table === undefined || command.rows === undefined) {
      process.stdout.write(`${JSON.stringify({ error: `unknown command: ${line}` })}\n`);
      return;
    }
    const t0 = performance.now();
    const items = await seeder.put(command.table, generate(command.rows));
    process.stdout.write(`${JSON.stringify({ seeded: items, ms: performance.now() - t0 })}\n`);
  });
});
commands.on('close', () => void queue.finally(stop));

process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint, pid: process.pid })}\n`);
