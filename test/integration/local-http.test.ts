/**
 * The local HTTP server's API Gateway adapter: a request becomes the HTTP API (2.0) event a
 * Lambda handler receives in AWS, and the handler's result becomes the response. A real
 * node:http server on loopback, no emulators.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../functions/services/logger.ts';
import { makeRequestListener, MAX_BODY_BYTES, RouteTable, type ApiGatewayEvent, type LambdaContextLike } from '../../local/http.ts';

let server: Server;
let base: string;
const seen: ApiGatewayEvent[] = [];
const contexts: LambdaContextLike[] = [];

beforeAll(async () => {
  const routes = new RouteTable()
    .add(['GET'], '/health', async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"ok"}' }))
    .add(['POST'], '/voice/*', async (event, context) => {
      seen.push(event);
      contexts.push(context);
      return { statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: Buffer.from('<Response><Hangup/></Response>').toString('base64'), isBase64Encoded: true };
    })
    .add(['POST'], '/boom', async () => {
      throw new Error('secret detail');
    });
  server = createServer(makeRequestListener(routes, silentLogger));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A request with the path exactly as given. */
function send(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { method: 'POST', path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the API Gateway adapter', () => {
  it('hands a Twilio form post over as Twilio signed it: raw path and query, base64 body', async () => {
    const form = 'CallSid=CA123&From=client%3Aalice&To=%2B442079460000&Digits=0042';
    // node:http, not fetch: fetch would re-encode the apostrophe, and the point is that nothing does.
    const res = await send(
      `/voice/code?step=2&note=O'Brien%20x`,
      {
        'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
        'X-Twilio-Signature': 'abc=',
        cookie: 'a=1; b=2',
      },
      form,
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/xml');
    expect(res.body).toBe('<Response><Hangup/></Response>');
    const event = seen.at(-1) as ApiGatewayEvent;
    expect(event).toMatchObject({
      version: '2.0',
      rawPath: '/voice/code',
      rawQueryString: "step=2&note=O'Brien%20x",
      queryStringParameters: { step: '2', note: "O'Brien x" },
      cookies: ['a=1', 'b=2'],
      isBase64Encoded: true,
      requestContext: { http: { method: 'POST', path: '/voice/code', sourceIp: '127.0.0.1' }, stage: '$default' },
    });
    expect(event.headers['x-twilio-signature']).toBe('abc=');
    expect(event.headers.host).toBe(new URL(base).host);
    expect(Buffer.from(event.body ?? '', 'base64').toString('utf8')).toBe(form);
    // A Lambda-like context, as a middy handler expects: Twilio's 15 s counting down.
    const context = contexts.at(-1) as LambdaContextLike;
    expect(context.awsRequestId).toBe(event.requestContext.requestId);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(14_000);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(15_000);
  });

  it('passes JSON and text bodies as text', async () => {
    await fetch(`${base}/voice/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(seen.at(-1)).toMatchObject({ isBase64Encoded: false, body: '{"a":1}', rawQueryString: '' });
  });

  it('answers 404 for unknown paths and 405 with Allow for a known path and the wrong method', async () => {
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    const wrong = await fetch(`${base}/health`, { method: 'POST', body: 'x' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    const get = await fetch(`${base}/voice/incoming`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('answers HEAD where GET is served, without a body', async () => {
    const res = await fetch(`${base}/health`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('refuses bodies over 64 KB with 413, declared or streamed, before the handler runs', async () => {
    const count = seen.length;
    const declared = await fetch(`${base}/voice/incoming`, { method: 'POST', body: 'x'.repeat(MAX_BODY_BYTES + 1) });
    expect(declared.status).toBe(413);
    // Chunked: no content-length, so the limit is found while reading.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/voice/incoming`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('y'.repeat(10 * 1024));
      req.end();
    });
    expect(streamed).toBe(413);
    const exact = await fetch(`${base}/voice/incoming`, { method: 'POST', body: 'x'.repeat(MAX_BODY_BYTES) });
    expect(exact.status).toBe(200);
    expect(seen.length).toBe(count + 1);
  });

  it('turns a handler that throws into a 500 that exposes nothing', async () => {
    const res = await fetch(`${base}/boom`, { method: 'POST' });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('internal error\n');
  });
});

describe('a function with a concurrency limit', () => {
  let gated: Server;
  let gatedBase: string;
  let routes: RouteTable;
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const sockets: Socket[] = [];

  beforeAll(async () => {
    routes = new RouteTable()
      .add(
        ['POST'],
        '/slow/*',
        async (event) => {
          started.push(event.rawPath);
          // Held until the test lets it go, so the test decides what is still running.
          await new Promise<void>((resolve) => releases.set(event.rawPath, resolve));
          return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: event.rawPath };
        },
        { functionName: 'slow', concurrency: 2 },
      )
      // Another route of the same function shares its limit.
      .add(['GET'], '/slow-health', async () => ({ statusCode: 200, body: 'ok' }), { functionName: 'slow' });
    gated = createServer(makeRequestListener(routes, silentLogger));
    gated.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => gated.listen(0, '127.0.0.1', resolve));
    gatedBase = `http://127.0.0.1:${(gated.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const release of releases.values()) release();
    gated.closeAllConnections();
    await new Promise((resolve) => gated.close(resolve));
  });

  const until = async (what: string, probe: () => boolean): Promise<void> => {
    const deadline = Date.now() + 5_000;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('runs at most that many invocations at once and the rest in arrival order, answering every request', async () => {
    const gate = routes.gate('slow');
    const paths = ['/slow/1', '/slow/2', '/slow/3', '/slow/4', '/slow/5'];
    const answers: Promise<string>[] = [];
    for (const path of paths) {
      answers.push(fetch(gatedBase + path, { method: 'POST' }).then((r) => r.text()));
      // Arrival order is the order the server sees the requests in.
      await until(`${path} to arrive`, () => (gate?.load.active ?? 0) + (gate?.load.waiting ?? 0) === answers.length);
    }
    expect(started).toEqual(['/slow/1', '/slow/2']);
    expect(gate?.load).toEqual({ active: 2, waiting: 3 });

    releases.get('/slow/2')?.();
    await until('the first waiting request to start', () => started.length === 3);
    expect(started[2]).toBe('/slow/3');
    for (const path of paths) {
      await until(`${path} to start`, () => releases.has(path));
      releases.get(path)?.();
    }
    expect(await Promise.all(answers)).toEqual(paths);
    expect(gate?.maxActive).toBe(2);
    expect(gate?.load).toEqual({ active: 0, waiting: 0 });
  });

  it('never runs a waiting request whose client has gone away', async () => {
    started.length = 0;
    releases.clear();
    const gate = routes.gate('slow');
    const first = fetch(`${gatedBase}/slow/a`, { method: 'POST' }).then((r) => r.text());
    const second = fetch(`${gatedBase}/slow/b`, { method: 'POST' }).then((r) => r.text());
    await until('both to run', () => started.length === 2);
    // Its own connection, so the server's end of it can be watched.
    const opened = sockets.length;
    const gone = request(`${gatedBase}/slow/gone`, { method: 'POST', agent: false });
    gone.on('error', () => undefined);
    gone.end();
    await until('the third to wait', () => gate?.load.waiting === 1 && sockets.length > opened);
    const serverSide = sockets[opened];
    gone.destroy();
    await until('the server to see the client go', () => serverSide?.destroyed === true);
    const after = fetch(`${gatedBase}/slow/after`, { method: 'POST' }).then((r) => r.text());
    await until('the fourth to wait', () => gate?.load.waiting === 2);
    releases.get('/slow/a')?.();
    await until('the next live request to start', () => releases.has('/slow/after'));
    releases.get('/slow/b')?.();
    releases.get('/slow/after')?.();
    expect(await Promise.all([first, second, after])).toEqual(['/slow/a', '/slow/b', '/slow/after']);
    expect(started).toEqual(['/slow/a', '/slow/b', '/slow/after']);
  });

  it('refuses two different limits for one function', () => {
    expect(() =>
      new RouteTable()
        .add(['GET'], '/a', async () => ({ statusCode: 200 }), { functionName: 'f', concurrency: 2 })
        .add(['GET'], '/b', async () => ({ statusCode: 200 }), { functionName: 'f', concurrency: 3 }),
    ).toThrow(/share one limit/);
  });
});
