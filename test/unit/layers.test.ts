/**
 * The layer rules (.dependency-cruiser.cjs, docs/design.md "Layers") hold for the repository,
 * and break the build when a change breaks them: shown on a small tree that breaks each.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

const broken = mkdtempSync(join(tmpdir(), 'tollgate-layers-'));
afterAll(() => rmSync(broken, { recursive: true, force: true }));

function write(file: string, text: string): void {
  mkdirSync(dirname(join(broken, file)), { recursive: true });
  writeFileSync(join(broken, file), text);
}

describe('the layer rules', () => {
  it('hold for the repository', () => {
    const out = execFileSync(CRUISE, ['--config', CONFIG, 'functions', 'infra', 'local', 'cli', 'bench', 'scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toMatch(/no dependency violations found/);
  });

  it('fail on an import loop, I/O in the core, an adapter reaching a service, a service reaching storage, and the deployed code reaching the CLI', () => {
    write('functions/core/a.ts', "import { b } from './b.ts';\nimport { readFileSync } from 'node:fs';\nexport const a = b + String(readFileSync);\n");
    write('functions/core/b.ts', "import { a } from './a.ts';\nexport const b = String(a);\n");
    write('functions/services/s.ts', "import { store } from '../adapters/dynamodb/store.ts';\nexport const s = store;\n");
    write('functions/adapters/dynamodb/store.ts', 'export const store = 1;\n');
    write('functions/adapters/alerts.ts', "import { s } from '../services/s.ts';\nexport const alerts = s;\n");
    write('functions/handlers/h.ts', "import { run } from '../../cli/main.ts';\nexport const h = run;\n");
    write('cli/main.ts', 'export const run = 1;\n');
    const run = spawnSync(CRUISE, ['--config', CONFIG, 'functions', 'cli'], { cwd: broken, encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    for (const rule of ['no-circular', 'core-does-no-io', 'adapters-point-inward', 'services-use-ports', 'functions-stand-alone'])
      expect(run.stdout, rule).toContain(`error ${rule}`);
  });
});
