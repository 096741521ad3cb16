/**
 * Every admin change is an object under `imports/<account>/` (docs/call-flow.md): upload it, then wait
 * for the import function's report under `results/<account>/` and show it.
 *
 * The report is found by its `file` (the key uploaded) and the version the upload created
 * (AWS: the bucket is versioned). s3rver keeps no versions, so locally a `startedAt` no earlier
 * than the upload began ties the two together instead; the stack and the CLI share a clock.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import { findReport } from '../functions/adapters/s3/change-door.ts';
import { ACTOR_METADATA, reportPrefix, type ImportReport } from '../functions/core/reports.ts';

export { fileStamp } from '../functions/core/reports.ts';
import { routeImportKey } from '../functions/services/importer.ts';
import { encodeS3Key } from '../local/bucket-events.ts';
import { CliError, type CliIo } from './io.ts';
import { formatBytes, formatReport, StatusLine } from './output.ts';
import type { Target } from './target.ts';

/** Multipart upload above this size, in parts of this size. */
const PART_SIZE = 8 * 1024 * 1024;
const POLL_MS = 150;
/** AWS: a report is listed once a second, not hammered. */
const AWS_POLL_MS = 1_000;
const LOST_AFTER_MS = 10_000;
/**
 * AWS: how long to wait for a report when no --timeout is given. The import function may run
 * 15 minutes; a delivery that failed is retried later, or dead-lettered with an alarm.
 */
const AWS_WAIT_SECONDS = 20 * 60;

export interface UploadSource {
  /** A file to stream, or bytes already in memory. */
  readonly file?: string;
  readonly body?: string | Uint8Array;
  readonly contentType: string;
}

export interface ImportResult {
  readonly report: ImportReport;
  readonly reportKey: string;
}

/** The object key a file is uploaded to, e.g. `imports/acme/codes/march.csv`. */
export function importKey(account: string, folder: 'codes' | 'codes-replace' | 'users', fileName: string): string {
  return `imports/${account}/${folder}/${basename(fileName)}`;
}

/**
 * Upload, showing progress on a terminal, then wait for the report and return it: as long as
 * the stack still holds the import in its queue (a million rows take minutes), or until
 * `timeoutSeconds`. Throws {@link CliError} when the import was dead-lettered or is lost.
 *
 * A deployed stack's queue cannot be looked into from here: the wait goes on until the
 * timeout (20 minutes unless given), and a dead-lettered import shows as the stack's alarm.
 */
export async function uploadAndWait(
  io: CliIo,
  target: Target,
  key: string,
  source: UploadSource,
  options: { readonly timeoutSeconds?: number; readonly actor?: string } = {},
): Promise<ImportResult> {
  const route = routeImportKey(key);
  if ('error' in route) throw new Error(`not an import key: ${key} (${route.error})`);
  const info = target.info;
  const status = new StatusLine(io.stderr);
  const uploadedAt = new Date();
  try {
    const versionId = await upload(target, key, source, options.actor, status);
    return await waitForReport(target, key, route, { uploadedAt, versionId, status, timeoutSeconds: options.timeoutSeconds });
  } catch (err) {
    if (isConnectionError(err)) {
      if (info.kind === 'aws') throw new CliError(`lost the connection to AWS (${info.region}): ${(err as Error).message}; try again`, { cause: err });
      throw new CliError(`lost the local stack at ${info.s3Endpoint}: is it still running? start it with npm start`, { cause: err });
    }
    throw err;
  } finally {
    status.clear();
  }
}

/** Put the file under `key`, its progress on the status line; who made the change rides with it as metadata. */
async function upload(target: Target, key: string, source: UploadSource, actor: string | undefined, status: StatusLine): Promise<string | undefined> {
  let size = 0;
  let body: string | Uint8Array | Readable;
  if (source.file !== undefined) {
    size = (await stat(source.file)).size;
    body = createReadStream(source.file);
  } else {
    body = source.body ?? '';
    size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  }
  const label = basename(source.file ?? key);
  const transfer = new Upload({
    client: target.s3,
    // The import writes the actor into the report: the audit trail.
    params: {
      Bucket: target.bucket,
      Key: key,
      Body: body,
      ContentType: source.contentType,
      ...(actor === undefined ? {} : { Metadata: { [ACTOR_METADATA]: encodeURIComponent(actor) } }),
    },
    partSize: PART_SIZE,
    queueSize: 4,
  });
  status.set(`Uploading ${label} (${formatBytes(size)})`);
  transfer.on('httpUploadProgress', (p) => {
    const loaded = p.loaded ?? 0;
    const percent = size > 0 ? Math.floor((loaded / size) * 100) : 100;
    status.set(`Uploading ${label}: ${formatBytes(loaded)} of ${formatBytes(size)} (${percent}%)`);
  });
  return (await transfer.done()).VersionId;
}

interface Waiting {
  readonly uploadedAt: Date;
  readonly versionId: string | undefined;
  readonly status: StatusLine;
  readonly timeoutSeconds: number | undefined;
}

/** Poll for the upload's report, showing rows applied; give up when the import is dead-lettered, lost, or past the timeout. */
async function waitForReport(target: Target, key: string, route: { readonly account: string; readonly name: string }, w: Waiting): Promise<ImportResult> {
  const info = target.info;
  const label = basename(key);
  const waitStart = Date.now();
  const timeoutSeconds = w.timeoutSeconds ?? (info.kind === 'aws' ? AWS_WAIT_SECONDS : undefined);
  const hardDeadline = timeoutSeconds === undefined ? undefined : waitStart + timeoutSeconds * 1000;
  // Rows applied so far, as the import tells its ledger (a long import shows it counting).
  let applied: number | undefined;
  w.status.set(() => {
    const seconds = Math.floor((Date.now() - waitStart) / 1000);
    if (applied === undefined) return `Uploaded ${label}; waiting for the import report (${seconds} s)`;
    return applied === 0 ? `Importing ${label}: checking every row first (${seconds} s)` : `Importing ${label}: ${applied.toLocaleString('en-US')} rows applied (${seconds} s)`;
  });
  const prefix = reportPrefix(route.account, route.name);
  const ticket = { key, reportPrefix: prefix, uploadedAt: w.uploadedAt.toISOString(), ...(w.versionId === undefined ? {} : { versionId: w.versionId }) };
  // How long a notification may be neither queued nor reported (between the two checks, or lost) before giving up.
  let unseenSince: number | undefined;
  for (;;) {
    const found = await findReport(target.s3, target.bucket, ticket);
    if (found !== undefined) return { report: found.report, reportKey: found.key };
    applied = (await target.stores.ledger.inProgress(route.account, key).catch(() => undefined))?.rows ?? applied;
    const now = Date.now();
    if (info.kind === 'local') unseenSince = await checkLocalQueue(info.home, key, w.uploadedAt, now, unseenSince);
    if (hardDeadline !== undefined && now > hardDeadline) {
      const where =
        info.kind === 'aws'
          ? `; an import that failed on every attempt waits in the dead-letter queue${info.importDeadLetterQueueUrl === undefined ? '' : ` ${info.importDeadLetterQueueUrl}`} and raises the ImportDeadLetters alarm, and its error is in the import function's log`
          : '';
      throw new CliError(
        `no import report for ${key} after ${timeoutSeconds} s${w.timeoutSeconds === undefined ? '' : ' (--timeout)'}; it may still arrive under ${prefix}${where}`,
      );
    }
    await new Promise((r) => setTimeout(r, info.kind === 'aws' ? AWS_POLL_MS : POLL_MS));
  }
}

/** The local stack's queue: a dead-lettered import fails the wait, and so does one neither queued nor reported for long. */
async function checkLocalQueue(home: string, key: string, uploadedAt: Date, now: number, unseenSince: number | undefined): Promise<number | undefined> {
  const queued = await queueState(home, key, uploadedAt);
  if (queued === 'dead-lettered') {
    throw new CliError(`the import of ${key} failed on every attempt and was dead-lettered (${home}/dead-letter): see the stack's console for the error`);
  }
  const since = queued === 'queued' ? undefined : (unseenSince ?? now);
  if (since !== undefined && now - since > LOST_AFTER_MS) {
    throw new CliError(`no import report for ${key}, and the stack has no import of it waiting: see the stack's console for errors`);
  }
  return since;
}

/**
 * Where the local stack is with the notification of this upload: still in its queue (waiting,
 * importing or being retried), dead-lettered, or neither (done, or never seen). The queue is
 * one JSON file per notification under `<home>/queue` (local/bucket-events.ts).
 */
async function queueState(home: string, key: string, since: Date): Promise<'queued' | 'dead-lettered' | 'none'> {
  const needle = JSON.stringify(encodeS3Key(key));
  const holds = async (dir: string, newerThan?: number): Promise<boolean> => {
    let files: string[];
    try {
      files = await readdir(dir);
    } catch {
      return false;
    }
    for (const file of files) {
      try {
        const path = join(dir, file);
        if (newerThan !== undefined && (await stat(path)).mtimeMs < newerThan) continue;
        if ((await readFile(path, 'utf8')).includes(needle)) return true;
      } catch {
        // Taken off the queue while we looked.
      }
    }
    return false;
  };
  if (await holds(join(home, 'queue'))) return 'queued';
  if (await holds(join(home, 'dead-letter'), since.getTime() - 1000)) return 'dead-lettered';
  return 'none';
}

export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET') return true;
    if ((e as { name?: string }).name === 'TimeoutError') return true;
    if (e === (e as { cause?: unknown }).cause) break;
  }
  return false;
}

/** Print a report and turn it into an exit code: 0 applied, 1 rejected. */
export function printReport(io: CliIo, target: Target, result: ImportResult): number {
  io.stdout.write(formatReport(result.report, target.location(result.reportKey)));
  return result.report.status === 'applied' ? 0 : 1;
}
