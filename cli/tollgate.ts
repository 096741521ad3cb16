#!/usr/bin/env node
/** The `tollgate` executable: Node 22+ runs this TypeScript file directly (type stripping). */
import { processIo } from './io.ts';
import { run } from './main.ts';

// `tollgate codes export | head`: the reader left; end quietly instead of with an EPIPE trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const code = await run(process.argv.slice(2), processIo());
process.exitCode = code;
if (process.argv[2] === 'dev') {
  // The stack has been stopped and closed; anything still holding the event loop (a stray
  // keep-alive socket) must not keep a Ctrl-C'd process alive.
  setTimeout(() => process.exit(code), 2_000).unref();
}
