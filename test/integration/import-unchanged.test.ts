/**
 * Unchanged rows cost less than a read (docs/data-model.md, "Unchanged rows"): the next upload
 * of a key skips the chunks that match the last applied upload of that key, as long as no
 * import has written codes since; otherwise, or when another import writes codes while it
 * runs, it reads and compares every row.
 */
import { describe, expect, it } from 'vitest';
import { countRequests } from '../../functions/adapters/dynamodb/client.ts';
import type { ImporterDeps } from '../../functions/services/importer.ts';
import { handleS3Event } from '../../functions/handlers/import.ts';
import { codesFile, withAccount } from './support/import-runs.ts';

const KEY = 'imports/acme/codes/clients.csv';
const REPLACE = 'imports/acme/codes-replace/all.csv';

type Harness = Awaited<ReturnType<typeof withAccount>>;

/** Upload and import `body` at `key`, counting the codes table's reads and writes. */
async function imported(h: Harness, key: string, body: string, deps: ImporterDeps = h.deps) {
  await h.upload(key, body);
  const counter = countRequests(h.storage.client);
  const [report] = await handleS3Event(deps, h.lastEvent(key));
  counter.detach();
  return { report, reads: counter.byOperation.get('BatchGetItem') ?? 0, writes: counter.byOperation.get('BatchWriteItem') ?? 0 };
}

describe('the next upload of a codes file', () => {
  it('skips every chunk of an unchanged file: no code is read or written', async () => {
    const h = await withAccount();
    const file = codesFile(5_000);
    expect((await imported(h, KEY, file)).report).toMatchObject({ status: 'applied', created: 5_000 });
    const again = await imported(h, KEY, file);
    expect(again.report).toMatchObject({ status: 'applied', rows: 5_000, created: 0, updated: 0, unchanged: 5_000, deleted: 0 });
    expect(again).toMatchObject({ reads: 0, writes: 0 });
  });

  it('reads only the chunks that changed, and applies the change', async () => {
    const h = await withAccount();
    const file = codesFile(5_000);
    await imported(h, KEY, file);
    const edited = file.replace('10001,Client 1,', '10001,Client 1 (renamed),');
    const again = await imported(h, KEY, edited);
    expect(again.report).toMatchObject({ rows: 5_000, updated: 1, unchanged: 4_999 });
    // One chunk of 2,000 rows read (20 BatchGetItem of 100 keys), not three.
    expect(again.reads).toBeGreaterThan(0);
    expect(again.reads).toBeLessThanOrEqual(25);
    expect((await h.codes('acme')).find((c) => c.code === '10001')?.description).toBe('Client 1 (renamed)');
  });

  it('reads every row once another import has written codes, and puts back what it changed', async () => {
    const h = await withAccount();
    const file = codesFile(5_000);
    await imported(h, KEY, file);
    // Another file renames a code the first one names.
    await imported(h, 'imports/acme/codes/other.csv', 'code,description\r\n10001,Changed elsewhere\r\n');
    const again = await imported(h, KEY, file);
    expect(again.report).toMatchObject({ rows: 5_000, updated: 1, unchanged: 4_999 });
    expect(again.reads).toBeGreaterThan(40);
    expect((await h.codes('acme')).find((c) => c.code === '10001')?.description).toBe('Client 1');
    // And the one after that skips again.
    expect(await imported(h, KEY, file)).toMatchObject({ reads: 0, writes: 0 });
  });

  it('applies the file again, reading, when another import writes codes while it skips chunks', async () => {
    const h = await withAccount();
    const file = codesFile(5_000);
    await imported(h, KEY, file);
    let raced = false;
    const ledger = h.deps.ledger;
    const racing: ImporterDeps = {
      ...h.deps,
      ledger: Object.assign(Object.create(ledger) as typeof ledger, {
        // Just before this import moves the generation on, another one writes a code and moves it first.
        advanceCodesGeneration: async (account: string, from: number | undefined, wrote: boolean) => {
          if (!raced) {
            raced = true;
            await h.deps.codes.writeCodes('acme', [{ put: { key: 'A#10002', kind: 'account', code: '10002', description: 'Changed meanwhile', enabled: true } }]);
            await ledger.advanceCodesGeneration(account, undefined, true);
          }
          return ledger.advanceCodesGeneration(account, from, wrote);
        },
      }),
    };
    const again = await imported(h, KEY, file, racing);
    expect(raced).toBe(true);
    expect(again.report).toMatchObject({ rows: 5_000, updated: 1, unchanged: 4_999 });
    expect(again.reads).toBeGreaterThan(40);
    expect((await h.codes('acme')).find((c) => c.code === '10002')?.description).toBe('Client 2');
  });

  it('skips the sweep of an unchanged replace file, and sweeps a changed one', async () => {
    const h = await withAccount();
    const file = codesFile(3_000);
    await imported(h, REPLACE, file);
    const counter = countRequests(h.storage.client);
    const again = await imported(h, REPLACE, file);
    counter.detach();
    expect(again.report).toMatchObject({ mode: 'replace', unchanged: 3_000, deleted: 0 });
    expect(again).toMatchObject({ reads: 0, writes: 0 });
    const shorter = await imported(h, REPLACE, codesFile(2_500));
    expect(shorter.report).toMatchObject({ mode: 'replace', unchanged: 2_500, deleted: 500 });
    expect((await h.codes('acme')).length).toBe(2_500);
  });
});
