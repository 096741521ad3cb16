/**
 * No production function is longer than 80 lines (docs/design.md, "House rules"): a function
 * that grows past it is doing more than one thing. Counted on the syntax tree (swc), nested
 * functions on their own.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSync } from '@swc/core';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MAX_LINES = 80;
/** Every webhook runs these: the voice pipeline, the call flow and what it decides with. */
const HOT_PATH_MAX_LINES = 60;
const HOT_PATH = [
  'functions/services/voice',
  'functions/services/voice.ts',
  'functions/services/alert-gate.ts',
  'functions/core/callflow.ts',
  'functions/core/emergency.ts',
  'functions/core/classify.ts',
  'functions/core/destination.ts',
  'functions/core/policy.ts',
  'functions/core/codes.ts',
  'functions/core/lockout.ts',
  'functions/adapters/twilio',
  'functions/adapters/dynamodb/calls.ts',
  'functions/adapters/dynamodb/call-context.ts',
];
const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'ClassMethod', 'MethodProperty', 'Constructor']);

interface Node {
  readonly type?: string;
  readonly span?: { readonly start: number; readonly end: number };
  readonly identifier?: { readonly value?: string };
  readonly key?: { readonly value?: string };
}

/** Every function of a file longer than `max` lines: `file:line name (N lines)`. */
function longFunctions(file: string, max: number): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const bytes = Buffer.from(source, 'utf8');
  const ast = parseSync(source, { syntax: 'typescript', target: 'es2022' }) as unknown as Node;
  const base = ast.span?.start ?? 0;
  // Byte offset of each line start, for turning spans (byte offsets) into line numbers.
  const starts = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) starts.push(i + 1);
  const lineOf = (pos: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= pos - base) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const found: string[] = [];
  const walk = (node: unknown, name: string | undefined): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) walk(n, name);
      return;
    }
    const n = node as Node & Record<string, unknown>;
    const own = n.identifier?.value ?? n.key?.value ?? name;
    if (n.type !== undefined && FUNCTIONS.has(n.type) && n.span !== undefined) {
      const lines = lineOf(n.span.end) - lineOf(n.span.start) + 1;
      if (lines > max) found.push(`${file}:${lineOf(n.span.start)} ${own ?? '(anonymous)'} (${lines} lines)`);
    }
    const declared = n.type === 'VariableDeclarator' ? ((n.id as { value?: string } | undefined)?.value ?? own) : own;
    for (const [k, v] of Object.entries(n)) if (k !== 'span') walk(v, declared);
  };
  walk(ast, undefined);
  return found;
}

describe('production code', () => {
  it(`has no function longer than ${MAX_LINES} lines`, () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'functions', 'cli', 'local', 'infra'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((f) => longFunctions(f, MAX_LINES))).toEqual([]);
  });

  it(`has no function longer than ${HOT_PATH_MAX_LINES} lines on the voice function's hot path`, () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', ...HOT_PATH], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    expect(files.flatMap((f) => longFunctions(f, HOT_PATH_MAX_LINES))).toEqual([]);
  });

  it('finds a long function when there is one', () => {
    // The measure itself, on a file known to hold functions of 60 lines and more.
    expect(longFunctions('local/stack.ts', 20).length).toBeGreaterThan(0);
  });
});
