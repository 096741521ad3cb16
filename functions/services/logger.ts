/**
 * The log port's levels and a logger that drops everything. The deployed functions log through
 * Powertools (adapters/logger.ts); the local stack and the command line print for people
 * (cli/output.ts).
 */
import type { Logger } from '../core/ports.ts';

export type { Logger, LogLevel } from '../core/ports.ts';

/** A logger that drops everything, for tests and tools that print their own output. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
