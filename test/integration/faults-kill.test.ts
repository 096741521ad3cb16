/**
 * Imports killed half way (docs/data-model.md "the function crashing half way and running again ends in
 * the same state"): with SIGKILL — no `catch`, no `finally`, what Lambda does at its timeout
 * and what a power cut does to `tollgate dev` — once the process has written some rows.
 *
 * - The import function in a child process over the test's dynalite and s3rver: run again at
 *   once it is refused while the dead run's lease holds (the queue tries later); past the lease
 *   it takes over and ends exactly as a clean run does.
 * - The whole local stack in a child process: started again on the same TOLLGATE_HOME, it
 *   replays the notification it had not finished and imports the file whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { handleS3Event } from '../../functions/handlers/import.ts';
import { IMPORT_LEASE_MS, ImportInProgressError } from '../../functions/services/importer.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { settingsJson, TEST_PEPPER, type ImportHarness } from './support/bucket.ts';
import { until } from './support/e2e-stack.ts';
import type { ImportChildJob } from './support/import-child.ts';
import { cleanRun, codesFile, withAccount } from './support/import-runs.ts';
import type { StackChildInfo } from './support/stack-child.ts';

describe('an import process killed half way', () => {
  const KEY = 'imports/acme/codes/big.csv';
  const ROWS = 6000;

  /** Items in the codes table, at most `limit` counted. */
  async function someCodes(h: ImportHarness, limit: number): Promise<number> {
    const out = await h.storage.client.send(new ScanCommand({ TableName: h.storage.tables.codes, Select: 'COUNT', Limit: limit }));
    return out.Count ?? 0;
  }

  it('is taken over once its lease has run out, and the run ends as a clean run does', async () => {
    const reference = await cleanRun([[KEY, codesFile(ROWS)]]);
    const h = await withAccount();
    await h.upload(KEY, codesFile(ROWS));
    const event = h.lastEvent(KEY);

    const s3Endpoint = await s3EndpointOf(h);
    const job: ImportChildJob = {
      dynamodbEndpoint: await dynamodbEndpointOf(h),
      s3Endpoint,
      tables: h.storage.tables,
      bucket: h.bucket,
      pepper: TEST_PEPPER,
      now: h.storage.clock().toISOString(),
      event,
    };
    const child = spawn(process.execPath, [join(import.meta.dirname, 'support/import-child.ts')], {
      env: { ...process.env, TOLLGATE_CHILD: JSON.stringify(job) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      // Killed as soon as it has written something: the import is then well short of its end.
      await until('the child to write its first codes', 20_000, async () => {
        if (child.exitCode !== null) throw new Error(`the import finished before it could be killed: ${output}`);
        return (await someCodes(h, 1)) > 0 ? true : undefined;
      });
    } finally {
      child.kill('SIGKILL');
    }
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    const half = await h.scanCodesTable();
    expect(half.length).toBeGreaterThan(0);
    expect(half.length).toBeLessThan(reference.length);
    expect(await h.reportKeys('acme')).toHaveLength(1);

    // Delivered again at once, the ledger still says a run holds it: the queue must try later.
    await expect(handleS3Event(h.deps, event)).rejects.toBeInstanceOf(ImportInProgressError);
    expect(await h.scanCodesTable()).toEqual(half);

    // Past the lease (the function's longest run), the next delivery takes it over.
    h.storage.clock.advance(IMPORT_LEASE_MS + 1000);
    const [report] = await handleS3Event(h.deps, event);
    expect(report).toMatchObject({ status: 'applied', rows: ROWS, errorCount: 0 });
    expect(await h.scanCodesTable()).toEqual(reference);
    expect(await handleS3Event(h.deps, event)).toEqual([]);
  });
});

describe('the local stack killed half way through an import', () => {
  it('imports the file again when it starts on the same TOLLGATE_HOME, ending with every row stored once', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tollgate-killed-'));
    const ROWS = 6000;
    const KEY = 'imports/acme/codes/big.csv';
    let child: ChildProcess | undefined;
    let stack: LocalStack | undefined;
    try {
      child = spawn(process.execPath, ['--openssl-legacy-provider', join(import.meta.dirname, 'support/stack-child.ts')], {
        env: { ...process.env, TOLLGATE_HOME: home },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
      const info = JSON.parse(line) as StackChildInfo;
      const s3 = makeS3Client({ endpoint: info.s3Endpoint });
      const dynamo = makeDynamoClient({ endpoint: info.dynamodbEndpoint, requestTimeoutMs: 10_000 });
      try {
        await s3.send(new PutObjectCommand({ Bucket: info.bucket, Key: 'imports/acme/settings.json', Body: settingsJson('acme') }));
        await s3.send(new PutObjectCommand({ Bucket: info.bucket, Key: KEY, Body: codesFile(ROWS) }));
        // Killed as soon as the codes file has written something.
        await until('the stack to write its first codes', 30_000, async () => {
          const out = await dynamo.send(new ScanCommand({ TableName: info.tables.codes, Select: 'COUNT', Limit: 1 }));
          return (out.Count ?? 0) > 0 ? true : undefined;
        });
        child.kill('SIGKILL');
        expect((await exited)[1]).toBe('SIGKILL');
      } finally {
        s3.destroy();
        dynamo.destroy();
      }

      // `tollgate dev` again: the notification left in the queue is replayed.
      stack = await startLocalStack({ home, port: 0, authToken: 'child-token', log: silentLogger, seed: false, exportSchedule: false });
      await stack.imports.idle();
      const stores = makeDynamoStores({ client: stack.dynamodb, tables: stack.tables });
      const stored = new Map<string, string | undefined>();
      for await (const c of stores.codes.listCodes('acme')) stored.set(c.code ?? c.ref ?? '', c.description);
      expect(stored.size).toBe(ROWS);
      expect(stored.get('10001')).toBe('Client 1');
      expect(stored.get('15999')).toBe('Client 5999');
      expect(readdirSync(join(home, 'dead-letter'))).toEqual([]);
      expect(readdirSync(join(home, 'queue'))).toEqual([]);
    } finally {
      child?.kill('SIGKILL');
      await stack?.stop();
      await rm(home, { recursive: true, force: true });
    }
  });
});

/** The harness keeps its endpoints inside its clients. */
async function dynamodbEndpointOf(h: ImportHarness): Promise<string> {
  const endpoint = await h.storage.client.config.endpoint?.();
  if (endpoint === undefined) throw new Error('the storage client has no endpoint');
  return `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`;
}

async function s3EndpointOf(h: ImportHarness): Promise<string> {
  const endpoint = await h.s3.config.endpoint?.();
  if (endpoint === undefined) throw new Error('the S3 client has no endpoint');
  return `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`;
}
