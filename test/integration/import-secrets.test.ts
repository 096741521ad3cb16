/**
 * docs/design.md, docs/data-model.md: the digits of an authorization code are a secret. Through every kind of
 * import — applied, rejected, duplicates, bad rows, deletes, replace, a failing store — they
 * must not reach a report, a log line, or any attribute stored in DynamoDB.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeStore } from '../../functions/core/ports.ts';
import { makeImportHandler } from '../../functions/handlers/import.ts';
import type { ImportReport } from '../../functions/services/importer.ts';
import { crlf, settingsJson, startImportHarness, type ImportHarness } from './support/bucket.ts';

/** Authorization codes the files below use; none may leak. Distinctive, so a match is no accident. */
const SECRETS = ['73915264', '60481937', '58203716', '4471920365', '918273', '29384756', '86420913', '31415926'];
/** The authorization codes of test/fixtures/csv/authorization-errors.csv (the 6+ digit ones). */
const FIXTURE_SECRETS = ['765432109', '987654', '9.87654E+05', '864213', '975310', '246810'];

let h: ImportHarness;
const reports: ImportReport[] = [];

async function upload(key: string, body: string | Uint8Array): Promise<ImportReport> {
  const list = await h.upload(key, body);
  expect(list).toHaveLength(1);
  const report = list[0] as ImportReport;
  reports.push(report);
  return report;
}

beforeAll(async () => {
  h = await startImportHarness();
  await upload('imports/acme/settings.json', settingsJson('acme'));
});
afterAll(async () => {
  await h?.close();
});

describe('authorization code digits', () => {
  it('are accepted and applied: created, updated, unchanged, deleted, replaced', async () => {
    const first = await upload(
      'imports/acme/codes/auth.csv',
      crlf([
        'code,description,kind,level,users,groups',
        '73915264,Finance director,authorization,3,client:alice,',
        '60481937,Partners,authorization,2,,lawyers',
        '58203716,Reception,auth,0,,',
        '29384756,Night desk,authorisation,1,,',
        '1001,Acme (an account code),account,,,',
      ]),
    );
    expect(first).toMatchObject({ status: 'applied', created: 5 });

    const second = await upload(
      'imports/acme/codes/auth.csv',
      crlf([
        'code,description,kind,level,groups,action',
        '73915264,Finance director,authorization,4,,', // updated
        '60481937,Partners,authorization,2,lawyers,', // unchanged
        '58203716,,,,,delete', // deleted without naming its kind
        '86420913,,authorization,,,delete', // not stored: unchanged
        '31415926,New,authorization,1,,', // created
      ]),
    );
    expect(second).toMatchObject({ status: 'applied', rows: 5, created: 1, updated: 1, unchanged: 2, deleted: 1 });

    const replaced = await upload(
      'imports/acme/codes-replace/all.csv',
      crlf(['code,description,kind,level', '73915264,Finance director,authorization,4', '29384756,Night desk,authorization,1', '1001,Acme,account,']),
    );
    expect(replaced).toMatchObject({ status: 'applied', mode: 'replace', deleted: 2 });
    const stored = await h.codes('acme');
    expect(stored.filter((c) => c.kind === 'authorization')).toHaveLength(2);
    expect(stored.filter((c) => c.kind === 'authorization').every((c) => c.code === undefined && /^[0-9a-f]{8}$/.test(c.ref ?? ''))).toBe(true);
  });

  it('are hidden in every error of a rejected file: bad rows, numbers a spreadsheet made, duplicates', async () => {
    const fixture = await upload('imports/acme/codes/errors.csv', readFileSync(join(import.meta.dirname, '../fixtures/csv/authorization-errors.csv')));
    expect(fixture.status).toBe('rejected');
    expect(fixture.errorCount).toBeGreaterThanOrEqual(6);
    // Each row is reported, by line, without its code.
    expect(new Set(fixture.errors.map((e) => e.line))).toEqual(new Set([2, 3, 4, 5, 6, 7]));
    for (const e of fixture.errors.filter((x) => x.column === 'code')) expect(e.value).toBe('(hidden: authorization code)');

    const dups = await upload(
      'imports/acme/codes/dups.csv',
      crlf([
        'code,description,kind,level,action',
        '4471920365,,authorization,1,', // too long for codeLength 4-8
        '918273,First,authorization,1,',
        '918273,Second,authorization,1,', // duplicate of an authorization code
        '29384756,,authorization,1,',
        '29384756,,,,delete', // a delete row repeating an authorization code, kind unsaid
        '7.3915264E+07,,authorization,1,', // a spreadsheet turned it into a number
        '60481937,,secret,1,', // unreadable kind: may be authorization
        '86420913,,authorization,999,', // level out of range
        '58203716,,authorization,1,',
        '58203716,,account,,', // an account row repeating an authorization code's digits
      ]),
    );
    expect(dups.status).toBe('rejected');
    expect(dups.errors.map((e) => [e.line, e.column])).toEqual([
      [2, 'code'],
      [4, 'code'],
      [6, 'code'],
      [7, 'code'],
      [8, 'kind'],
      [9, 'level'],
      [11, 'code'],
    ]);
    for (const e of dups.errors.filter((x) => x.column === 'code')) expect(e.value).toBe('(hidden: authorization code)');
    expect(dups.errors.find((e) => e.line === 4)?.message).toMatch(/^duplicate of line 3/);
    expect(dups.errors.find((e) => e.line === 6)?.message).toMatch(/^duplicate of line 5/);
  });

  it('are not in the error a failed import logs through the SQS handler', async () => {
    await upload('imports/acme/codes/late.csv', 'code,kind,level\n73915264,authorization,4\n918273,authorization,1\n');
    const store = h.storage.stores.codes;
    // An adapter whose error quotes what it was asked for, keys included.
    const failing: CodeStore = {
      getCodes: async (_account, keys) => {
        throw new Error(`read failed for ${JSON.stringify(keys)}`);
      },
      writeCodes: (account, changes) => store.writeCodes(account, changes),
      listCodes: (account) => store.listCodes(account),
      codeForCallerId: (account, callerId) => store.codeForCallerId(account, callerId),
    };
    // The same object uploaded again (a new sequencer), its event arriving through SQS. The
    // bucket holds only the redacted copy by now, so the upload's bytes are served as S3 served them.
    const record = h.lastEvent('imports/acme/codes/late.csv').Records?.[0];
    const again = { Records: [{ ...record, s3: { ...record?.s3, object: { ...record?.s3?.object, sequencer: 'FFFFFFFFFFFF' } } }] };
    // One level changed, so the chunk is not the one applied before and the import reads what is stored.
    const original = 'code,kind,level\n73915264,authorization,3\n918273,authorization,1\n';
    const objects = {
      ...h.deps.objects,
      read: async () =>
        (async function* () {
          yield Buffer.from(original);
        })(),
      describe: async () => ({ redacted: false }),
    };
    const result = await makeImportHandler({ ...h.deps, objects, codes: failing })({ Records: [{ messageId: 'm1', body: JSON.stringify(again) }] });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    const errorLine = h.logs.find((l) => l.includes('"level":"error"'));
    expect(errorLine).toContain('read failed for');
  });

  it('appear in no report in the bucket', async () => {
    const keys = await listAll('results/');
    expect(keys.length).toBeGreaterThanOrEqual(reports.length);
    const texts = await Promise.all(keys.map(async (k) => JSON.stringify(await h.readReport(k))));
    expect(texts.join('\n')).toContain('"status"'); // the reports were read
    for (const secret of [...SECRETS, ...FIXTURE_SECRETS]) {
      for (const [i, text] of texts.entries()) expect(text, `${keys[i]} contains ${secret}`).not.toContain(secret);
    }
  });

  it('appear in no log line', () => {
    expect(h.logs.length).toBeGreaterThan(5);
    for (const secret of [...SECRETS, ...FIXTURE_SECRETS]) {
      for (const line of h.logs) expect(line, `a log line contains ${secret}`).not.toContain(secret);
    }
  });

  it('rest in no object of the bucket: applied files are replaced by redacted copies, rejected ones removed', async () => {
    const keys = [...(await listAll('imports/')), ...(await listAll('results/'))];
    expect(keys).toContain('imports/acme/codes/auth.csv');
    const texts = await Promise.all(keys.map(async (k) => [k, await readText(k)] as const));
    for (const secret of [...SECRETS, ...FIXTURE_SECRETS]) {
      for (const [key, text] of texts) expect(text, `${key} holds ${secret}`).not.toContain(secret);
    }
    // The redacted copy keeps every row, authorization codes by ref, and says what each row did.
    const copy = texts.find(([k]) => k === 'imports/acme/codes/auth.csv')?.[1] ?? '';
    expect(copy.split('\r\n')[0]).toBe('\ufeffcode,ref,description,kind,enabled,expires,level,users,groups,caller_ids,action');
    expect(copy).toMatch(/\r\n,[0-9a-f]{8},Finance director,authorization,true,,4,,,,upsert\r\n/);
    // Its own notification imported nothing: every report names an upload the test made.
    expect(reports.every((r) => r.file !== '')).toBe(true);
  });

  it("update an authorization code's other fields by its ref, as an export imports back, without the digits", async () => {
    const before = (await h.codes('acme')).find((c) => c.kind === 'authorization');
    expect(before?.ref).toMatch(/^[0-9a-f]{8}$/);
    const report = await upload(
      'imports/acme/codes/from-export.csv',
      crlf(['code,ref,description,kind,enabled,expires,level,users,groups,caller_ids', `,${before?.ref},Partners (all),authorization,true,,3,,lawyers,`]),
    );
    expect(report).toMatchObject({ status: 'applied', rows: 1, updated: 1 });
    const after = (await h.codes('acme')).find((c) => c.ref === before?.ref);
    expect(after).toMatchObject({ key: before?.key, description: 'Partners (all)', level: 3, groups: ['lawyers'] });
    // A ref that names no code rejects the file, the line and ref named.
    const wrong = await upload('imports/acme/codes/from-export.csv', crlf(['code,ref,description,kind', ',00000000,Nobody,authorization']));
    expect(wrong).toMatchObject({ status: 'rejected', errorCount: 1 });
    expect(wrong.errors[0]).toMatchObject({ line: 2, column: 'ref', value: '00000000' });
  });

  it('appear in no attribute stored in either table', async () => {
    for (const table of [h.storage.tables.codes, h.storage.tables.accounts]) {
      const values = (await scanAll(table)).flatMap((item) => Object.values(item).flatMap(strings));
      expect(values.length).toBeGreaterThan(0);
      for (const secret of SECRETS) {
        for (const v of values) expect(v, `${table} holds ${secret}`).not.toContain(secret);
      }
    }
  });
});

async function readText(key: string): Promise<string> {
  const out = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key }));
  return (await out.Body?.transformToString('utf8')) ?? '';
}

async function listAll(prefix: string): Promise<string[]> {
  const out = await h.s3.send(new ListObjectsV2Command({ Bucket: h.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

async function scanAll(table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const out = await h.storage.client.send(new ScanCommand({ TableName: table, ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}) }));
    items.push(...(out.Items ?? []));
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
  return items;
}

/** Every string and number inside an attribute value, nested lists and maps included. */
function strings(av: AttributeValue): string[] {
  if (av.S !== undefined) return [av.S];
  if (av.N !== undefined) return [av.N];
  if (av.SS !== undefined) return av.SS;
  if (av.NS !== undefined) return av.NS;
  if (av.L !== undefined) return av.L.flatMap(strings);
  if (av.M !== undefined) return Object.values(av.M).flatMap(strings);
  return [];
}
