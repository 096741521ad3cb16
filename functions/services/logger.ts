/**
 * Structured logs: one JSON object a line, which CloudWatch Logs Insights reads as fields.
 * Hand-written because the voice function's cold start pays for every module it loads, and
 * this is all a Lambda log needs. Callers pass facts, never codes' digits or tokens.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

import type { Logger } from '../core/ports.ts';

export type { Logger };

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function makeLogger(options: { readonly service: string; readonly level?: LogLevel; readonly write?: (line: string) => void }): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    write(JSON.stringify({ level, time: new Date().toISOString(), service: options.service, message, ...fields }, errorReplacer));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** Errors keep their name, message and cause chain (JSON.stringify would print `{}`). */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, ...(value.cause === undefined ? {} : { cause: value.cause }) };
  }
  return value;
}

/** A logger that drops everything, for tests and tools that print their own output. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
