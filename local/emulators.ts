/**
 * The embedded AWS look-alikes of the local stack and the integration tests: dynalite
 * (DynamoDB) and s3rver (S3), both on loopback, both in this process.
 */
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';

const require = createRequire(import.meta.url);

type DynaliteFactory = (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
// Neither package ships type declarations; the untyped requires stay in this one file.
const dynalite = require('dynalite') as DynaliteFactory;

/** The slice of s3rver's API the stack uses. */
export interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: { Records: unknown[] }) => void): void;
}
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

export interface RunningServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * dynalite on 127.0.0.1. With `path` the data lives in LevelDB there and survives restarts;
 * without it, in memory. Tables are ready the moment they are created.
 */
export async function startDynalite(options: { readonly path?: string; readonly port?: number } = {}): Promise<RunningServer> {
  if (options.path !== undefined) await mkdir(options.path, { recursive: true });
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        // dynalite closes its LevelDB when the HTTP server closes, flushing what it holds.
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface RunningS3 extends RunningServer {
  readonly server: S3rverInstance;
}

/**
 * s3rver on 127.0.0.1. With `directory` objects are files there and survive restarts.
 * Listing more than one page needs the process to run with `--openssl-legacy-provider`
 * (its continuation tokens use DES; docs/operations.md).
 */
export async function startS3rver(options: { readonly directory: string; readonly port?: number }): Promise<RunningS3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    // The local stack signs with the fixed S3RVER credentials; the check adds nothing here.
    allowMismatchedSignatures: true,
  });
  const address = await server.run();
  return { server, endpoint: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}

/** Create the bucket unless it exists. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}
