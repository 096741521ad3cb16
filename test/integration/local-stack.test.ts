/**
 * `npm start` as a user runs it: a real process (PORT=0, a temp TOLLGATE_HOME) found through
 * what it prints and its stack.json, fed through the bucket with the AWS SDK, read with the
 * `tollgate` binary, stopped with Ctrl-C (SIGINT to its process group, as a terminal sends it)
 * and started again on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import type { ImportReport } from '../../functions/services/importer.ts';
import type { StackInfo } from '../../local/stack.ts';

const REPO = join(import.meta.dirname, '..', '..');
// The Node running the tests (22+) first, so `npm` and its `node` are that one too.
const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

/** Poll `probe` until it returns something, or fail after `ms`. */
async function until<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Running {
  readonly child: ChildProcess;
  output: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A command in its own process group, as a terminal runs a foreground job. */
function launch(command: string, args: readonly string[], home: string): Running {
  const child = spawn(command, args, {
    cwd: REPO,
    env: { ...process.env, PATH, PORT: '0', TOLLGATE_HOME: home, NODE_OPTIONS: '' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const running: Running = {
    child,
    output: '',
    exit: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.on('data', (d: Buffer) => (running.output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (running.output += d.toString()));
  return running;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Wait for the stack in `home` to be ready: its stack.json, then the banner. */
async function ready(run: Running, home: string): Promise<StackInfo> {
  const info = await until('stack.json', 30_000, async () => {
    if (run.child.exitCode !== null) throw new Error(`the stack exited early:\n${run.output}`);
    return existsSync(join(home, 'stack.json')) ? (JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')) as StackInfo) : undefined;
  });
  await until('the ready banner', 30_000, () => (run.output.includes('Press Ctrl-C to stop.') ? true : undefined));
  return info;
}

/** Ctrl-C: SIGINT to the whole process group. */
async function interrupt(run: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pid = run.child.pid as number;
  process.kill(-pid, 'SIGINT');
  const exit = await Promise.race([run.exit, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 10 s:\n${run.output}`)), 10_000))]);
  await until('every process of the group to end', 30_000, () => (groupAlive(pid) ? undefined : true));
  return exit;
}

function tollgate(args: readonly string[], home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['cli/tollgate.mjs', ...args], { cwd: REPO, env: { ...process.env, PATH, TOLLGATE_HOME: home } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function reportsUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

const UPLOADED = ['6001', '6002', '6003', '6004', '6005', '6006', '6007', '6008', '6009', '06010'];

describe('npm start', () => {
  let home: string;
  let first: Running | undefined;
  let second: Running | undefined;
  let info: StackInfo;
  let s3: S3Client;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tollgate-start-'));
  });

  afterAll(async () => {
    for (const run of [first, second]) {
      if (run?.child.pid !== undefined && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
    }
    s3?.destroy();
    await rm(home, { recursive: true, force: true });
    console.info('npm start timings (ms):', timings);
  });

  it('starts, prints its URLs and answers GET /health as docs/call-flow.md says', async () => {
    const started = Date.now();
    first = launch('npm', ['start'], home);
    info = await ready(first, home);
    timings.startToReady = Date.now() - started;

    const port = Number(new URL(info.httpUrl).port);
    expect(port).toBeGreaterThan(0);
    expect(first.output).toContain(`health     ${info.httpUrl}/health`);
    expect(first.output).toContain(`S3         ${info.s3Endpoint}   bucket tollgate-local`);
    expect(first.output).toContain(`DynamoDB   ${info.dynamodbEndpoint}`);
    expect(first.output).toMatch(/accounts {3}demo\n/);

    const health = await fetch(`${info.httpUrl}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await health.json()).toEqual({
      status: 'ok',
      publicUrl: `http://localhost:${port}`,
      bucket: 'tollgate-local',
      s3Endpoint: info.s3Endpoint,
      dynamodbEndpoint: info.dynamodbEndpoint,
      accounts: ['demo'],
    });
    expect((await fetch(`${info.httpUrl}/nope`)).status).toBe(404);
    const wrong = await fetch(`${info.httpUrl}/health`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
  }, 60_000);

  it('imports a codes CSV uploaded to its bucket with the AWS SDK within 2 seconds', async () => {
    s3 = makeS3Client({ endpoint: info.s3Endpoint });
    const key = 'imports/demo/codes/from sdk.csv';
    const csv = `code,description\n${UPLOADED.map((c) => `${c},Uploaded matter ${c}`).join('\n')}\n`;
    const uploaded = Date.now();
    await s3.send(new PutObjectCommand({ Bucket: info.bucket, Key: key, Body: csv, ContentType: 'text/csv' }));
    const reportKey = await until('the import report', 30_000, async () => (await reportsUnder(s3, info.bucket, 'results/demo/from_sdk.')).find((k) => k.endsWith('.json')));
    timings.uploadToReport = Date.now() - uploaded;
    const body = await s3.send(new GetObjectCommand({ Bucket: info.bucket, Key: reportKey }));
    const report = JSON.parse((await body.Body?.transformToString()) ?? '') as ImportReport;
    expect(report).toMatchObject({ file: key, status: 'applied', mode: 'merge', rows: 10, created: 10, errorCount: 0 });
    expect(Date.parse(report.finishedAt) - uploaded).toBeLessThan(2_000);
  });

  it('shows the uploaded and the seeded codes in tollgate codes list', async () => {
    const r = await tollgate(['codes', 'list'], home);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const code of UPLOADED) expect(r.stdout).toMatch(new RegExp(`^${code}\\s+yes\\s+everyone\\s+Uploaded matter ${code}$`, 'm'));
    expect(r.stdout).toMatch(/^0042\s+yes/m);
    expect(r.stdout).toContain('24 codes in demo (22 account, 2 authorization)');
  });

  it('stops on Ctrl-C, leaving no process and no stack.json behind', async () => {
    const run = first as Running;
    const stopAsked = Date.now();
    const exit = await interrupt(run);
    timings.ctrlCToExit = Date.now() - stopAsked;
    // npm itself reports a Ctrl-C by ending with SIGINT (its shell was interrupted); the stack
    // under it stopped cleanly, which is what it prints last.
    expect(exit.code === 0 || exit.signal === 'SIGINT').toBe(true);
    expect(run.output).toMatch(/SIGINT: stopping…\n(.*\n)*stopped; data kept in /);
    expect(existsSync(join(home, 'stack.json'))).toBe(false);
    expect((await tollgate(['codes', 'list'], home)).stderr).toBe(`tollgate: no local stack is running in ${home}: start it with npm start\n`);
  }, 30_000);

  it('keeps its data across a restart and does not seed the demo account again', async () => {
    const seededAt = await readFile(join(home, 'seeded'), 'utf8');
    const started = Date.now();
    // The bin as `npx tollgate dev` runs it: without the OpenSSL flag, so it re-runs itself with it.
    second = launch(process.execPath, ['cli/tollgate.mjs', 'dev'], home);
    info = await ready(second, home);
    timings.restartToReadyViaBin = Date.now() - started;
    expect(second.output).not.toContain('seeded the demo account');
    expect(await readFile(join(home, 'seeded'), 'utf8')).toBe(seededAt);

    s3.destroy();
    s3 = makeS3Client({ endpoint: info.s3Endpoint });
    expect(await reportsUnder(s3, info.bucket, 'results/demo/settings.')).toHaveLength(1);
    const r = await tollgate(['codes', 'list', '--account', 'demo'], home);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('24 codes in demo (22 account, 2 authorization)');
    expect(r.stdout).toMatch(/^06010\s+yes\s+everyone\s+Uploaded matter 06010$/m);

    const exit = await interrupt(second);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(existsSync(join(home, 'stack.json'))).toBe(false);
  }, 60_000);
});
