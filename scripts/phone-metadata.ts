/**
 * `npm run phone-metadata`: writes `functions/core/phone-metadata.data.ts`, the numbering
 * metadata the call classifier reads (`functions/core/phone-numbers.ts`), from the installed
 * libphonenumber-js: its `/max` metadata (the only one with number types) without the
 * formatting rules, which parsing, validity and number types never read. Kept as one JSON
 * string: the voice function parses it with `JSON.parse`, which is quicker at start-up than
 * compiling the same data as a JavaScript object (docs/design.md, "Cold start").
 *
 * A unit test fails when the file differs from what this writes (after an upgrade of
 * libphonenumber-js, run this and commit the file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
export const DATA_FILE = join(ROOT, 'functions/core/phone-metadata.data.ts');

/** Where each country's formatting rules sit in libphonenumber-js's metadata (version 4). */
const FORMATS = 4;

/** The metadata as the classifier needs it: everything but the formatting rules. */
export function slimMetadata(full: { version: number; countries: Record<string, unknown[]>; nonGeographic?: Record<string, unknown[]> }): unknown {
  if (full.version !== 4) throw new Error(`libphonenumber-js metadata version ${full.version}: this script knows version 4 only; check where the formats sit`);
  const strip = (entries: Record<string, unknown[]> = {}) => Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, v.map((x, i) => (i === FORMATS ? 0 : x))]));
  return { ...full, countries: strip(full.countries), nonGeographic: strip(full.nonGeographic) };
}

/** The file's text for the installed libphonenumber-js. */
export function dataFileText(): string {
  const require = createRequire(import.meta.url);
  const pkg = require('libphonenumber-js/package.json') as { version: string };
  const full = JSON.parse(readFileSync(require.resolve('libphonenumber-js/metadata.max.json'), 'utf8'));
  return [
    `// Written by \`npm run phone-metadata\` from libphonenumber-js ${pkg.version} (metadata.max.json without`,
    '// formatting rules). Do not edit: run the script after upgrading libphonenumber-js.',
    `export const PHONE_METADATA_JSON = ${JSON.stringify(JSON.stringify(slimMetadata(full)))};`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = dataFileText();
  const before = (() => {
    try {
      return readFileSync(DATA_FILE, 'utf8');
    } catch {
      return '';
    }
  })();
  if (text !== before) writeFileSync(DATA_FILE, text);
  console.log(`functions/core/phone-metadata.data.ts: ${text === before ? 'up to date' : `written (${Math.round(text.length / 1024)} KB)`}`);
}
