/**
 * What a benchmark worker process measures of itself: the kernel's peak RSS, the RSS before
 * the run, the JavaScript heap's peak (sampled, for its share of the RSS), CPU seconds, and
 * the DynamoDB requests its client sent. Started when the worker has loaded its code.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { countRequests } from '../../functions/adapters/dynamodb/client.ts';

const MB = 1024 * 1024;

export interface WorkerMetrics {
  /** Peak resident set of this process, from the kernel (MB). */
  readonly maxRssMB: number;
  /** RSS before the run began (Node, the SDK and the code loaded), MB. */
  readonly startRssMB: number;
  readonly peakHeapUsedMB: number;
  /** The most the JavaScript heap held from the system (used or not), and the most held outside it (Buffers), sampled. */
  readonly peakHeapTotalMB: number;
  readonly peakExternalMB: number;
  /** CPU seconds this process used (user + system) over the run. */
  readonly cpuSeconds: number;
  readonly requests: Record<string, number>;
}

export function startMetrics(client: DynamoDBClient): { finish(): WorkerMetrics } {
  const counter = countRequests(client);
  let peakHeap = 0;
  let peakHeapTotal = 0;
  let peakExternal = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakHeapTotal = Math.max(peakHeapTotal, m.heapTotal);
    peakExternal = Math.max(peakExternal, m.external);
  };
  const sampler = setInterval(sample, 50);
  // BENCH_TRACE_MEMORY=1: a line a second on stderr, to see which phase holds the memory.
  const started = performance.now();
  const tracer =
    process.env.BENCH_TRACE_MEMORY === undefined
      ? undefined
      : setInterval(() => {
          const m = process.memoryUsage();
          const mb = (n: number) => Math.round(n / MB);
          console.error(
            `${((performance.now() - started) / 1000).toFixed(0)} s: rss ${mb(m.rss)} heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} external ${mb(m.external)} (array buffers ${mb(m.arrayBuffers)}) MB`,
          );
        }, 1000);
  const startRss = process.memoryUsage.rss();
  const startCpu = process.cpuUsage();
  return {
    finish() {
      clearInterval(sampler);
      if (tracer !== undefined) clearInterval(tracer);
      sample();
      const cpu = process.cpuUsage(startCpu);
      return {
        maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
        startRssMB: startRss / MB,
        peakHeapUsedMB: peakHeap / MB,
        peakHeapTotalMB: peakHeapTotal / MB,
        peakExternalMB: peakExternal / MB,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        requests: Object.fromEntries(counter.byOperation),
      };
    },
  };
}
