/**
 * Call-record events on the local stack (docs/events.md): each event is appended to
 * `$TOLLGATE_HOME/events.log` (what `tollgate events tail` shows) and POSTed to each of the
 * account's webhook URLs, signed with the account's webhook secret, retried with exponential
 * backoff for a day. `publish` only writes the log line and schedules the deliveries: the voice
 * webhook that completed the record never waits for a receiver. Deliveries still waiting when
 * the stack stops are not kept (in AWS the queue keeps them).
 */
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postEvent } from '../functions/adapters/events/webhook.ts';
import type { CallRecordEvent } from '../functions/core/events.ts';
import type { CallRecordEvents, Logger } from '../functions/core/ports.ts';

export const EVENTS_LOG = 'events.log';
export const WEBHOOK_SECRETS_FILE = 'webhook-secrets.json';

export interface LocalEventsOptions {
  readonly home: string;
  readonly log: Logger;
  /** The first retry's delay; each next one doubles, up to `maxDelayMs`. @default 1000 */
  readonly firstDelayMs?: number;
  /** @default one hour */
  readonly maxDelayMs?: number;
  /** Give up on a delivery this long after the first attempt. @default one day */
  readonly giveUpAfterMs?: number;
  /** One attempt's time limit. @default 10 s */
  readonly timeoutMs?: number;
}

export interface LocalEvents extends CallRecordEvents {
  /** Resolves when no delivery is under way or waiting. */
  idle(): Promise<void>;
  /** Drop the deliveries still waiting (the stack stops). */
  close(): void;
}

/** The account's webhook secret, made (32 random bytes, hex) the first time it is asked for; the file is the owner's only. */
export async function webhookSecret(home: string, account: string): Promise<string> {
  const path = join(home, WEBHOOK_SECRETS_FILE);
  let secrets: Record<string, string> = {};
  try {
    secrets = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const known = secrets[account];
  if (typeof known === 'string' && known !== '') return known;
  secrets[account] = randomBytes(32).toString('hex');
  await writeFile(`${path}.tmp`, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
  return secrets[account] as string;
}

export function localEvents(options: LocalEventsOptions): LocalEvents {
  const first = options.firstDelayMs ?? 1000;
  const max = options.maxDelayMs ?? 3_600_000;
  const giveUp = options.giveUpAfterMs ?? 86_400_000;
  const timers = new Set<NodeJS.Timeout>();
  let active = 0;
  let waiters: (() => void)[] = [];
  // Each account's secret read once (the file is written one account at a time), not per delivery.
  const secrets = new Map<string, Promise<string>>();
  let secretLock: Promise<unknown> = Promise.resolve();
  const settle = () => {
    if (active === 0 && timers.size === 0) for (const w of waiters.splice(0)) w();
  };
  const secretOf = (account: string): Promise<string> => {
    let secret = secrets.get(account);
    if (secret === undefined) {
      secret = secretLock.then(() => webhookSecret(options.home, account));
      secretLock = secret.catch(() => undefined);
      // A failed read is not kept: the next delivery tries again.
      secret.catch(() => secrets.delete(account));
      secrets.set(account, secret);
    }
    return secret;
  };

  async function attempt(url: string, event: CallRecordEvent, startedAt: number, n: number): Promise<void> {
    active++;
    try {
      await postEvent(url, event, await secretOf(event.account), options.timeoutMs);
    } catch (err) {
      retry(url, event, startedAt, n, (err as Error).message);
    } finally {
      active--;
      settle();
    }
  }

  function retry(url: string, event: CallRecordEvent, startedAt: number, n: number, why: string): void {
    const delay = Math.min(first * 2 ** n, max);
    if (Date.now() + delay - startedAt > giveUp) {
      options.log.error('call-record event not delivered: gave up', { url, id: event.id, attempts: n + 1, why });
      return;
    }
    options.log.warn('call-record event delivery failed; will retry', { url, id: event.id, attempt: n + 1, retryInMs: delay, why });
    const timer = setTimeout(() => {
      timers.delete(timer);
      void attempt(url, event, startedAt, n + 1);
    }, delay);
    timer.unref();
    timers.add(timer);
  }

  return {
    async publish(event, webhooks) {
      // After the current turn of the event loop: the webhook that completed the record sends
      // its answer first, and only then is the log written and the delivery begun.
      active++;
      setImmediate(() => {
        appendFile(join(options.home, EVENTS_LOG), `${JSON.stringify(event)}\n`)
          .catch((err: unknown) => options.log.error('call-record event not logged', { id: event.id, error: err }))
          .finally(() => {
            for (const url of webhooks) void attempt(url, event, Date.now(), 0);
            active--;
            settle();
          });
      });
    },
    idle: () => (active === 0 && timers.size === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      settle();
      waiters = [];
    },
  };
}
