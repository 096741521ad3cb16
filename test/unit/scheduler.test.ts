/** The local stack's hourly scheduler (the stand-in for EventBridge Scheduler). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../functions/services/logger.ts';
import { nextHourlyRun, startHourlyScheduler } from '../../local/scheduler.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('the hourly scheduler', () => {
  it('runs at five past each hour', () => {
    expect(nextHourlyRun(new Date('2026-06-15T10:04:59Z'), 5).toISOString()).toBe('2026-06-15T10:05:00.000Z');
    expect(nextHourlyRun(new Date('2026-06-15T10:05:00Z'), 5).toISOString()).toBe('2026-06-15T11:05:00.000Z');
    expect(nextHourlyRun(new Date('2026-06-15T23:30:00Z'), 5).toISOString()).toBe('2026-06-16T00:05:00.000Z');
  });

  it('runs once shortly after start, then every hour, and never two runs at once', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-15T10:30:00Z') });
    let runs = 0;
    let release: (() => void) | undefined;
    const scheduler = startHourlyScheduler({
      name: 'test',
      log: silentLogger,
      firstRunMs: 1000,
      run: () =>
        new Promise<number>((resolve) => {
          runs++;
          release = () => resolve(runs);
        }),
    });
    expect(scheduler.nextRunAt?.toISOString()).toBe('2026-06-15T10:30:01.000Z');
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(1);
    // Asked for while the first run is under way: joins it.
    const joined = scheduler.runNow();
    expect(runs).toBe(1);
    release?.();
    expect(await joined).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(scheduler.nextRunAt?.toISOString()).toBe('2026-06-15T11:05:00.000Z');
    await vi.advanceTimersByTimeAsync(35 * 60_000);
    expect(runs).toBe(2);
    release?.();
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(2 * 3_600_000);
    expect(runs).toBe(2);
  });

  it('keeps going after a failed run, and stop waits for the run in flight', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-15T10:30:00Z') });
    const errors: string[] = [];
    let calls = 0;
    let finished = false;
    const scheduler = startHourlyScheduler({
      name: 'test',
      log: { ...silentLogger, error: (m) => void errors.push(m) },
      firstRunMs: 0,
      run: async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        await new Promise((r) => setTimeout(r, 5000));
        finished = true;
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    expect(scheduler.nextRunAt?.toISOString()).toBe('2026-06-15T11:05:00.000Z');
    await vi.advanceTimersByTimeAsync(35 * 60_000);
    expect(calls).toBe(2);
    const stopped = scheduler.stop();
    await vi.advanceTimersByTimeAsync(5000);
    await stopped;
    expect(finished).toBe(true);
  });
});
