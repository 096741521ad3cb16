/**
 * The words a code's description is found by (docs/console.md, "Searching codes"): runs of
 * letters and digits, in lower case with accents dropped, so "Müller & Söhne" is found by
 * "muller" or "SOHN". A search word matches a description word it starts. The console's word
 * index stores each description word of two or more characters; the CLI and the console's
 * filters match with the same rules, so both find the same codes.
 */

/** Longer words are cut to this (a sort key stays small; nobody types 40 characters to search). */
export const MAX_WORD_LENGTH = 40;
/** Shorter words are not indexed: a one-letter search matches so many codes that reading the list in order finds a page at once. */
export const MIN_INDEXED_LENGTH = 2;

/** Lower case without accents (é → e, ß stays ß). */
export function foldText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/** The distinct words of a text, folded and cut to {@link MAX_WORD_LENGTH}, in the order they first appear. */
export function searchWords(text: string | undefined): string[] {
  const words = foldText(text ?? '').match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.map((w) => w.slice(0, MAX_WORD_LENGTH)))];
}

/** The words of a description the index holds. */
export function indexedWords(description: string | undefined): string[] {
  return searchWords(description).filter((w) => w.length >= MIN_INDEXED_LENGTH);
}

/** True when every search word starts some word of the description. */
export function wordsMatch(searched: readonly string[], description: string | undefined): boolean {
  if (searched.length === 0) return false;
  const words = searchWords(description);
  return searched.every((s) => words.some((w) => w.startsWith(s)));
}

/** The search word the index is read by: the longest (the fewest codes), when it is long enough to be indexed. */
export function indexWord(searched: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const w of searched) if (best === undefined || w.length > best.length) best = w;
  return best !== undefined && best.length >= MIN_INDEXED_LENGTH ? best : undefined;
}

/** Byte order of the strings' UTF-8, which is how DynamoDB sorts keys (UTF-16 order differs past U+FFFF). */
export function utf8Compare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** UTF-16 units reordered to code point order: surrogates (U+D800–DFFF) above U+E000–FFFF. */
const codePointRank = (unit: number): number => (unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit);

/**
 * The description word a code is listed under when the index is read by `prefix`: the first,
 * in key order, of its indexed words that start with it. A code whose description holds
 * "smith" and "smithson" appears once in a search for "smi", under "smith".
 */
export function listedUnder(description: string | undefined, prefix: string): string | undefined {
  let first: string | undefined;
  for (const w of indexedWords(description)) if (w.startsWith(prefix) && (first === undefined || utf8Compare(w, first) < 0)) first = w;
  return first;
}
