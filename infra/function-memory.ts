/**
 * How much memory the functions get, and the JavaScript heap they run with. V8 sizes its
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

/**
 * The usage export's young generation (`--max-semi-space-size`, MB). Under a 256 MB heap V8
 * keeps it to a few MB, and a day's export, which makes and drops a record's objects and
 * strings a million times, then spends more time collecting than formatting: 16 MB (V8's
 * size on large machines) made the export 0.89× → 0.98× the raw Query rate for ~20 MB of
 * memory (bench/export.bench.ts). The importer gained nothing from it and keeps the default.
 */
export const EXPORT_SEMI_SPACE_MB = 16;

/** The V8 flags of a function of `memoryMb`: its heap limit, and a young generation of `semiSpaceMb` when given. */
export function v8Flags(memoryMb: number, semiSpaceMb?: number): string[] {
  return [`--max-old-space-size=${heapLimitMb(memoryMb)}`, ...(semiSpaceMb === undefined ? [] : [`--max-semi-space-size=${semiSpaceMb}`])];
}
