/**
 * The usage log through the local stack and the CLI: calls placed with `tollgate call` over
 * the stack's HTTP webhooks, `tollgate usage export|download`, `tollgate calls show|tag`, and
 * the stack's own hourly scheduler, which also runs once shortly after start.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import type { CallState } from '../../functions/core/callflow.ts';
import { localDate } from '../../functions/core/time.ts';
import { addDays, USAGE_COLUMNS, usageDayKey } from '../../functions/core/usage.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { cliRunner, type CliRunner } from './support/cli-io.ts';

const _REPO = join(import.meta.dirname, '..', '..');
const NY = 'America/New_York';

let home: string;
let work: string;
let stack: LocalStack;
let s3: S3Client;
let tollgate: CliRunner;
/** The simulated caller echoes the keys it presses, an authorization code's too: kept out of the transcript checked below. */
let caller: CliRunner;
const sids: Record<string, string> = {};

async function object(key: string): Promise<Buffer | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

async function call(name: string, args: string[]): Promise<void> {
  const r = await caller(['call', ...args]);
  expect(r.code, r.stderr).toBe(0);
  const sid = /stored under (CA[0-9a-f]{32})/.exec(r.stdout)?.[1];
  if (sid === undefined) throw new Error(`no call SID in: ${r.stdout}`);
  sids[name] = sid;
}

/** The local day of a call, from its record. */
async function dayOf(name: string): Promise<string> {
  const r = await tollgate(['calls', 'show', sids[name] as string, '--json']);
  return localDate(new Date((JSON.parse(r.stdout) as CallState).startedAt), NY);
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tollgate-usage-cli-'));
  work = await mkdtemp(join(tmpdir(), 'tollgate-usage-cli-files-'));
  stack = await startLocalStack({ home, port: 0, authToken: 'test-token', log: silentLogger, exportSchedule: false });
  s3 = makeS3Client({ endpoint: stack.s3Endpoint });
  tollgate = cliRunner({ env: { TOLLGATE_HOME: home, TWILIO_AUTH_TOKEN: 'test-token', USER: 'casey' }, cwd: work });
  caller = cliRunner({ env: { TOLLGATE_HOME: home, TWILIO_AUTH_TOKEN: 'test-token' }, cwd: work });
  // The demo account (examples/): alice is a lawyer (codes required), bob staff (optional),
  // dana may make international calls with an authorization code.
  await call('valid', ['--from', 'client:alice', '--to', '+12125550199', '--digits', '0042#', '--talk', '125']);
  await call('skipped', ['--from', 'client:bob', '--to', '+12125550198', '--digits', '#', '--talk', '61']);
  await call('authorized', ['--from', 'client:dana', '--to', '+442079460018', '--digits', '97531#', '--talk', '30']);
});

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
  // Over everything the usage and calls commands printed: never an authorization code's digits.
  expect(tollgate.transcript.join('\n')).not.toMatch(/(?<![0-9])97531(?![0-9])/);
});

describe('tollgate calls show', () => {
  it('prints a record readably: the usage columns in the account zone, then what else it keeps', async () => {
    const r = await tollgate(['calls', 'show', sids.valid as string]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^call_sid +${sids.valid}$`, 'm'));
    expect(r.stdout).toMatch(/^code +0042$/m);
    expect(r.stdout).toMatch(/^code_description +Acme Corp - general counsel$/m);
    expect(r.stdout).toMatch(/^talk_s +125$/m);
    expect(r.stdout).toMatch(/^started_at +\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[45]:00$/m);
    expect(r.stdout).toMatch(/^treatment +required$/m);
  });

  it('shows an authorization-coded call by description and reference, never its digits', async () => {
    const r = await tollgate(['calls', 'show', sids.authorized as string]);
    expect(r.stdout).toMatch(/^code *$/m);
    expect(r.stdout).toMatch(/^code_description +Premium-rate and international - finance$/m);
    expect(r.stdout).toMatch(/^code_ref +[0-9a-f]{8} \(an authorization code; its digits are never kept\)$/m);
  });

  it('says so for a call that does not exist, and for something that is not a Call SID', async () => {
    const missing = await tollgate(['calls', 'show', `CA${'f'.repeat(32)}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/there is no call CAf+/);
    const bad = await tollgate(['calls', 'show', 'hello']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a Call SID/);
  });
});

describe('tollgate usage export and download', () => {
  let day: string;

  beforeAll(async () => {
    day = await dayOf('valid');
  });

  it('writes a day now, says what it wrote, and that the hourly export writes it again once due', async () => {
    const r = await tollgate(['usage', 'export', '--date', day]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote s3://${stack.bucket}/exports/demo/usage/${day.slice(0, 4)}/${day.slice(5, 7)}/usage-${day}.csv`);
    expect(r.stdout).toMatch(/summary-\d{4}-\d{2}\.csv +\(\d+ rows?, month to date/);
    expect(r.stdout).toMatch(/note: .* not due yet/);
    const rows = parse((await object(usageDayKey('demo', day))) as Buffer, { bom: true, columns: true }) as Record<string, string>[];
    const valid = rows.find((x) => x.call_sid === sids.valid);
    expect(valid).toMatchObject({ code: '0042', code_status: 'valid', talk_s: '125', outcome: 'completed' });
  });

  it('refuses a day that has not begun, and a wrong or missing option', async () => {
    const future = await tollgate(['usage', 'export', '--date', '2999-01-01']);
    expect(future.code).toBe(1);
    expect(future.stderr).toMatch(/has not begun yet/);
    expect((await tollgate(['usage', 'export'])).code).toBe(2);
    expect((await tollgate(['usage', 'export', '--date', day, '--month', day.slice(0, 7)])).code).toBe(2);
    expect((await tollgate(['usage', 'export', '--month', '2026-13'])).stderr).toMatch(/not a month/);
  });

  it('downloads the month: the daily files and the summary, byte for byte', async () => {
    const month = day.slice(0, 7);
    const r = await tollgate(['usage', 'download', '--month', month, '--out', 'finance']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^downloaded 2 files .* to finance\/$/m);
    expect((await readdir(join(work, 'finance'))).sort()).toEqual([`summary-${month}.csv`, `usage-${day}.csv`]);
    const file = await readFile(join(work, 'finance', `usage-${day}.csv`));
    expect(file).toEqual(await object(usageDayKey('demo', day)));
    expect(file.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(file.toString('utf8').split('\r\n')[0]).toBe(`\ufeff${USAGE_COLUMNS.join(',')}`);
  });

  it('prints links instead with --presign, which fetch the files', async () => {
    const month = day.slice(0, 7);
    const r = await tollgate(['usage', 'download', '--month', month, '--presign', '--expires', '600']);
    expect(r.code, r.stderr).toBe(0);
    const urls = r.stdout.trim().split('\n');
    expect(urls).toHaveLength(2);
    const res = await fetch(urls[0] as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="usage-${day}.csv"`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(await object(usageDayKey('demo', day)));
    expect(r.stderr).toMatch(/2 links .* valid until/);
  });

  it('says what to do when a month has no files yet', async () => {
    const r = await tollgate(['usage', 'download', '--month', '2001-01']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no usage files for 2001-01 .* tollgate usage export --month 2001-01/);
  });
});

describe('tollgate calls tag', () => {
  it('tags a call with an account code, keeps who and when, and the scheduled export writes the day again', async () => {
    const day = await dayOf('skipped');
    await tollgate(['usage', 'export', '--date', day]);
    const r = await tollgate(['calls', 'tag', sids.skipped as string, '0107']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`tagged call ${sids.skipped} with account code 0107 (Birchwood Estate - probate); it had no code (code_status skipped)`);
    expect(r.stdout).toMatch(/^tagged by casey at /m);
    const show = await tollgate(['calls', 'show', sids.skipped as string]);
    expect(show.stdout).toMatch(/^code_status +tagged$/m);
    expect(show.stdout).toMatch(/^tagged_by +casey$/m);

    // The stack's scheduled export (run now rather than at five past the hour).
    const run = await stack.exports.runNow();
    expect(run.accounts.find((a) => a.account === 'demo')?.files.map((f) => f.key)).toContain(usageDayKey('demo', day));
    const rows = parse((await object(usageDayKey('demo', day))) as Buffer, { bom: true, columns: true }) as Record<string, string>[];
    expect(rows.find((x) => x.call_sid === sids.skipped)).toMatchObject({ code: '0107', code_description: 'Birchwood Estate - probate', code_status: 'tagged' });
  });

  it('says nothing changed when the call already carries the code', async () => {
    const r = await tollgate(['calls', 'tag', sids.skipped as string, '0107', '--by', 'someone-else']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/already carries account code 0107 .*nothing changed/);
  });

  it('refuses a code the call flow would refuse, and an authorization-coded call', async () => {
    const disabled = await tollgate(['calls', 'tag', sids.valid as string, '9000']);
    expect(disabled.code).toBe(1);
    expect(disabled.stderr).toMatch(/account code 9000 is disabled/);
    const restricted = await tollgate(['calls', 'tag', sids.skipped as string, '1002']);
    expect(restricted.stderr).toMatch(/account code 1002 is not allowed for client:bob \(group staff\)/);
    const unknown = await tollgate(['calls', 'tag', sids.valid as string, '97531']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/has no account code with those digits \(only account codes tag calls/);
    const authorized = await tollgate(['calls', 'tag', sids.authorized as string, '0042']);
    expect(authorized.code).toBe(1);
    expect(authorized.stderr).toMatch(/went through on an authorization code .* cannot be tagged/);
  });
});

describe('the local stack scheduler', () => {
  it('runs the export once shortly after start, writing days that ended while the stack was down', async () => {
    // A call three days ago, stored as the voice function stores it.
    const client = makeDynamoClient({ endpoint: stack.dynamodbEndpoint });
    const startedAt = new Date(Date.now() - 3 * 86_400_000);
    const day = localDate(startedAt, NY);
    const sid = `CA${'3'.repeat(32)}`;
    const state = {
      callSid: sid,
      account: 'demo',
      direction: 'outbound',
      user: 'client:erin',
      caller: 'client:erin',
      destination: '+12125550100',
      destinationClass: 'national',
      treatment: 'free',
      maxAttempts: 3,
      validate: true,
      proceedAfterMaxAttempts: false,
      minLevel: 0,
      phase: 'ended',
      step: 0,
      attempts: 0,
      codeStatus: 'none',
      outcome: 'completed',
      startedAt: startedAt.toISOString(),
      endedAt: new Date(startedAt.getTime() + 60_000).toISOString(),
      durationS: 60,
      talkS: 55,
      dialCompleted: true,
      statusReceived: true,
      lastActions: [],
    } satisfies CallState;
    await makeDynamoStores({ client, tables: stack.tables, now: () => startedAt }).calls.put(state, { expectedRevision: undefined, timeZone: NY });
    client.destroy();
    await stack.stop();

    stack = await startLocalStack({ home, port: 0, authToken: 'test-token', log: silentLogger, seed: false, exportSchedule: { firstRunMs: 100 } });
    s3.destroy();
    s3 = makeS3Client({ endpoint: stack.s3Endpoint });
    const deadline = Date.now() + 15_000;
    let file: Buffer | undefined;
    while ((file = await object(usageDayKey('demo', day))) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(file, `no usage file for ${day} within 15 s of start`).toBeDefined();
    const rows = parse(file as Buffer, { bom: true, columns: true }) as Record<string, string>[];
    expect(rows.map((x) => x.call_sid)).toEqual([sid]);
    // Every day from then to the last due one has its file, calls or not (once the run, which
    // writes them one by one, is over: runNow joins it).
    await stack.exports.runNow();
    expect(await object(usageDayKey('demo', addDays(day, 1)))).toBeDefined();
  });
});
