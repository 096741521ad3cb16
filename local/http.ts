/**
 * The local stack's HTTP server speaks to the handlers the way API Gateway does: each request
 * becomes an HTTP API (payload format 2.0) event and each handler result becomes the response,
 * so a Lambda handler written for AWS mounts here unchanged, with one line:
 *
 *     routes.add(['POST'], '/voice/*', makeVoiceHandler(deps), { functionName: 'tollgate-voice' });
 *
 * Only what the handlers and Twilio need is modelled; the field names and rules follow the
 * AWS documentation for payload format 2.0 (lower-case header names, repeated headers joined
 * with commas, cookies apart, the raw query string as received, binary and form bodies base64).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../functions/services/logger.ts';
import { MAX_BODY_BYTES } from '../functions/routes.ts';

/** The request as API Gateway HTTP API (payload format 2.0) hands it to a Lambda function. */
export interface ApiGatewayEvent {
  readonly version: '2.0';
  readonly routeKey: string;
  /** The path as received, not decoded. */
  readonly rawPath: string;
  /** The query string as received (no `?`), not decoded: Twilio signs it as it sent it. */
  readonly rawQueryString: string;
  readonly cookies?: string[];
  /** Lower-case names; repeated headers joined with `,`. */
  readonly headers: Record<string, string>;
  readonly queryStringParameters?: Record<string, string>;
  readonly requestContext: {
    readonly accountId: string;
    readonly apiId: string;
    readonly domainName: string;
    readonly domainPrefix: string;
    readonly http: {
      readonly method: string;
      readonly path: string;
      readonly protocol: string;
      readonly sourceIp: string;
      readonly userAgent: string;
    };
    readonly requestId: string;
    readonly routeKey: string;
    readonly stage: string;
    readonly time: string;
    readonly timeEpoch: number;
  };
  readonly body?: string;
  readonly isBase64Encoded: boolean;
}

/** What a handler returns: the structured form of an HTTP API response. */
export interface ApiGatewayResult {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string | number | boolean>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly cookies?: readonly string[];
}

/** The Lambda context a handler (a middy handler, say) receives with each event. */
export interface LambdaContextLike {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

export type ApiGatewayHandler = (event: ApiGatewayEvent, context: LambdaContextLike) => Promise<ApiGatewayResult>;

/** A context like Lambda's for one invocation of `functionName`, with `timeoutMs` to run. */
export function lambdaContext(functionName: string, requestId: string, timeoutMs: number): LambdaContextLike {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Bodies larger than this are refused with 413 (docs/call-flow.md), before any handler sees them. */
export { MAX_BODY_BYTES };

/**
 * Content types API Gateway passes as text; every other body (including Twilio's form posts,
 * `application/x-www-form-urlencoded`) arrives base64-encoded with `isBase64Encoded: true`,
 * which is the path a deployed handler has to take, so it is the one exercised locally too.
 */
const TEXT_TYPES = /^(text\/[^;]+|application\/(json|xml|javascript|[^;]+\+(json|xml)))(;|$)/i;

/** Build the HTTP API event for a request whose body has been read. */
export function toApiGatewayEvent(req: IncomingMessage, body: Buffer, options: { readonly routeKey?: string } = {}): ApiGatewayEvent {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQueryString = q === -1 ? '' : url.slice(q + 1);

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'cookie') {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/).filter((c) => c !== '')];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString !== '') {
    queryStringParameters = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[k] = queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
    }
  }

  const method = (req.method ?? 'GET').toUpperCase();
  const contentType = headers['content-type'] ?? '';
  const isText = body.length === 0 || TEXT_TYPES.test(contentType);
  const now = new Date();
  const routeKey = options.routeKey ?? '$default';
  const host = headers.host ?? 'localhost';
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies === undefined ? {} : { cookies }),
    headers,
    ...(queryStringParameters === undefined ? {} : { queryStringParameters }),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method,
        path: safeDecodePath(rawPath),
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length === 0 ? {} : { body: isText ? body.toString('utf8') : body.toString('base64') }),
    isBase64Encoded: !isText,
  };
}

function safeDecodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Write a handler's result as the HTTP response. */
export function sendResult(res: ServerResponse, result: ApiGatewayResult): void {
  const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded === true ? 'base64' : 'utf8');
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  // API Gateway's default for a body without a type.
  if (body.length > 0 && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** A plain-text response, as the router answers 404, 405, 413 and 500. */
export function textResult(statusCode: number, text: string, headers: Record<string, string> = {}): ApiGatewayResult {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body: `${text}\n` };
}

export function jsonResult(statusCode: number, value: unknown): ApiGatewayResult {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: `${JSON.stringify(value)}\n` };
}

interface Route {
  readonly methods: ReadonlySet<string>;
  /** An exact path, or a prefix when the pattern ends in `/*`. */
  readonly path: string;
  readonly prefix: boolean;
  handler: ApiGatewayHandler;
  readonly functionName: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

export interface RouteOptions {
  /** @default `tollgate-local` */
  readonly functionName?: string;
  /** What `getRemainingTimeInMillis` counts down from. @default 15000 (Twilio's webhook timeout) */
  readonly timeoutMs?: number;
  /**
   * How many invocations of the function run at once; requests beyond that wait their turn in
   * arrival order. Routes with the same `functionName` share the limit, as they share a
   * Lambda function's concurrency. @default unlimited
   */
  readonly concurrency?: number;
  /** Larger request bodies are refused with 413. @default 64 KiB, the voice webhooks' limit */
  readonly maxBodyBytes?: number;
}

export interface RouteMatch {
  readonly handler: ApiGatewayHandler;
  readonly routeKey: string;
  readonly functionName: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** The function's concurrency limit, when it has one. */
  readonly gate?: InvocationGate;
}

/**
 * A function's concurrency on the local stack: at most `limit` invocations at once, the rest
 * waiting in arrival order.
 *
 * In AWS every Lambda container handles one request at a time, so a burst of calls is spread
 * over as many containers, each with its own DynamoDB connections (the account's default limit
 * is 1,000 at once; past it API Gateway answers 429). Locally one process plays every
 * container and dynalite too: unbounded, a burst of a thousand webhooks starts a thousand
 * handlers whose DynamoDB requests queue behind the SDK's 50 sockets for longer than the
 * connection timeout, and fail. Queued here instead, each request is handled at the pace the
 * process can sustain, and only waits longer, as Twilio's 15 s webhook timeout allows.
 */
export class InvocationGate {
  readonly limit: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** The most invocations that were ever waiting at once (for tests and diagnostics). */
  maxWaiting = 0;
  /** The most invocations that ever ran at once. */
  maxActive = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a whole number ≥ 1, not ${limit}`);
    this.limit = limit;
  }

  /** Invocations running now, and waiting now. */
  get load(): { readonly active: number; readonly waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /** Run `work` when a slot is free. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        this.maxWaiting = Math.max(this.maxWaiting, this.waiting.length);
      });
    } else {
      this.active++;
    }
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, so `active` never dips and a newcomer
      // cannot jump the queue.
      const next = this.waiting.shift();
      if (next === undefined) this.active--;
      else next();
    }
  }
}

/**
 * Which handler answers which method and path. A path that no route names is 404; a path a
 * route names with another method is 405 with `Allow`, as docs/call-flow.md says. HEAD is answered
 * wherever GET is.
 */
export class RouteTable {
  private readonly routes: Route[] = [];
  private readonly gates = new Map<string, InvocationGate>();

  /** `pattern`: `/health`, or `/voice/*` for every path below `/voice/`. */
  add(methods: readonly string[], pattern: string, handler: ApiGatewayHandler, options: RouteOptions = {}): this {
    const prefix = pattern.endsWith('/*');
    const path = prefix ? pattern.slice(0, -1) : pattern;
    const functionName = options.functionName ?? 'tollgate-local';
    if (options.concurrency !== undefined) {
      const gate = this.gates.get(functionName);
      if (gate !== undefined && gate.limit !== options.concurrency) {
        throw new Error(`${functionName} already has a concurrency of ${gate.limit}; its routes share one limit`);
      }
      if (gate === undefined) this.gates.set(functionName, new InvocationGate(options.concurrency));
    }
    this.routes.push({
      methods: new Set(methods.map((m) => m.toUpperCase())),
      path,
      prefix,
      handler,
      functionName,
      timeoutMs: options.timeoutMs ?? 15_000,
      maxBodyBytes: options.maxBodyBytes ?? MAX_BODY_BYTES,
    });
    return this;
  }

  /** Wrap the handler of every route of a function (a benchmark times the voice function's own work this way). */
  wrap(functionName: string, wrapper: (handler: ApiGatewayHandler) => ApiGatewayHandler): this {
    for (const route of this.routes) if (route.functionName === functionName) route.handler = wrapper(route.handler);
    return this;
  }

  /** The concurrency limit of a function, when it has one. */
  gate(functionName: string): InvocationGate | undefined {
    return this.gates.get(functionName);
  }

  match(method: string, path: string): RouteMatch | { readonly allow: string[] } | undefined {
    const m = method.toUpperCase();
    const allow = new Set<string>();
    for (const route of this.routes) {
      if (!(route.prefix ? path.startsWith(route.path) : path === route.path)) continue;
      const routeKey = `${[...route.methods].join(',')} ${route.prefix ? `${route.path}{proxy+}` : route.path}`;
      if (route.methods.has(m) || (m === 'HEAD' && route.methods.has('GET'))) {
        const gate = this.gates.get(route.functionName);
        return {
          handler: route.handler,
          routeKey,
          functionName: route.functionName,
          timeoutMs: route.timeoutMs,
          maxBodyBytes: route.maxBodyBytes,
          ...(gate === undefined ? {} : { gate }),
        };
      }
      for (const x of route.methods) allow.add(x);
    }
    if (allow.size === 0) return undefined;
    if (allow.has('GET')) allow.add('HEAD');
    return { allow: [...allow].sort() };
  }
}

/**
 * The node:http request listener over a route table: limits the body, builds the event, runs
 * the handler, writes the result. A handler that throws is a 500 with no detail (the error is
 * logged): only 4xx details are ever exposed.
 */
export function makeRequestListener(routes: RouteTable, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void respond(routes, log, req, res).catch((err: unknown) => {
      log.error('HTTP request failed', { method: req.method, path: req.url?.split('?')[0], error: err });
      if (!res.headersSent) sendResult(res, textResult(500, 'internal error'));
      else res.destroy();
    });
  };
}

async function respond(routes: RouteTable, log: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const match = routes.match(req.method ?? 'GET', path);
  if (match === undefined) {
    req.resume();
    sendResult(res, textResult(404, 'not found'));
    return;
  }
  if ('allow' in match) {
    req.resume();
    sendResult(res, textResult(405, 'method not allowed', { allow: match.allow.join(', ') }));
    return;
  }
  const body = await readBody(req, match.maxBodyBytes);
  if (body === undefined) {
    // Close the connection: the rest of an oversized body is not worth reading.
    res.setHeader('connection', 'close');
    res.once('finish', () => req.destroy());
    sendResult(res, textResult(413, `request body larger than ${match.maxBodyBytes} bytes`));
    return;
  }
  const started = performance.now();
  const invoke = async (): Promise<ApiGatewayResult | undefined> => {
    // The client gave up while the request waited for a slot: nobody is left to answer.
    if (res.destroyed || req.socket.destroyed) return undefined;
    const event = toApiGatewayEvent(req, body, { routeKey: match.routeKey });
    return match.handler(event, lambdaContext(match.functionName, event.requestContext.requestId, match.timeoutMs));
  };
  const result = await (match.gate === undefined ? invoke() : match.gate.run(invoke));
  if (result === undefined) {
    log.debug('HTTP request abandoned by the client before it was handled', { method: req.method, path });
    return;
  }
  sendResult(res, result);
  log.debug('HTTP request', { method: req.method, path, status: result.statusCode, ms: Math.round(performance.now() - started) });
}

/**
 * The body, or undefined when it is (or says it is) larger than `limit`. Events rather than
 * `for await`: leaving an async iterator early destroys the socket the 413 must go out on.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
