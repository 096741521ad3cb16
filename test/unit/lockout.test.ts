/** Lockout records: the window, the count and the lock (functions/core/lockout.ts). */
import { describe, expect, it } from 'vitest';
import { failuresInWindow, isLockedOut, recordFailure, type LockoutRecord } from '../../functions/core/lockout.ts';
import { later, NOW } from '../support/code-fixtures.ts';

describe('lockout records', () => {
  const rules = { failures: 3, windowMinutes: 15, lockMinutes: 60 };

  it('opens a window at the first failure and counts within it', () => {
    const first = recordFailure(undefined, NOW, rules);
    expect(first).toEqual({ record: { windowStart: NOW.toISOString(), failures: 1 }, locked: false });
    const second = recordFailure(first.record, later(60), rules);
    expect(second).toEqual({ record: { windowStart: NOW.toISOString(), failures: 2 }, locked: false });
  });

  it('opens a new window once the old one has passed', () => {
    const old: LockoutRecord = { windowStart: later(-16 * 60).toISOString(), failures: 2 };
    expect(failuresInWindow(old, NOW, rules)).toBe(0);
    expect(recordFailure(old, NOW, rules)).toEqual({ record: { windowStart: NOW.toISOString(), failures: 1 }, locked: false });
  });

  it('locks for lockMinutes when failures reach the limit', () => {
    const result = recordFailure({ windowStart: later(-60).toISOString(), failures: 2 }, NOW, rules);
    expect(result.locked).toBe(true);
    expect(result.record.lockedUntil).toBe(later(3600).toISOString());
    expect(isLockedOut(result.record, later(3599))).toBe(true);
    expect(isLockedOut(result.record, later(3600))).toBe(false);
  });

  it('keeps a running lock when another failure is counted during it', () => {
    const locked: LockoutRecord = { windowStart: NOW.toISOString(), failures: 0, lockedUntil: later(3600).toISOString() };
    const result = recordFailure(locked, later(60), rules);
    expect(result.record).toEqual(locked);
    expect(isLockedOut(result.record, later(120))).toBe(true);
  });

  it('starts counting afresh after a lock has run out', () => {
    const expired: LockoutRecord = { windowStart: later(-7200).toISOString(), failures: 0, lockedUntil: later(-3600).toISOString() };
    expect(recordFailure(expired, NOW, rules)).toEqual({ record: { windowStart: NOW.toISOString(), failures: 1 }, locked: false });
  });
});
