/**
 * One async stream read once by two consumers at their own pace, at most `limit` items
 * apart: the faster waits for the slower, so memory stays bounded whatever the length of the
 * stream. The usage export writes a day's CSV and its .xlsx twin from one read of the day.
 * The source is read as long as either consumer reads; an error of the source, or one given
 * to `cancel` (the other consumer failed), ends both.
 */
export function tee<T>(source: AsyncIterable<T>, limit: number): { readonly streams: [AsyncIterable<T>, AsyncIterable<T>]; cancel(error: unknown): void } {
  const iterator = source[Symbol.asyncIterator]();
  const buffered: T[] = [];
  /** How many items each consumer has taken; the buffer starts at the slower one's position. */
  const taken = [0, 0];
  let start = 0;
  let done = false;
  let failure: { error: unknown } | undefined;
  let reading: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const waitForRoom = () => new Promise<void>((resolve) => (wake = resolve));

  const pull = (): Promise<void> =>
    (reading ??= (async () => {
      try {
        const next = await iterator.next();
        if (next.done === true) done = true;
        else buffered.push(next.value);
      } catch (error) {
        failure = { error };
      } finally {
        reading = undefined;
      }
    })());

  const consumer = (me: 0 | 1): AsyncIterable<T> => ({
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (failure !== undefined) throw failure.error;
        const index = (taken[me] as number) - start;
        if (index < buffered.length) {
          const item = buffered[index] as T;
          taken[me] = (taken[me] as number) + 1;
          // Items both have taken leave the buffer; the one waiting for room may read on.
          const behind = Math.min(taken[0] as number, taken[1] as number);
          if (behind > start) {
            buffered.splice(0, behind - start);
            start = behind;
            wake?.();
            wake = undefined;
          }
          yield item;
          continue;
        }
        if (done) return;
        // Ahead of the other by the limit: wait until it catches up.
        if (buffered.length >= limit) await waitForRoom();
        else await pull();
      }
    },
  });
  return {
    streams: [consumer(0), consumer(1)],
    cancel(error) {
      failure ??= { error };
      wake?.();
      wake = undefined;
    },
  };
}
