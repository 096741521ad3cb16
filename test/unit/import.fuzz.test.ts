/**
 * The import's judgement of hostile files, without a bucket (docs/data-model.md): the first pass the
 * import function and `tollgate codes import --dry-run` share (services/import-check.ts) and
 * the settings parser, given random bytes, invalid UTF-8, huge and wide records, control
 * characters and formula payloads — always an answer (rows, errors in the report's shape),
 * never an exception. And the rule that orders two uploads of one key by their S3 sequencers.
 * The same files go through the bucket and the real handler in test/integration/hostile.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSettings, parseSettingsText, type Settings } from '../../functions/core/settings.ts';
import { checkCodesFile, checkUsersFile, MAX_REPORTED_ERRORS } from '../../functions/services/import-check.ts';
import { compareSequencers } from '../../functions/services/importer.ts';

const SEED = Number(process.env.FC_SEED ?? 20261123);

const settings: Settings = (() => {
  const parsed = parseSettings({
    account: 'acme',
    twilioAccountSids: [`AC${'0'.repeat(32)}`],
    homeCountry: 'US',
    timeZone: 'America/New_York',
    codeLength: { min: 4, max: 8 },
    groups: { staff: {} },
    defaultGroup: 'staff',
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
})();

async function* chunks(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const cell = fc.oneof(
  fc.constantFrom(
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    '@SUM(A1)',
    '+1',
    '-1',
    '\t=1',
    '\r\n',
    '"',
    '""',
    '="0042"',
    '0042',
    '1.2E+05',
    'authorization',
    'delete',
    'true',
    '',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 60_000, max: 70_000 }).map((n) => 'x'.repeat(n)),
);
const structured = fc
  .tuple(
    fc.array(fc.oneof(fc.constantFrom('code', 'description', 'kind', 'level', 'users', 'groups', 'caller_ids', 'action', 'expires', 'enabled'), cell), {
      minLength: 1,
      maxLength: 6,
    }),
    fc.array(fc.array(cell, { maxLength: 7 }), { maxLength: 8 }),
    fc.constantFrom(',', ';', '\t'),
    fc.constantFrom('\r\n', '\n', '\r'),
    fc.boolean(),
  )
  .map(([header, rows, d, eol, quote]) => {
    const q = (v: string) => (quote ? `"${v.replaceAll('"', '""')}"` : v);
    return Buffer.from([header, ...rows].map((r) => r.map(q).join(d)).join(eol));
  });
const wide = fc.integer({ min: 900, max: 10_000 }).map((n) => Buffer.from(`code${','.repeat(n)}\r\n1234${','.repeat(n)}\r\n`));
const anyFile = fc.oneof(
  fc.uint8Array({ maxLength: 3_000 }).map((b) => Buffer.from(b)),
  structured,
  wide,
);

describe('the first pass over hostile files', () => {
  it('always answers with rows and report-shaped errors, whatever the bytes and however they arrive', async () => {
    await fc.assert(
      fc.asyncProperty(anyFile, fc.integer({ min: 1, max: 4096 }), fc.constantFrom('merge', 'replace', 'users'), async (bytes, size, mode) => {
        const check = mode === 'users' ? await checkUsersFile(chunks(bytes, size), settings) : await checkCodesFile(chunks(bytes, size), settings, mode);
        expect(check.rows).toBeGreaterThanOrEqual(0);
        expect(check.errors.length).toBeLessThanOrEqual(Math.min(check.errorCount, MAX_REPORTED_ERRORS));
        for (const e of check.errors) {
          expect(Number.isInteger(e.line) && e.line >= 0).toBe(true);
          expect(typeof e.column).toBe('string');
          expect(typeof e.value).toBe('string');
          expect(e.message).toMatch(/\w{3}/);
        }
      }),
      { numRuns: 250, seed: SEED },
    );
  });

  it('rejects every description holding a line break or a control character other than at its ends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 0x1f }), fc.string({ maxLength: 20 }), async (a, c, b) => {
        const description = `x${a}${String.fromCharCode(c)}${b}x`;
        const body = Buffer.from(`code,description\r\n1234,"${description.replaceAll('"', '""')}"\r\n`);
        const check = await checkCodesFile(chunks(body, 7), settings, 'merge');
        expect(check.errorCount, JSON.stringify(description)).toBeGreaterThan(0);
      }),
      { numRuns: 200, seed: SEED },
    );
  });
});

describe('the settings document', () => {
  it('parses to settings or to problems for any text, never throwing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 500 }),
          fc.json({ maxDepth: 4 }),
          fc.object().map((o) => JSON.stringify({ account: 'acme', ...o })),
        ),
        (text) => {
          const parsed = parseSettingsText(text);
          if (!parsed.ok) expect(parsed.problems.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300, seed: SEED },
    );
  });
});

describe('the order of two uploads of one key (S3 sequencers)', () => {
  const hex = fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFabcdef'), minLength: 1, maxLength: 24 });
  it('is the order of the hexadecimal numbers, whatever their lengths and case', () => {
    fc.assert(
      fc.property(hex, hex, (a, b) => {
        const x = BigInt(`0x${a}`);
        const y = BigInt(`0x${b}`);
        expect(compareSequencers(a, b)).toBe(x < y ? -1 : x > y ? 1 : 0);
      }),
      { numRuns: 500, seed: SEED },
    );
  });

  it('pads the shorter with zeros on the left, as S3 documents', () => {
    expect(compareSequencers('FF', '0100')).toBe(-1);
    expect(compareSequencers('0062E99A88DC407460', '62E99A88DC407461')).toBe(-1);
    expect(compareSequencers('00FF', 'ff')).toBe(0);
  });
});
