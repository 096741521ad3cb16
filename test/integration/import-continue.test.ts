/**
 * Imports longer than one invocation (docs/data-model.md): the import function pauses a codes
 * file at a checkpoint when its invocation runs short of time, sends its message again, and the
 * next invocation carries on from there; the end state is the one an uninterrupted run gives.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { makeImportHandler, type ImportContext } from '../../functions/handlers/import.ts';
import { reportPrefix } from '../../functions/core/reports.ts';
import type { ImportReport } from '../../functions/services/importer.ts';
import { TEST_BUCKET } from './support/bucket.ts';
import { changesFile, cleanRun, codesFile, withAccount } from './support/import-runs.ts';

type Harness = Awaited<ReturnType<typeof withAccount>>;

/** Deliver the upload of `key` through the SQS handler until nothing is sent again; every invocation's context from `context()`. */
async function untilDone(h: Harness, key: string, context: () => ImportContext, reserveMs: number): Promise<{ invocations: number; paused: number }> {
  const queue: string[] = [JSON.stringify(h.lastEvent(key))];
  let invocations = 0;
  const handler = makeImportHandler(h.deps, async (body) => void queue.push(body), reserveMs);
  while (queue.length > 0) {
    const body = queue.shift() as string;
    invocations++;
    if (invocations > 500) throw new Error('the import never finished');
    const result = await handler({ Records: [{ messageId: `m-${invocations}`, body }] }, context());
    expect(result.batchItemFailures).toEqual([]);
  }
  return { invocations, paused: invocations - 1 };
}

/** A context whose time runs out after `checks` questions: deterministic, whatever the machine's speed. */
const afterChecks = (checks: number) => () => {
  let asked = 0;
  return { getRemainingTimeInMillis: () => (asked++ < checks ? 60_000 : 0) };
};

/** The one report of the file called `name`. */
async function onlyReport(h: Harness, name: string): Promise<ImportReport> {
  const keys = (await h.reportKeys('acme')).filter((k) => k.startsWith(reportPrefix('acme', name)));
  expect(keys, name).toHaveLength(1);
  return (await h.readReport(keys[0] as string)) as ImportReport;
}

async function objectText(h: Harness, key: string): Promise<string> {
  const out = await h.s3.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
  return (await out.Body?.transformToString('utf8')) ?? '';
}

describe('a codes import longer than one invocation', () => {
  const BIG = 'imports/acme/codes/big.csv';

  it('continues a 100,000-row file across invocations of a few seconds each and ends as one uninterrupted run', async () => {
    const file = codesFile(100_000);
    const reference = await cleanRun([[BIG, file]]);
    const h = await withAccount();
    await h.upload(BIG, file);
    // Each invocation has 3 s before its deadline (no reserve): a real clock, as Lambda's.
    const runs = await untilDone(
      h,
      BIG,
      () => {
        const deadline = Date.now() + 3_000;
        return { getRemainingTimeInMillis: () => deadline - Date.now() };
      },
      0,
    );
    expect(await h.scanCodesTable()).toEqual(reference);
    expect(await onlyReport(h, 'big')).toMatchObject({ status: 'applied', rows: 100_000, created: 100_000, updated: 0, unchanged: 0, deleted: 0 });
    // The file held authorization digits: its redacted copy replaced it once the last row was applied.
    expect((await objectText(h, BIG)).split('\n')[0]).toMatch(/^\ufeff?code,ref,description/);
    console.info(`100,000 rows imported in ${runs.invocations} invocations of 3 s`);
  }, 300_000);

  it('pauses in every phase — applying, the replace sweep, the redacted copy — and counts as an uninterrupted run does', async () => {
    const BASE = 'imports/acme/codes/base.csv';
    const REPLACE = 'imports/acme/codes-replace/all.csv';
    const replacement = changesFile(6_000).replace(/^.*,delete\r\n/gm, '');
    const reference = await cleanRun([
      [BASE, codesFile(8_000)],
      [REPLACE, replacement],
    ]);
    const h = await withAccount();
    await h.upload(BASE, codesFile(8_000));
    expect((await untilDone(h, BASE, afterChecks(1), 1)).paused).toBeGreaterThan(0);
    await h.upload(REPLACE, replacement);
    // Time for one question per invocation: each moves on once (a chunk or a sweep batch), then pauses at its next.
    const runs = await untilDone(h, REPLACE, afterChecks(1), 1);
    expect(runs.paused).toBeGreaterThan(1);
    expect(await h.scanCodesTable()).toEqual(reference);
    const clean = await withAccount();
    await clean.upload(BASE, codesFile(8_000));
    await clean.deliver(clean.lastEvent(BASE));
    await clean.upload(REPLACE, replacement);
    const [whole] = await clean.deliver(clean.lastEvent(REPLACE));
    const continued = await onlyReport(h, 'all');
    for (const field of ['status', 'mode', 'rows', 'created', 'updated', 'unchanged', 'deleted'] as const) expect(continued[field], field).toEqual(whole?.[field]);
    expect(whole?.deleted).toBeGreaterThan(0);
    const phases = h.logs.filter((l) => l.includes('import paused')).map((l) => (JSON.parse(l) as { phase: string }).phase);
    expect(new Set(phases)).toEqual(new Set(['apply', 'sweep', 'redact']));
  }, 120_000);
});
