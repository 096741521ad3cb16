/**
 * How much memory the functions get, and the JavaScript heap limit they run with. V8 sizes its
 * heap from the memory it sees, a quarter of it; the functions are told so explicitly
 * (`--max-old-space-size` in NODE_OPTIONS, `app-function.ts`), so the limit does not depend on
 * how the runtime reports memory, and the benchmarks run the importer and the exporter with the
 * limit they have in AWS (`bench/support/processes.ts`). Without it, on a machine with many
 * gigabytes, V8 lets garbage pile up far longer than in a 1 GB function, and the peak memory
 * measured is not the function's.
 *
 * Plain numbers, no CDK: the benchmarks read them too.
 */

/** The import and export functions: files of a million rows stream through them. */
export const BULK_FUNCTION_MEMORY_MB = 1024;

/** The heap limit for a function of `memoryMb`. */
export function heapLimitMb(memoryMb: number): number {
  return Math.floor(memoryMb / 4);
}
