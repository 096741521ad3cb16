/**
 * `npm run docs`: writes what the docs take from the code — the settings reference in
 * README.md and docs/settings.md, from the settings schema. A test fails when they drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withSettingsReference } from '../cli/settings-reference.ts';

const ROOT = join(import.meta.dirname, '..');
for (const file of ['README.md', 'docs/settings.md']) {
  const path = join(ROOT, file);
  const before = readFileSync(path, 'utf8');
  const after = withSettingsReference(before);
  if (after !== before) writeFileSync(path, after);
  console.log(`${file}: ${after === before ? 'up to date' : 'settings reference rewritten'}`);
}
