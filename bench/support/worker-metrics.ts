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
  /** CPU seconds this process used (user + system) over the run. */
  readonly cpuSeconds: number;
  readonly requests: Record<string, number>;
}

export function startMetrics(client: DynamoDBClient): { finish(): WorkerMetrics } {
  const counter = countRequests(client);
  let peakHeap = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 50);
  const startRss = process.memoryUsage.rss();
  const startCpu = process.cpuUsage();
  return {
    finish() {
      clearInterval(sampler);
      const cpu = process.cpuUsage(startCpu);
      return {
        maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
        startRssMB: startRss / MB,
        peakHeapUsedMB: Math.max(peakHeap, process.memoryUsage().heapUsed) / MB,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        requests: Object.fromEntries(counter.byOperation),
      };
    },
  };
}
