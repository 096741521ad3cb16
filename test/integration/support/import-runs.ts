/**
 * What the import fault suites share: codes files with every kind of row, a clean run of the
 * same uploads to compare with, and harnesses that close themselves after each test.
 */
import { afterEach, expect } from 'vitest';
import type { Item } from '../../../functions/adapters/dynamodb/attributes.ts';
import { crlf, settingsJson, startImportHarness, type ImportHarness, type ImportHarnessOptions } from './bucket.ts';

/** Things a test opened, closed (last first) after it. */
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** Close `thing` after the current test. */
export function closeAfterTest<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}

/** Account codes, authorization codes and caller-ID entries, numbered from `from`. */
export function codesFile(rows: number, from = 10_000, note = ''): string {
  const lines = ['code,description,kind,level,caller_ids'];
  for (let i = 0; i < rows; i++) {
    const code = String(from + i);
    if (i % 10 === 0) lines.push(`${code},Auth ${i}${note},authorization,${i % 4},`);
    else if (i % 7 === 0) lines.push(`${code},Client ${i}${note},account,,+1415555${String(i % 10_000).padStart(4, '0')}`);
    else lines.push(`${code},Client ${i}${note},account,,`);
  }
  return crlf(lines);
}

/** Updates, deletes and new codes over {@link codesFile}'s first `rows` codes. */
export function changesFile(rows: number): string {
  const lines = ['code,description,kind,level,caller_ids,action'];
  for (let i = 0; i < rows; i++) {
    const code = String(10_000 + i);
    if (i % 5 === 0) lines.push(`${code},,,,,delete`);
    else if (i % 3 === 0) lines.push(`${code},Client ${i} v2,account,,+1415666${String(i).padStart(4, '0')},`);
    else lines.push(`${code},Client ${i},account,,,`);
  }
  for (let i = 0; i < rows / 2; i++) lines.push(`${50_000 + i},New ${i},account,,,`);
  return crlf(lines);
}

/** The codes table after applying `files` in order in a fresh environment without faults. */
export async function cleanRun(files: readonly (readonly [string, string])[]): Promise<Item[]> {
  const clean = await startImportHarness();
  try {
    await clean.upload('imports/acme/settings.json', settingsJson('acme'));
    for (const [key, body] of files) {
      const [report] = await clean.upload(key, body);
      expect(report?.status, key).toBe('applied');
    }
    return await clean.scanCodesTable();
  } finally {
    await clean.close();
  }
}

/** A harness (closed after the test) whose events wait for the test to deliver them, with the account created. */
export async function withAccount(options: ImportHarnessOptions = {}): Promise<ImportHarness> {
  const h = closeAfterTest(await startImportHarness({ ...options, forward: false }));
  await h.upload('imports/acme/settings.json', settingsJson('acme'));
  expect((await h.deliver(h.lastEvent('imports/acme/settings.json')))[0]?.status).toBe('applied');
  return h;
}
