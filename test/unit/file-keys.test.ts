/** The keys of a replace file, held compactly: exact for every key, whatever the order they come in. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountKeyNumber, FileKeys } from '../../functions/services/file-keys.ts';

describe('FileKeys', () => {
  it('tells account codes with leading zeros apart, and holds other keys as they are', () => {
    expect(accountKeyNumber('A#0042')).not.toBe(accountKeyNumber('A#042'));
    expect(accountKeyNumber('A#99999999999999')).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(accountKeyNumber('A#999999999999999')).toBeUndefined();
    expect(accountKeyNumber('Z#0a1b')).toBeUndefined();
    const keys = new FileKeys();
    for (const k of ['A#0042', 'Z#ff00', 'A#7']) keys.add(k);
    expect(['A#0042', 'Z#ff00', 'A#7', 'A#042', 'A#42', 'Z#ff01', 'A#07'].map((k) => keys.has(k))).toEqual([true, true, true, false, false, false, false]);
  });

  it('answers exactly as a Set of the same keys', () => {
    const key = fc.oneof(
      fc.string({ unit: fc.constantFrom('0', '1', '2', '9'), minLength: 1, maxLength: 14 }).map((d) => `A#${d}`),
      fc.string({ unit: fc.constantFrom('0', 'a', 'f'), minLength: 1, maxLength: 6 }).map((h) => `Z#${h}`),
    );
    fc.assert(
      fc.property(fc.array(key, { maxLength: 3000 }), fc.array(key, { maxLength: 200 }), (added, asked) => {
        const keys = new FileKeys();
        for (const k of added) keys.add(k);
        const set = new Set(added);
        for (const k of [...asked, ...added.slice(0, 50)]) expect(keys.has(k)).toBe(set.has(k));
      }),
      { numRuns: 100 },
    );
  });
});
