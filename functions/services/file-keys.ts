/**
 * The keys a replace file names, held compactly for its sweep: the file is the whole list,
 * and every stored code it does not name is deleted. An account code's key (`A#` and at most
 * 14 digits, leading zeros kept) is a number exactly — the digits' value times 16 plus their
 * count — in a sorted Float64Array, 8 bytes each; other keys (authorization codes, by their
 * hash) in a Set. A million account codes take 8 MB, not the ~70 MB of a Set of strings.
 */
import { CODE_LENGTH_MAX } from '../core/identifiers.ts';

const ACCOUNT_KEY = new RegExp(`^A#([0-9]{1,${CODE_LENGTH_MAX}})$`);

/** An account code's key as an exact number (< 2^53 for 14 digits), or undefined for any other key. */
export function accountKeyNumber(key: string): number | undefined {
  const digits = ACCOUNT_KEY.exec(key)?.[1];
  return digits === undefined ? undefined : Number(digits) * 16 + digits.length;
}

export class FileKeys {
  private numbers = new Float64Array(1024);
  private count = 0;
  private sorted = true;
  private readonly others = new Set<string>();

  add(key: string): void {
    const n = accountKeyNumber(key);
    if (n === undefined) {
      this.others.add(key);
      return;
    }
    if (this.count === this.numbers.length) {
      const grown = new Float64Array(this.numbers.length * 2);
      grown.set(this.numbers);
      this.numbers = grown;
    }
    this.numbers[this.count++] = n;
    this.sorted = false;
  }

  has(key: string): boolean {
    const n = accountKeyNumber(key);
    if (n === undefined) return this.others.has(key);
    if (!this.sorted) {
      this.numbers.subarray(0, this.count).sort();
      this.sorted = true;
    }
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.numbers[mid] as number;
      if (v === n) return true;
      if (v < n) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}
