/**
 * A logger that keeps its lines, one JSON object each, in the shape the deployed functions
 * write (level, service, message, fields; errors with their message and cause), for tests that
 * read what was logged.
 */
import type { Logger } from '../../functions/core/ports.ts';

export function recordingLogger(service: string, lines: string[]): Logger {
  const emit = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push(JSON.stringify({ level, service, message, ...fields }, errorReplacer));
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Errors keep their name, message and cause chain (JSON.stringify would print `{}`). */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value.cause === undefined ? {} : { cause: value.cause }) };
  return value;
}
