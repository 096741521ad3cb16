/** The Node.js version check that runs before any TypeScript is loaded. */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MINIMUM_NODE, nodeVersionProblem } from '../../cli/node-check.mjs';

const REPO = join(import.meta.dirname, '..', '..');

describe('the Node.js version check', () => {
  it('lets 22.18 and newer through and names the version needed, and how to get it, for anything older', () => {
    expect(MINIMUM_NODE).toEqual([22, 18]);
    for (const ok of ['v22.18.0', 'v22.23.5', 'v23.0.0', 'v24.1.0']) expect(nodeVersionProblem(ok), ok).toBeUndefined();
    for (const old of ['v22.12.0', 'v22.17.9', 'v20.20.2', 'v18.0.0']) {
      const line = nodeVersionProblem(old);
      expect(line, old).toContain(`this is Node.js ${old}`);
      expect(line).toMatch(/needs Node\.js 22\.18 or newer/);
      expect(line).toMatch(/nvm install 22/);
      expect(line).not.toContain('\n');
    }
  });

  // The machine's own Node.js is older than the project's on these machines (CI installs 22).
  const older = ['/usr/bin/node', '/bin/node'].find((bin) => {
    try {
      return nodeVersionProblem(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()) !== undefined;
    } catch {
      return false;
    }
  });
  it.skipIf(older === undefined)('makes tollgate on an older Node.js say so in one line and exit 1, before loading any TypeScript', () => {
    const run = spawnSync(older as string, ['cli/tollgate.mjs', 'codes', 'list'], { cwd: REPO, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tollgate: needs Node\.js 22\.18 or newer, and this is Node\.js v\d+\./);
    expect(run.stderr).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION/);
  });
});
