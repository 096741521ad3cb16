/**
 * The local bucket-event wiring: s3rver's events become S3 notifications as AWS writes them,
 * and the queue behaves like SQS with a dead-letter queue (retries, order, nothing lost).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeS3Key, objectRefs, type S3Event } from '../../functions/handlers/import.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { encodeS3Key, ImportQueue, importNotification } from '../../local/bucket-events.ts';

/** An event as s3rver 3.7 emits it: the key raw, no version id. */
function s3rverEvent(key: string, eventName = 'ObjectCreated:Put', bucket = 'tollgate-local') {
  return {
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'aws:s3',
        eventTime: new Date().toISOString(),
        eventName,
        s3: { bucket: { name: bucket }, object: { key, size: 10, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '18C0' } },
      },
    ],
  };
}

describe('S3 keys in notifications', () => {
  it.each(['imports/acme/codes/march 2026.csv', 'imports/acme/codes/a+b=c&d.csv', 'imports/acme/codes/Zürich (neu).csv', "imports/acme/codes/o'brien%.csv"])(
    'encodes %s as S3 does and the import handler decodes it back',
    (key) => {
      const encoded = encodeS3Key(key);
      expect(encoded).not.toContain(' ');
      expect(decodeS3Key(encoded)).toBe(key);
    },
  );

  it('writes a space as + and keeps the slashes', () => {
    expect(encodeS3Key('imports/acme/codes/march 2026.csv')).toBe('imports/acme/codes/march+2026.csv');
  });
});

describe('importNotification', () => {
  it('passes objects created under imports/ of the bucket, the key encoded as S3 does', () => {
    const event = importNotification(s3rverEvent('imports/acme/codes/my file.csv', 'ObjectCreated:Post'), 'tollgate-local') as S3Event;
    expect(event.Records?.[0]?.s3?.object?.key).toBe('imports/acme/codes/my+file.csv');
    // The sequencer is what tells two uploads of the same bytes apart in an unversioned bucket.
    expect(objectRefs(event)).toEqual([{ key: 'imports/acme/codes/my file.csv', eTag: 'd41d8cd98f00b204e9800998ecf8427e', size: 10, sequencer: '18C0' }]);
  });

  it.each([
    ['a delete', s3rverEvent('imports/acme/codes/x.csv', 'ObjectRemoved:Delete')],
    ['a report', s3rverEvent('results/acme/x.20261121T000000Z.json')],
    ['an export', s3rverEvent('exports/acme/usage/2026/11/usage-2026-11-20.csv')],
    ['another bucket', s3rverEvent('imports/acme/codes/x.csv', 'ObjectCreated:Put', 'other')],
  ])('ignores %s', (_what, event) => {
    expect(importNotification(event, 'tollgate-local')).toBeUndefined();
  });
});

describe('ImportQueue', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-queue-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const event = (name: string): S3Event => importNotification(s3rverEvent(`imports/acme/codes/${name}.csv`), 'tollgate-local') as S3Event;
  const keyOf = (e: S3Event): string => e.Records?.[0]?.s3?.object?.key ?? '';
  const files = async (sub: string): Promise<string[]> => readdir(join(dir, sub));

  function queue(handle: (e: S3Event) => Promise<unknown>, maxAttempts = 3): ImportQueue {
    return new ImportQueue({ dir: join(dir, 'queue'), deadLetterDir: join(dir, 'dead-letter'), handle, log: silentLogger, maxAttempts, backoffMs: 1 });
  }

  it('hands notifications over one at a time, in order, and forgets them once handled', async () => {
    const seen: string[] = [];
    let running = 0;
    const q = queue(async (e) => {
      running++;
      expect(running).toBe(1);
      await new Promise((r) => setTimeout(r, 2));
      seen.push(keyOf(e));
      running--;
    });
    for (const name of ['settings', 'a', 'b', 'c']) q.enqueue(event(name));
    await q.idle();
    expect(seen).toEqual(['imports/acme/codes/settings.csv', 'imports/acme/codes/a.csv', 'imports/acme/codes/b.csv', 'imports/acme/codes/c.csv']);
    expect(await files('queue')).toEqual([]);
  });

  it('retries an import that throws, like SQS redelivering it', async () => {
    let calls = 0;
    const q = queue(async () => {
      calls++;
      if (calls < 3) throw new Error('DynamoDB unavailable');
    });
    q.enqueue(event('a'));
    await q.idle();
    expect(calls).toBe(3);
    expect(await files('dead-letter')).toEqual([]);
  });

  it('dead-letters a notification that fails on every attempt, and goes on with the next', async () => {
    const done: string[] = [];
    const q = queue(async (e) => {
      if (keyOf(e).endsWith('bad.csv')) throw new Error('always');
      done.push(keyOf(e));
    });
    q.enqueue(event('bad'));
    q.enqueue(event('good'));
    await q.idle();
    expect(done).toEqual(['imports/acme/codes/good.csv']);
    expect(await files('dead-letter')).toHaveLength(1);
    expect(await files('queue')).toEqual([]);
  });

  it('keeps what it could not finish on disk and replays it on the next start', async () => {
    let fail = true;
    const handled: string[] = [];
    const first = queue(async (e) => {
      if (fail) throw new Error('storage down');
      handled.push(keyOf(e));
    }, 10);
    first.enqueue(event('a'));
    first.enqueue(event('b'));
    await first.close();
    expect(await files('queue')).toHaveLength(2);

    fail = false;
    const second = queue(async (e) => {
      handled.push(keyOf(e));
    });
    expect(second.replay()).toBe(2);
    await second.idle();
    expect(handled).toEqual(['imports/acme/codes/a.csv', 'imports/acme/codes/b.csv']);
    expect(await files('queue')).toEqual([]);
  });
});
