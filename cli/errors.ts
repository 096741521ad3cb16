/**
 * A failure the user can act on: printed as one line (`tollgate: <message>`), no stack trace.
 * `exitCode` 2 is a usage error (wrong arguments), 1 anything else.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, options: { readonly exitCode?: number; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: 2 });
}
