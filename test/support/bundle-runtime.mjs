// A Lambda container for a bundle from cdk.out, in a process of its own: the parent sends
// invocations over IPC ({ id, event, context }) and gets each result back; whatever the
// function logs goes to this process's stdout, as Lambda sends it to CloudWatch. Plain
// JavaScript, as the bundle is: nothing of the repository is loaded here.
import { pathToFileURL } from 'node:url';

const entry = process.argv[2];
const mod = await import(pathToFileURL(entry).href);
if (typeof mod.handler !== 'function') throw new Error(`${entry} exports no handler`);

process.on('message', async ({ id, event, context }) => {
  const started = Date.now();
  const ctx = {
    ...context,
    getRemainingTimeInMillis: () => Math.max(0, context.remainingMs - (Date.now() - started)),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    process.send({ id, result: await mod.handler(event, ctx) });
  } catch (err) {
    process.send({ id, error: String(err?.stack ?? err) });
  }
});
process.send({ ready: true });
