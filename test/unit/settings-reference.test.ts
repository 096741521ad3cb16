/** The settings reference: every key of the schema described, and the docs in step with it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsReferenceBlock, withSettingsReference } from '../../cli/settings-reference.ts';
import { settingsJsonSchema } from '../../functions/core/settings.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface Node {
  readonly description?: string;
  readonly properties?: Record<string, Node>;
  readonly additionalProperties?: Node | boolean;
  readonly items?: Node;
}

describe('the settings reference', () => {
  it('describes every key of the schema, at every depth (editors show it on hover)', () => {
    const missing: string[] = [];
    const walk = (node: Node, path: string): void => {
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        if (child.description === undefined || child.description.trim() === '') missing.push(`${path}${key}`);
        walk(child, `${path}${key}.`);
      }
      if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}*.`);
      if (node.items !== undefined) walk(node.items, `${path}[].`);
    };
    walk(settingsJsonSchema() as Node, '');
    expect(missing).toEqual([]);
  });

  it.each(['README.md', 'docs/settings.md'])('%s holds the reference the schema gives today (npm run docs rewrites it)', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    expect(text).toContain(settingsReferenceBlock());
    expect(withSettingsReference(text)).toBe(text);
  });

  it('lists every top-level key and the nested ones', () => {
    const block = settingsReferenceBlock();
    for (const key of [
      'account',
      'calls.international',
      'levels.premium',
      'groups.<group>.calls',
      'entryPoints.<entry point>.forwardTo',
      'lockout.accountFailures',
      'outsideLinePrefix',
      'prompts.noCode',
      'gatherTimeoutSeconds',
      'homeCountry',
    ]) {
      expect(block).toContain(`| \`${key}\` |`);
    }
  });
});
