/**
 * The core stays pure (docs/design.md, docs/design.md "Layers"): nothing under functions/core
 * reaches the AWS SDK, the Twilio SDK, the file system or the network — not directly, not
 * through another file of the repository — and nothing there reads `process.env`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CORE = path.join(ROOT, 'functions/core');

/** Module specifiers the core must never reach; each also bans its subpaths (`twilio/lib/…`). */
const FORBIDDEN = [
  '@aws-sdk',
  'aws-sdk',
  'twilio',
  'fs',
  'node:fs',
  'http',
  'node:http',
  'https',
  'node:https',
  'http2',
  'node:http2',
  'net',
  'node:net',
  'tls',
  'node:tls',
  'dgram',
  'node:dgram',
  'child_process',
  'node:child_process',
];

function isForbidden(specifier: string): boolean {
  return FORBIDDEN.some((f) => specifier === f || specifier.startsWith(`${f}/`));
}

/** Where the detector reads files: the real tree, or a fake one in a test of the detector. */
interface FileSource {
  read(file: string): string | undefined;
  /** Every file under a directory, recursively. */
  list(dir: string): string[];
}

const disk: FileSource = {
  read: (file) => (existsSync(file) && statSync(file).isFile() ? readFileSync(file, 'utf8') : undefined),
  list: function list(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? list(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  },
};

/**
 * The source with comments blanked out and string and template contents kept, so a doc
 * comment that shows an import is not taken for one.
 */
function stripComments(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

interface Imports {
  readonly specifiers: string[];
  /** `import(x)` with something other than a string literal: cannot be checked, so not allowed. */
  readonly dynamicNonLiteral: number;
}

/** Static `import … from`, side-effect `import '…'`, `export … from`, `import('…')` and `require('…')`. */
function importsOf(source: string): Imports {
  const code = stripComments(source);
  const specifiers: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?[^'"`;()]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /\bexport\s+(?:type\s+)?(?:\*|\{)[^'"`;()]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /\bimport\s*(['"])([^'"]+)\1/g,
    /\bimport\s*\(\s*(['"`])([^'"`$]+)\1\s*[,)]/g,
    /\brequire\s*\(\s*(['"])([^'"]+)\1\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specifiers.push(m[2] as string);
  const dynamicAll = [...code.matchAll(/\bimport\s*\(/g)].length;
  const dynamicLiteral = [...code.matchAll(/\bimport\s*\(\s*(['"`])([^'"`$]+)\1\s*[,)]/g)].length;
  return { specifiers, dynamicNonLiteral: dynamicAll - dynamicLiteral };
}

/** A relative specifier → the file it names (`.ts` written or implied; `.js` may mean `.ts`). */
function resolveRelative(from: string, specifier: string, files: FileSource): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  const candidates = [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), path.join(base, 'index.ts')];
  return candidates.find((c) => files.read(c) !== undefined);
}

interface Violation {
  /** The chain of files from a core file to the problem. */
  readonly via: string[];
  readonly problem: string;
}

/**
 * Follow the imports of every file under `coreDir` through the files of `root`, and report
 * forbidden modules, imports the detector cannot follow, arrows out of the core, and
 * `process.env`.
 */
function checkCore(coreDir: string, root: string, files: FileSource): { violations: Violation[]; visited: string[] } {
  const violations: Violation[] = [];
  const visited = new Set<string>();
  const rel = (f: string) => path.relative(root, f);
  const queue: { file: string; via: string[] }[] = files
    .list(coreDir)
    .filter((f) => /\.(?:[cm]?[jt]s)$/.test(f))
    .map((file) => ({ file, via: [rel(file)] }));
  while (queue.length > 0) {
    const { file, via } = queue.shift() as { file: string; via: string[] };
    if (visited.has(file)) continue;
    visited.add(file);
    const source = files.read(file) ?? '';
    if (/\bprocess\s*(?:\.\s*env\b|\[\s*['"`]env['"`]\s*\])/.test(stripComments(source))) {
      violations.push({ via, problem: 'reads process.env' });
    }
    const { specifiers, dynamicNonLiteral } = importsOf(source);
    if (dynamicNonLiteral > 0) violations.push({ via, problem: 'has an import() of a computed specifier' });
    for (const spec of specifiers) {
      if (spec.startsWith('.') || spec.startsWith('/')) {
        const target = resolveRelative(file, spec, files);
        if (target === undefined) {
          violations.push({ via, problem: `imports ${spec}, which does not resolve to a file` });
        } else if (!target.startsWith(root + path.sep)) {
          violations.push({ via, problem: `imports ${spec}, outside the repository` });
        } else {
          if (file.startsWith(coreDir + path.sep) && !target.startsWith(coreDir + path.sep)) {
            violations.push({ via, problem: `imports ${rel(target)}: the core may import only the core` });
          }
          queue.push({ file: target, via: [...via, rel(target)] });
        }
      } else if (isForbidden(spec)) {
        violations.push({ via, problem: `imports ${spec}` });
      }
    }
  }
  return { violations, visited: [...visited].map(rel).sort() };
}

// ---------------------------------------------------------------------------------------

describe('the pure core', () => {
  const result = checkCore(CORE, ROOT, disk);

  it('reaches no AWS SDK, Twilio SDK, file system or network module, reads no process.env, and imports nothing outside the core', () => {
    expect(result.violations).toEqual([]);
  });

  it('really walked the core: every file under functions/core, including the call flow and its imports', () => {
    const onDisk = disk
      .list(CORE)
      .map((f) => path.relative(ROOT, f))
      .filter((f) => f.endsWith('.ts'))
      .sort();
    expect(onDisk.length).toBeGreaterThanOrEqual(10);
    expect(result.visited).toEqual(expect.arrayContaining(onDisk));
    expect(result.visited).toContain('functions/core/callflow.ts');
    expect(importsOf(readFileSync(path.join(CORE, 'callflow.ts'), 'utf8')).specifiers).toEqual(
      expect.arrayContaining(['./classify.ts', './codes.ts', './emergency.ts', './policy.ts', './settings.ts']),
    );
    expect(importsOf(readFileSync(path.join(CORE, 'emergency.ts'), 'utf8')).specifiers).toContain('./phone-numbers.ts');
    expect(importsOf(readFileSync(path.join(CORE, 'phone-numbers.ts'), 'utf8')).specifiers).toContain('libphonenumber-js/core');
  });
});

describe('the core import detector', () => {
  /** A fake repository in memory: `/repo/functions/core/…` and friends. */
  function fake(tree: Record<string, string>): FileSource {
    const abs = new Map(Object.entries(tree).map(([f, src]) => [path.join('/repo', f), src]));
    return {
      read: (file) => abs.get(file),
      list: (dir) => [...abs.keys()].filter((f) => f.startsWith(dir + path.sep)),
    };
  }
  const check = (tree: Record<string, string>) => checkCore('/repo/functions/core', '/repo', fake(tree)).violations;

  it('passes a clean core', () => {
    expect(
      check({
        'functions/core/a.ts': "import { b } from './b.ts';\nimport { z } from 'zod';\nexport const a = b + z;",
        'functions/core/b.ts': "export { c } from './nested/c.ts';\nexport const b = 1;",
        'functions/core/nested/c.ts': "import type { X } from '../a.ts';\nexport const c = 'from \"twilio\" in a string is not an import';",
      }),
    ).toEqual([]);
  });

  it('catches a forbidden module reached through other repository files, with the chain', () => {
    const violations = check({
      'functions/core/a.ts': "export * from '../util/c.ts';",
      'functions/util/c.ts': "export { d } from './d.ts';",
      'functions/util/d.ts': "const fs = await import('node:fs');\nimport {\n  S3Client,\n} from '@aws-sdk/client-s3';\nexport const d = 1;",
    });
    expect(violations).toEqual([
      { via: ['functions/core/a.ts'], problem: 'imports functions/util/c.ts: the core may import only the core' },
      { via: ['functions/core/a.ts', 'functions/util/c.ts', 'functions/util/d.ts'], problem: 'imports @aws-sdk/client-s3' },
      { via: ['functions/core/a.ts', 'functions/util/c.ts', 'functions/util/d.ts'], problem: 'imports node:fs' },
    ]);
  });

  it.each([
    ["import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';", 'imports twilio/lib/twiml/VoiceResponse.js'],
    ["import twilio from 'twilio';", 'imports twilio'],
    ["import { readFileSync } from 'fs';", 'imports fs'],
    ["import { readFile } from 'node:fs/promises';", 'imports node:fs/promises'],
    ["import * as http from 'node:http';", 'imports node:http'],
    ["import https from 'https';", 'imports https'],
    ["import { connect } from 'node:net';", 'imports node:net'],
    ["import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';", 'imports @aws-sdk/client-dynamodb'],
    ["export { S3 } from '@aws-sdk/client-s3';", 'imports @aws-sdk/client-s3'],
    ["import 'node:http';", 'imports node:http'],
    ["const t = await import(\n  'twilio'\n);", 'imports twilio'],
    ["const m = await import('tw' + 'ilio');", 'has an import() of a computed specifier'],
    ['export const region = process.env.AWS_REGION;', 'reads process.env'],
    ["const env = process['env'];", 'reads process.env'],
    ["import { x } from './missing.ts';", 'imports ./missing.ts, which does not resolve to a file'],
  ])('catches %s', (source, problem) => {
    expect(check({ 'functions/core/bad.ts': source })).toEqual([{ via: ['functions/core/bad.ts'], problem }]);
  });

  it('does not take comments for imports or environment reads', () => {
    expect(
      check({
        'functions/core/doc.ts':
          "/**\n * Unlike the adapter, which does `import twilio from 'twilio'`, this reads no process.env.\n */\n// import fs from 'node:fs';\nexport const x = 1;",
      }),
    ).toEqual([]);
  });

  it('catches a bad file nested deep under the core', () => {
    expect(check({ 'functions/core/a/b/c/deep.ts': "import net from 'net';" })).toEqual([{ via: ['functions/core/a/b/c/deep.ts'], problem: 'imports net' }]);
  });
});
