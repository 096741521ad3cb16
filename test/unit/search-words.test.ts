/** The words codes are searched by: folding, splitting, matching, and the order the index lists them in. */
import { describe, expect, it } from 'vitest';
import { codeSearch } from '../../functions/core/code-rows.ts';
import { foldText, indexWord, indexedWords, listedUnder, MAX_WORD_LENGTH, searchWords, utf8Compare, wordsMatch } from '../../functions/core/search-words.ts';

describe('search words', () => {
  it('folds case and accents, splits on anything but letters and digits, keeps each word once', () => {
    expect(foldText('Ÿvonne ÉCOLE Müller')).toBe('yvonne ecole muller');
    expect(searchWords('Smith & Smith-Jones, LLP (2024/113) Smith')).toEqual(['smith', 'jones', 'llp', '2024', '113']);
    expect(searchWords('東京 オフィス')).toEqual(['東京', 'オフィス']);
    expect(searchWords(undefined)).toEqual([]);
    expect(searchWords('x'.repeat(100))).toEqual(['x'.repeat(MAX_WORD_LENGTH)]);
    expect(indexedWords('A tax case, B')).toEqual(['tax', 'case']);
  });

  it('matches when every searched word starts a description word', () => {
    expect(wordsMatch(['smi', 'llp'], 'Smith & Jones LLP')).toBe(true);
    expect(wordsMatch(['mith'], 'Smith')).toBe(false);
    expect(wordsMatch(['smith', 'probate'], 'Smith litigation')).toBe(false);
    expect(wordsMatch([], 'anything')).toBe(false);
    const search = codeSearch('muller GMBH');
    expect(search({ kind: 'account', code: '1', description: 'Müller Söhne GmbH', enabled: true })).toBe(true);
    expect(codeSearch('12')({ kind: 'account', code: '1234', description: '', enabled: true })).toBe(true);
    expect(codeSearch('0a1b')({ kind: 'authorization', ref: '0a1b2c3d', description: 'night', enabled: true })).toBe(true);
  });

  it('reads the index by the longest searched word, when it has two characters or more', () => {
    expect(indexWord(['a', 'smith', 'llp'])).toBe('smith');
    expect(indexWord(['a', 'b'])).toBeUndefined();
    expect(indexWord([])).toBeUndefined();
  });

  it('lists a code under its first matching word in the byte order DynamoDB sorts keys in', () => {
    expect(listedUnder('Smithson and Smith', 'smi')).toBe('smith');
    expect(listedUnder('Smithson', 'jo')).toBeUndefined();
    // U+FF21 (fullwidth A) sorts before U+1F600 in UTF-8 bytes, after it in UTF-16 units.
    expect(utf8Compare('\uff21', '\u{1f600}')).toBeLessThan(0);
    expect('\uff21' < '\u{1f600}').toBe(false);
    expect(utf8Compare('ab', 'abc')).toBeLessThan(0);
    expect(utf8Compare('abc', 'abc')).toBe(0);
    const sample = ['b', 'a\u{10000}', 'a\uffff', 'aa', 'é', '\u{1f600}x'];
    const bytes = (s: string) => [...Buffer.from(s, 'utf8')];
    const byBytes = [...sample].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...sample].sort(utf8Compare).map(bytes)).toEqual(byBytes.map(bytes));
  });
});
