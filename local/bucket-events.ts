/**
 * The local stand-in for "S3 notification → SQS (+DLQ) → import function": s3rver's object
 * events under `imports/` become S3 notifications as AWS writes them, wait in a durable queue
 * (one file per message under `<home>/queue`), and are handed to the import handler one at a
 * time. A message whose import throws is retried with backoff, like SQS redelivering it, and
 * after the last attempt moves to `<home>/dead-letter`. Nothing here can crash the process.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Event, S3EventRecord } from '../functions/handlers/import.ts';
import type { Logger } from '../functions/services/logger.ts';

/** The prefix whose objects are imported; the only one AWS's bucket notification names. */
export const IMPORTS_PREFIX = 'imports/';

/**
 * A key as S3 writes it into a notification: URL-encoded with `+` for a space, `/` kept.
 * s3rver sends keys raw; encoding them here lets the handler's one decoding path serve both.
 */
export function encodeS3Key(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

/**
 * The import notification for an s3rver event, or undefined when it is not one (another
 * bucket, another prefix, a delete). s3rver keeps no versions; its events carry a `sequencer`
 * per upload, which the importer's ledger uses to tell a second upload of the same bytes
 * (imported again) from a redelivered event (not).
 */
export function importNotification(event: { readonly Records?: readonly unknown[] }, bucket: string): S3Event | undefined {
  const records: S3EventRecord[] = [];
  for (const raw of event.Records ?? []) {
    const record = raw as S3EventRecord;
    if (record.eventName?.startsWith('ObjectCreated:') !== true) continue;
    if (record.s3?.bucket?.name !== bucket) continue;
    const key = record.s3.object?.key;
    if (key === undefined || !key.startsWith(IMPORTS_PREFIX)) continue;
    // s3rver names a random principal: locally the person is the one the CLI names (`--as`).
    const { userIdentity: _random, ...rest } = record;
    records.push({ ...rest, s3: { ...record.s3, object: { ...record.s3.object, key: encodeS3Key(key) } } });
  }
  return records.length === 0 ? undefined : { Records: records };
}

export interface ImportQueueOptions {
  /** Where waiting messages live (created if missing). */
  readonly dir: string;
  /** Where messages go after the last failed attempt. */
  readonly deadLetterDir: string;
  readonly handle: (event: S3Event) => Promise<unknown>;
  readonly log: Logger;
  /** Attempts per message, the first included (SQS maxReceiveCount). @default 4 */
  readonly maxAttempts?: number;
  /** Wait before the second attempt; doubles each time, with jitter. @default 500 */
  readonly backoffMs?: number;
}

interface Message {
  readonly id: string;
  readonly event: S3Event;
}

/**
 * A FIFO of S3 notifications, processed one at a time, persisted until handled. Order matters
 * (a settings.json uploaded before a codes file must be applied first), so a message being
 * retried holds up the ones behind it, as a FIFO queue would.
 */
export class ImportQueue {
  private readonly options: ImportQueueOptions;
  private readonly waiting: Message[] = [];
  private running = false;
  private stopping = false;
  private closed = false;
  private seq = 0;
  private idleWaiters: (() => void)[] = [];
  private wakeBackoff: (() => void) | undefined;

  constructor(options: ImportQueueOptions) {
    this.options = options;
    mkdirSync(options.dir, { recursive: true });
    mkdirSync(options.deadLetterDir, { recursive: true });
  }

  /**
   * Persist and schedule a notification. Synchronous on purpose: s3rver emits its event before
   * it answers the upload, so once a client's PutObject returns, the message is on disk.
   */
  enqueue(event: S3Event): void {
    const id = `${Date.now().toString().padStart(15, '0')}-${String(this.seq++).padStart(6, '0')}`;
    try {
      writeFileSync(join(this.options.dir, `${id}.json`), JSON.stringify(event));
    } catch (err) {
      this.options.log.error('could not persist an import notification; importing it anyway', { error: err });
    }
    if (this.closed) {
      this.options.log.warn('stopping: the import will run on the next start', { keys: keysOf(event) });
      return;
    }
    this.waiting.push({ id, event });
    this.pump();
  }

  /** Queue again the messages a previous run left on disk (it stopped or crashed first). */
  replay(): number {
    const files = readdirSync(this.options.dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    for (const file of files) {
      const id = file.slice(0, -'.json'.length);
      try {
        const event = JSON.parse(readFileSync(join(this.options.dir, file), 'utf8')) as S3Event;
        this.waiting.push({ id, event });
      } catch (err) {
        this.options.log.error('unreadable queued notification moved to the dead-letter folder', { file, error: err });
        this.moveToDeadLetter(id);
      }
    }
    if (files.length > 0) this.options.log.info('replaying import notifications left by the previous run', { count: files.length });
    this.pump();
    return files.length;
  }

  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Finish what is waiting, then stop taking work. A message that fails meanwhile is not
   * retried now: it and the ones behind it stay on disk for the next start.
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.wakeBackoff?.();
    await this.idle();
    this.closed = true;
  }

  private pump(): void {
    if (this.running) return;
    this.running = true;
    void this.work().finally(() => {
      this.running = false;
      if (this.waiting.length > 0) this.pump();
      else this.settle();
    });
  }

  private settle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async work(): Promise<void> {
    const { log } = this.options;
    const maxAttempts = this.options.maxAttempts ?? 4;
    for (;;) {
      const message = this.waiting[0];
      if (message === undefined) return;
      let done = false;
      for (let attempt = 1; attempt <= maxAttempts && !done; attempt++) {
        try {
          await this.options.handle(message.event);
          done = true;
        } catch (err) {
          const keys = keysOf(message.event);
          if (attempt === maxAttempts) {
            log.error('import failed on every attempt; the notification was dead-lettered', {
              keys,
              attempts: attempt,
              deadLetter: join(this.options.deadLetterDir, `${message.id}.json`),
              error: err,
            });
            this.moveToDeadLetter(message.id);
            done = true;
            break;
          }
          if (this.stopping) {
            log.warn('import failed while stopping; it will be retried on the next start', { keys, error: err });
            this.halt();
            return;
          }
          const delay = Math.round((this.options.backoffMs ?? 500) * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
          log.warn('import failed; retrying', { keys, attempt, retryInMs: delay, error: err });
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            this.wakeBackoff = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wakeBackoff = undefined;
          if (this.stopping) {
            log.warn('stopping: the import will be retried on the next start', { keys });
            this.halt();
            return;
          }
        }
      }
      this.waiting.shift();
      this.remove(message.id);
    }
  }

  /** Leave every waiting message on disk, in order, and take no more work. */
  private halt(): void {
    this.waiting.length = 0;
    this.closed = true;
  }

  private remove(id: string): void {
    rmSync(join(this.options.dir, `${id}.json`), { force: true });
  }

  private moveToDeadLetter(id: string): void {
    try {
      renameSync(join(this.options.dir, `${id}.json`), join(this.options.deadLetterDir, `${id}.json`));
    } catch {
      // Not persisted in the first place: the log line is all there is.
    }
  }
}

function keysOf(event: S3Event): string[] {
  return (event.Records ?? []).map((r) => r.s3?.object?.key ?? '?');
}
