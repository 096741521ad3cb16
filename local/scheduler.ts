/**
 * The local stack's stand-in for EventBridge Scheduler: runs a job shortly after start, then at
 * a fixed minute past every hour (the AWS schedule's `cron(5 * * * ? *)`). Runs never overlap:
 * a run asked for while one is under way joins it. Stopping waits for the run in flight, so
 * the clients it uses are not closed under it.
 */
import type { Logger } from '../functions/services/logger.ts';

export interface HourlySchedulerOptions<T> {
  readonly name: string;
  readonly run: () => Promise<T>;
  readonly log: Logger;
  /** The first run, this long after start. @default 5000 */
  readonly firstRunMs?: number;
  /** Minute past each hour of the later runs. @default 5 */
  readonly minute?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface HourlyScheduler<T> {
  /** Run now (or join the run under way); resolves with its result. */
  runNow(): Promise<T>;
  /** When the next run is due. */
  readonly nextRunAt: Date | undefined;
  /** No more runs; resolves once the run in flight, if any, has finished. */
  stop(): Promise<void>;
}

const HOUR = 3_600_000;

/** The next instant at `minute` past an hour, strictly after `now`. */
export function nextHourlyRun(now: Date, minute: number): Date {
  const hourStart = Math.floor(now.getTime() / HOUR) * HOUR;
  let t = hourStart + minute * 60_000;
  if (t <= now.getTime()) t += HOUR;
  return new Date(t);
}

export function startHourlyScheduler<T>(options: HourlySchedulerOptions<T>): HourlyScheduler<T> {
  const now = options.now ?? (() => new Date());
  const minute = options.minute ?? 5;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<T> | undefined;
  let stopped = false;
  let nextRunAt: Date | undefined;

  const schedule = (at: Date): void => {
    if (stopped) return;
    nextRunAt = at;
    timer = setTimeout(() => void fire(), Math.max(0, at.getTime() - now().getTime()));
    // The HTTP server keeps `tollgate dev` alive; a pending run must not keep anything else alive.
    timer.unref();
  };

  const runNow = (): Promise<T> => {
    inFlight ??= (async () => {
      const started = performance.now();
      try {
        return await options.run();
      } finally {
        options.log.debug('scheduled job finished', { job: options.name, ms: Math.round(performance.now() - started) });
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const fire = async (): Promise<void> => {
    try {
      await runNow();
    } catch (err) {
      options.log.error('scheduled job failed; it runs again next hour', { job: options.name, error: err });
    }
    schedule(nextHourlyRun(now(), minute));
  };

  schedule(new Date(now().getTime() + (options.firstRunMs ?? 5_000)));

  return {
    runNow,
    get nextRunAt() {
      return nextRunAt;
    },
    async stop() {
      stopped = true;
      nextRunAt = undefined;
      clearTimeout(timer);
      await inFlight?.catch(() => undefined);
    },
  };
}
