/**
 * The import function under faults (docs/data-model.md "idempotent", §11 "nothing half-applied"):
 * throttled batch writes — DynamoDB handing items back as UnprocessedItems, and the SDK
 * throwing ThrottlingException — injected at the SDK boundary (support/faults.ts), and S3
 * delivering the events of two uploads of one key twice and out of order. Every case ends
 * compared with a clean run of the same uploads: the whole codes table, item for item.
 *
 * Crashes that throw (a store that fails half way) and duplicate events of one version are
 * import.test.ts's; processes killed half way are faults-kill.test.ts's.
 */
import { describe, expect, it } from 'vitest';
import { makeDynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { handleS3Event, type S3Event } from '../../functions/handlers/import.ts';
import type { CodeChange } from '../../functions/core/ports.ts';
import { compareSequencers, ImportInProgressError, type ImportCodeStore, type ImporterDeps, type ImportReport } from '../../functions/services/importer.ts';
import { settingsJson, type ImportHarness } from './support/bucket.ts';
import { until } from './support/e2e-stack.ts';
import { injectFaults } from './support/faults.ts';
import { changesFile, cleanRun, closeAfterTest, codesFile, withAccount } from './support/import-runs.ts';

describe('throttled batch writes', () => {
  const BASE = 'imports/acme/codes/base.csv';
  const CHANGES = 'imports/acme/codes/changes.csv';

  it('retries items DynamoDB hands back as UnprocessedItems, with growing backoff, and ends as a clean run does', async () => {
    const reference = await cleanRun([
      [BASE, codesFile(400)],
      [CHANGES, changesFile(400)],
    ]);
    const h = await withAccount();
    const faults = closeAfterTest(await injectFaults(h.storage.client));
    // DynamoDB writes only 10 items of each request and hands the rest back: a batch of 25
    // takes three requests, two of them retries.
    faults.plan = (a) => (a.command === 'BatchWriteItem' && a.attempt === 0 ? { kind: 'unprocessed', keep: 10 } : undefined);
    const sleeps: number[] = [];
    const stores = makeDynamoStores({
      client: h.storage.client,
      tables: h.storage.tables,
      now: h.storage.clock,
      batch: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.999 },
    });
    const deps: ImporterDeps = { ...h.deps, codes: stores.codes };

    for (const [key, body] of [
      [BASE, codesFile(400)],
      [CHANGES, changesFile(400)],
    ] as const) {
      await h.upload(key, body);
      const [report] = await handleS3Event(deps, h.lastEvent(key));
      expect(report?.status, key).toBe('applied');
    }
    expect(faults.log.filter((a) => a.fault === 'unprocessed').length).toBeGreaterThan(20);
    // Exponential backoff with full jitter: the first retry waits up to 25 ms, the second up to 50 ms.
    expect(sleeps.length).toBeGreaterThan(20);
    expect(Math.max(...sleeps)).toBeLessThan(50);
    expect(sleeps.filter((ms) => ms > 25).length).toBeGreaterThan(0);
    expect(sleeps.filter((ms) => ms <= 25).length).toBeGreaterThan(0);
    expect(await h.scanCodesTable()).toEqual(reference);
  });

  it('lets the SDK retry a ThrottlingException, and when throttling outlasts its retries, fails the delivery so the next one ends as a clean run does', async () => {
    const reference = await cleanRun([[BASE, codesFile(600)]]);
    const h = await withAccount();
    const faults = closeAfterTest(await injectFaults(h.storage.client));
    await h.upload(BASE, codesFile(600));
    const event = h.lastEvent(BASE);

    // Every BatchWriteItem attempt is throttled after the first few batches went through.
    let writes = 0;
    faults.plan = (a) => (a.command === 'BatchWriteItem' && a.attempt >= 1 && ++writes > 6 ? { kind: 'throttle', error: 'ThrottlingException' } : undefined);
    await expect(handleS3Event(h.deps, event)).rejects.toMatchObject({ name: 'ThrottlingException' });
    // The SDK tried each throttled batch three times (its default) before giving up.
    const throttled = faults.log.filter((a) => a.fault === 'throttle');
    expect(throttled.some((a) => a.attempt === 3)).toBe(true);
    expect(throttled.every((a) => a.attempt <= 3)).toBe(true);
    const half = await h.scanCodesTable();
    expect(half.length).toBeGreaterThan(0);
    expect(half).not.toEqual(reference);
    expect(await h.reportKeys('acme')).toHaveLength(1); // the settings' report only

    // The next delivery meets a throttle on each of its first batches, which the SDK's own retry absorbs.
    faults.reset();
    let throttles = 0;
    faults.plan = (a) =>
      a.command === 'BatchWriteItem' && a.attempt === 1 && ++throttles <= 4 ? { kind: 'throttle', error: 'ProvisionedThroughputExceededException' } : undefined;
    const [report] = await handleS3Event(h.deps, event);
    expect(report).toMatchObject({ status: 'applied', rows: 600, errorCount: 0 });
    expect(faults.log.filter((a) => a.fault === 'throttle')).toHaveLength(4);
    expect(faults.log.filter((a) => a.command === 'BatchWriteItem' && a.attempt === 2)).toHaveLength(4);
    expect(await h.scanCodesTable()).toEqual(reference);
    expect(await handleS3Event(h.deps, event)).toEqual([]);
  });
});

describe('S3 events delivered twice and out of order', () => {
  it('applies the newer of two uploads of a key and not the older one whose event came last (unversioned bucket, as s3rver)', async () => {
    const KEY = 'imports/acme/codes-replace/all.csv';
    const older = codesFile(50, 10_000, ' (old)');
    const newer = codesFile(30, 10_020, ' (new)');
    const reference = await cleanRun([
      [KEY, older],
      [KEY, newer],
    ]);
    const h = await withAccount();
    await h.upload(KEY, older);
    const olderEvent = h.lastEvent(KEY);
    const seq = (e: S3Event) => String(e.Records?.[0]?.s3?.object?.sequencer);
    // s3rver's sequencer is the upload's millisecond in hex: the second upload must come in a later one.
    await until('the clock to tick', 1_000, () => (compareSequencers(Date.now().toString(16), seq(olderEvent)) > 0 ? true : undefined));
    await h.upload(KEY, newer);
    const newerEvent = h.lastEvent(KEY);
    expect(compareSequencers(seq(newerEvent), seq(olderEvent))).toBe(1);

    expect((await h.deliver(newerEvent))[0]?.status).toBe('applied');
    const [late] = await h.deliver(olderEvent);
    expect(late).toMatchObject({ status: 'rejected', errorCount: 1, rows: 0, mode: 'replace' });
    expect(late?.errors[0]?.message).toMatch(/newer upload of this file was applied/);
    expect(await h.scanCodesTable()).toEqual(reference);
    // And each delivered again: nothing changes, no report.
    const reports = await h.reportKeys('acme');
    expect(await h.deliver(newerEvent)).toEqual([]);
    expect(await h.deliver(olderEvent)).toEqual([]);
    expect(await h.reportKeys('acme')).toEqual(reports);
    expect(await h.scanCodesTable()).toEqual(reference);
  });

  describe('in a versioned bucket (as in AWS)', () => {
    /** Object versions kept in memory and read by version ID, as S3 versioning keeps them. */
    function versioned(h: ImportHarness) {
      const versions = new Map<string, string>();
      const reports: ImportReport[] = [];
      let n = 0;
      const deps: ImporterDeps = {
        ...h.deps,
        objects: {
          async read(ref) {
            const body = versions.get(`${ref.key}@${ref.versionId}`);
            if (body === undefined) throw new Error(`no version ${ref.versionId} of ${ref.key}`);
            return (async function* () {
              yield Buffer.from(body);
            })();
          },
          async writeReport(_key, report) {
            reports.push(report);
          },
          async replaceRedacted(ref, lines) {
            let body = '';
            for await (const line of lines) body += line;
            versions.set(`${ref.key}@v${++n}-redacted`, body);
            versions.delete(`${ref.key}@${ref.versionId}`);
          },
          async remove(ref) {
            versions.delete(`${ref.key}@${ref.versionId}`);
          },
          async describe(ref) {
            return { redacted: ref.versionId?.endsWith('-redacted') === true };
          },
        },
      };
      /** Store a version; its event as S3 writes it. */
      const put = (key: string, body: string, sequencer: string): S3Event => {
        const versionId = `v${++n}-${sequencer}`;
        versions.set(`${key}@${versionId}`, body);
        return {
          Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: h.bucket }, object: { key, versionId, size: body.length, eTag: `etag${n}`, sequencer } } }],
        };
      };
      return { deps, put, reports, versions };
    }

    it('leaves no version holding authorization digits: applied (merge and replace) and rejected files alike', async () => {
      const h = await withAccount();
      const v = versioned(h);
      const secrets = ['80417362', '55190283', '7730164'];
      const applied = v.put('imports/acme/codes/auth.csv', `code,kind,level,description\n${secrets[0]},authorization,2,Finance\n1001,account,,Acme\n`, '01');
      const replaced = v.put('imports/acme/codes-replace/all.csv', `code,kind,level\n${secrets[1]},authorization,1\n1001,account,\n`, '02');
      const rejected = v.put('imports/acme/codes/bad.csv', `code,kind,level\n${secrets[2]},authorization,999\n`, '03');
      expect((await handleS3Event(v.deps, applied))[0]?.status).toBe('applied');
      expect((await handleS3Event(v.deps, replaced))[0]?.status).toBe('applied');
      expect((await handleS3Event(v.deps, rejected))[0]?.status).toBe('rejected');
      const bodies = [...v.versions.entries()];
      for (const secret of secrets) for (const [id, body] of bodies) expect(body, `${id} holds ${secret}`).not.toContain(secret);
      // What is left of the two applied files is one redacted version each; the rejected file is gone.
      expect(bodies.map(([id]) => id.split('@')[0]).sort()).toEqual(['imports/acme/codes-replace/all.csv', 'imports/acme/codes/auth.csv']);
      expect(v.versions.get([...v.versions.keys()].find((k) => k.startsWith('imports/acme/codes/auth.csv@')) ?? '')).toMatch(/,[0-9a-f]{8},Finance,authorization,true,,2,/);
    });

    it('keeps the newer settings when the older upload’s event arrives last, comparing sequencers of different lengths as S3 says', async () => {
      const h = await withAccount();
      const v = versioned(h);
      const KEY = 'imports/acme/settings.json';
      // Later than the harness's own upload of the key, and "FFFFFFFFFFFF" is older than
      // "1000000000000": left-padded to equal length, then compared (as plain strings it would
      // be the other way round).
      const older = v.put(KEY, settingsJson('acme', { callerId: '+14155550111' }), 'FFFFFFFFFFFF');
      const newer = v.put(KEY, settingsJson('acme', { callerId: '+14155550222' }), '1000000000000');
      expect((await handleS3Event(v.deps, newer))[0]?.status).toBe('applied');
      expect((await handleS3Event(v.deps, older))[0]).toMatchObject({ status: 'rejected', mode: 'replace' });
      expect((await h.storage.stores.accounts.getSettings('acme'))?.callerId).toBe('+14155550222');
      expect(await handleS3Event(v.deps, older)).toEqual([]);
      expect(await handleS3Event(v.deps, newer)).toEqual([]);
      expect(v.reports.map((r) => r.status)).toEqual(['applied', 'rejected']);
    });

    it('applies both when they arrive in order, and a rejected newer upload does not stop a late older one', async () => {
      const h = await withAccount();
      const v = versioned(h);
      const KEY = 'imports/acme/codes/list.csv';
      const a = v.put(KEY, codesFile(5, 10_000, ' a'), '0062E99A88DC407460');
      const b = v.put(KEY, 'code\nnot-a-code\n', '0062E99A88DC407461');
      const c = v.put(KEY, codesFile(5, 10_000, ' c'), '0062E99A88DC407462');
      // b is rejected (a bad row): it changes nothing, so a, arriving after it, still applies…
      expect((await handleS3Event(v.deps, b))[0]?.status).toBe('rejected');
      expect((await handleS3Event(v.deps, a))[0]?.status).toBe('applied');
      // …and c, the newest, applies over a.
      expect((await handleS3Event(v.deps, c))[0]?.status).toBe('applied');
      expect((await h.codes('acme')).map((x) => x.description).sort()).toEqual(['Auth 0 c', 'Client 1 c', 'Client 2 c', 'Client 3 c', 'Client 4 c']);
    });

    it('applies two uploads of a key one at a time: a delivery that meets the other in progress is retried, then ends as in order', async () => {
      const h = await withAccount();
      const v = versioned(h);
      const KEY = 'imports/acme/codes/list.csv';
      const older = v.put(KEY, codesFile(40, 10_000, ' old'), '0A');
      const newer = v.put(KEY, codesFile(40, 10_000, ' new'), '0B');
      // The older upload's run stops in its first write until the test lets it go.
      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let writing = false;
      const store = h.deps.codes;
      const slow: ImportCodeStore = {
        ...(store.hasCodes === undefined ? {} : { hasCodes: store.hasCodes.bind(store) }),
        getCodes: (account, keys) => store.getCodes(account, keys),
        listCodes: (account) => store.listCodes(account),
        codeForCallerId: (account, callerId) => store.codeForCallerId(account, callerId),
        async writeCodes(account: string, changes: readonly CodeChange[]) {
          writing = true;
          await gate;
          await store.writeCodes(account, changes);
        },
      };
      const olderRun = handleS3Event({ ...v.deps, codes: slow }, older);
      olderRun.catch(() => undefined);
      await until('the older upload to be writing', 30_000, () => (writing ? true : undefined));
      // Meanwhile the newer upload's event arrives: it must not run over the older one.
      await expect(handleS3Event(v.deps, newer)).rejects.toBeInstanceOf(ImportInProgressError);
      release();
      expect((await olderRun)[0]?.status).toBe('applied');
      // The queue delivers it again: now it applies, over the older content.
      expect((await handleS3Event(v.deps, newer))[0]?.status).toBe('applied');
      expect(new Set((await h.codes('acme')).map((x) => x.description?.split(' ').at(-1)))).toEqual(new Set(['new']));
    });
  });
});
