/** One stream read once by two consumers, each seeing every item in order, never more than the limit apart. */
import { describe, expect, it } from 'vitest';
import { tee } from '../../functions/services/tee.ts';

async function* numbers(n: number, reads: { count: number }, failAt?: number) {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error(`broke at ${i}`);
    reads.count++;
    yield i;
  }
}

async function collect<T>(items: AsyncIterable<T>, pause = 0): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) {
    out.push(item);
    if (pause > 0 && out.length % 7 === 0) await new Promise((r) => setTimeout(r, pause));
  }
  return out;
}

describe('tee', () => {
  it('gives both consumers every item, in order, reading the source once', async () => {
    const reads = { count: 0 };
    const [a, b] = tee(numbers(1000, reads), 10).streams;
    const [x, y] = await Promise.all([collect(a), collect(b, 1)]);
    const all = Array.from({ length: 1000 }, (_, i) => i);
    expect(x).toEqual(all);
    expect(y).toEqual(all);
    expect(reads.count).toBe(1000);
  });

  it('keeps the faster consumer at most `limit` items ahead of the slower', async () => {
    const reads = { count: 0 };
    const [fast, slow] = tee(numbers(200, reads), 5).streams;
    let maxAhead = 0;
    let slowTaken = 0;
    const fastRun = (async () => {
      let taken = 0;
      for await (const _ of fast) {
        taken++;
        maxAhead = Math.max(maxAhead, taken - slowTaken);
      }
    })();
    for await (const _ of slow) {
      slowTaken++;
      await new Promise((r) => setImmediate(r));
    }
    await fastRun;
    expect(maxAhead).toBeLessThanOrEqual(6);
    expect(slowTaken).toBe(200);
  });

  it('passes an error of the source to both consumers', async () => {
    const [a, b] = tee(numbers(50, { count: 0 }, 20), 4).streams;
    await expect(Promise.all([collect(a), collect(b)])).rejects.toThrow('broke at 20');
    const [c, d] = tee(numbers(50, { count: 0 }, 20), 4).streams;
    const results = await Promise.allSettled([collect(c), collect(d)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('ends a consumer waiting for the other when the other failed (cancel)', async () => {
    const split = tee(numbers(100, { count: 0 }), 3);
    const [reader, abandoned] = split.streams;
    const stuck = collect(reader);
    // The other consumer takes one item and fails: nobody will read it again.
    for await (const _ of abandoned) break;
    split.cancel(new Error('the other upload failed'));
    await expect(stuck).rejects.toThrow('the other upload failed');
  });
});
