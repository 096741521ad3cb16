/**
 * The functions exactly as Lambda runs them: the bundles `cdk synth` wrote to `cdk.out`, each
 * found through the template by its construct path, each run in a process of its own
 * (`bundle-runtime.mjs`) with the environment the stack gives it. Set TOLLGATE_BUNDLES to the
 * `cdk.out` folder to have the deployed-handler tests run the bundles instead of the sources.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';

/** `cdk.out`, when the tests should run the bundles; undefined: they run the sources. */
export const BUNDLES_DIR = process.env.TOLLGATE_BUNDLES;

/** The bundle (its `index.mjs`) of the function at a construct path such as `VoiceApi/Function`. */
export function bundleEntry(dir: string, constructPath: string, stackName = 'Tollgate'): string {
  const template = JSON.parse(readFileSync(join(dir, `${stackName}.template.json`), 'utf8')) as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };
  const wanted = `${stackName}/${constructPath}/Resource`;
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:cdk:path'] === wanted);
  const asset = fn?.Metadata?.['aws:asset:path'];
  if (asset === undefined) throw new Error(`no bundled function at ${wanted} in ${dir}: run npm run synth first`);
  return join(dir, asset, 'index.mjs');
}

export interface RunningBundle<E, R> {
  invoke(event: E, context: Context): Promise<R>;
  close(): Promise<void>;
}

/** Start a bundle's container; `onLine` gets each line it prints (its logs). */
export async function startBundle<E, R>(entry: string, env: Record<string, string>, onLine: (line: string) => void): Promise<RunningBundle<E, R>> {
  const child: ChildProcess = fork(join(import.meta.dirname, 'bundle-runtime.mjs'), [entry], {
    env: { PATH: process.env.PATH ?? '', ...env },
    execArgv: ['--enable-source-maps'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let rest = '';
  const read = (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) if (line.trim() !== '') onLine(line);
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  const pending = new Map<number, { resolve: (r: R) => void; reject: (e: Error) => void }>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bundle ${entry} exited with ${code} before it was ready`)));
    child.on('message', (m: { ready?: boolean; id?: number; result?: R; error?: string }) => {
      if (m.ready === true) return resolve();
      const waiter = m.id === undefined ? undefined : pending.get(m.id);
      if (waiter === undefined) return;
      pending.delete(m.id as number);
      if (m.error !== undefined) waiter.reject(new Error(m.error));
      else waiter.resolve(m.result as R);
    });
  });
  return {
    invoke(event, context) {
      const id = next++;
      const { getRemainingTimeInMillis, done: _d, fail: _f, succeed: _s, ...plain } = context;
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, event, context: { ...plain, remainingMs: getRemainingTimeInMillis() } });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
