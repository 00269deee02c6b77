import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { type OtpError, ServiceUnavailableError } from '../core/errors.js';
import type { Readiness } from '../adapters/dynamo/readiness.js';
import { corsHeaders, type CorsOrigins, preflightHeaders } from '../http/cors.js';
import { MethodNotAllowedError, NotFoundError, PayloadTooLargeError } from '../http/errors.js';
import type { ApiHandler } from '../http/http-handler.js';
import { MAX_BODY_BYTES } from '../http/json-body.js';
import { type Problem, problemResponse } from '../http/problem.js';
import { internalError, json, problem } from '../http/responses.js';
import { type HandlerName, methodsOf, ROUTES } from '../routes.js';
import type { OutboxLog } from '../adapters/local-outbox.js';
import { apiGatewayEvent, lambdaContext } from './events.js';
import { type AllowedHosts, HostNotAllowedError, isAllowedHost } from './host-check.js';
import { OUTBOX_PATH, outboxAnswer } from './outbox-route.js';

export type Handlers = Record<HandlerName, ApiHandler>;

export type AccessLog = (line: string) => void;

/**
 * A file served beside the API as it is: the try page's HTML, script and style
 * (functions/local/try-page.ts). HTML comes with a policy of its own in `csp`.
 */
export interface PageAsset {
  body: string;
  contentType: string;
  csp?: string;
}

/**
 * What the local server serves beside the API, by path: an HTML page with no script (the API
 * reference at /docs), under PAGE_HEADERS, or an asset with its own type and policy.
 */
export type Pages = Readonly<Record<string, string | PageAsset>>;

/** Where `npm start` serves the API reference (openapi.html, functions/openapi/html.ts). */
export const DOCS_PATH = '/docs';

/**
 * A page of ours has no script and no external resource (functions/openapi/html.ts): the policy
 * allows its inline style and nothing else.
 */
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

function pageAnswer(page: string | PageAsset): APIGatewayProxyResult {
  if (typeof page === 'string') return { statusCode: 200, headers: { ...PAGE_HEADERS }, body: page };
  const headers: Record<string, string> = { ...PAGE_HEADERS, 'Content-Type': page.contentType };
  if (page.csp === undefined) delete headers['Content-Security-Policy'];
  else headers['Content-Security-Policy'] = page.csp;
  return { statusCode: 200, headers, body: page.body };
}

export interface LocalServerOptions {
  /**
   * The web origins that may call (OTP_CORS_ORIGINS, as the handlers read it): preflights are
   * answered here, as the gateway answers them (lib/otp-rest-api.ts); without it, OPTIONS is a 405.
   */
  corsOrigins?: CorsOrigins;
  /** Pages served beside the API. */
  pages?: Pages;
  /**
   * The local outbox's recent messages, served at OUTBOX_PATH (functions/local/outbox-route.ts);
   * without it, that path does not exist. npm start gives it in dev mode only.
   */
  outbox?: OutboxLog;
  /**
   * Names besides localhost and IP addresses that requests may be addressed to
   * (OTP_LOCAL_ALLOWED_HOSTS, functions/local/host-check.ts); none when not given.
   */
  allowedHosts?: AllowedHosts;
  /**
   * The readiness check served at READY_PATH (adapters/dynamo/readiness.ts): unlike /v1/health it
   * reads every table. Without it, that path does not exist.
   */
  readiness?: () => Promise<Readiness>;
}

/** Where `npm start` answers whether its database serves (200) or not (503 unavailable). */
export const READY_PATH = '/ready';

/**
 * Serves the routes of the API through the very handler exports that are deployed, by turning each
 * request into the event API Gateway (REST) would send. Unknown paths and methods get the problem
 * bodies the API promises.
 */
export function createLocalServer(
  handlers: Handlers,
  accessLog: AccessLog = () => {},
  options: LocalServerOptions = {},
): Server {
  /** Connections with a response under way: a parse error there cannot be answered in between. */
  const answering = new WeakSet<Duplex>();
  const server = createServer((req, res) => {
    const started = Date.now();
    answering.add(req.socket);
    res.once('close', () => answering.delete(req.socket));
    // The outbox is for pages of this server alone: no origin, however allowed, may read it.
    const sameOriginOnly = options.outbox !== undefined && parseTarget(req.url)?.pathname === OUTBOX_PATH;
    void serve(handlers, req, options)
      .catch(() => internalError())
      .then((result) => (sameOriginOnly ? result : withCors(result, options.corsOrigins, req.headers.origin)))
      .then((result) => {
        write(res, result);
        accessLog(`${req.method} ${req.url} ${result.statusCode} ${Date.now() - started}ms`);
      });
  });
  // Requests that node:http's parser refuses never reach the handler above; left to Node, they get
  // a bare status line with no body.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable || answering.has(socket)) {
      socket.destroy();
      return;
    }
    const answer = clientErrorProblem(error);
    socket.end(rawResponse(problemResponse(answer, { Connection: 'close' })));
    accessLog(`- - ${answer.status} (${error.code ?? error.message})`);
  });
  return server;
}

/** What a request the parser refused gets; the codes are llhttp's and node:http's. */
export function clientErrorProblem(error: NodeJS.ErrnoException): Problem {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      slug: 'request-header-fields-too-large',
      title: 'Request header fields too large',
      detail: 'The request headers are larger than this server accepts.',
    };
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      slug: 'request-timeout',
      title: 'Request timeout',
      detail: 'The request did not arrive in time.',
    };
  }
  return {
    status: 400,
    slug: 'bad-request',
    title: 'Bad request',
    detail: 'The request is not valid HTTP/1.1 (for example an unknown method or a malformed header).',
  };
}

/** A whole HTTP/1.1 response as bytes, for a socket that no ServerResponse exists for. */
function rawResponse(result: APIGatewayProxyResult): Buffer {
  const body = Buffer.from(result.body, 'utf8');
  const headers = { ...result.headers, 'Content-Length': body.length, Date: new Date().toUTCString() };
  const head = [
    `HTTP/1.1 ${result.statusCode} ${STATUS_CODES[result.statusCode] ?? ''}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${String(value)}`),
  ].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]);
}

/**
 * The server's own answers (404, 405, 413, 500) carry the CORS headers as the gateway's do
 * (lib/gateway-responses.ts); the handlers' answers have theirs already.
 */
function withCors(
  result: APIGatewayProxyResult,
  origins: CorsOrigins | undefined,
  origin: string | undefined,
): APIGatewayProxyResult {
  const has = Object.keys(result.headers ?? {}).some((name) => name.toLowerCase() === 'access-control-allow-origin');
  return has || origins === undefined
    ? result
    : { ...result, headers: { ...result.headers, ...corsHeaders(origins, origin) } };
}

async function serve(
  handlers: Handlers,
  req: IncomingMessage,
  { corsOrigins, pages = {}, outbox, readiness, allowedHosts = [] }: LocalServerOptions,
): Promise<APIGatewayProxyResult> {
  if (!isAllowedHost(req.headers.host, allowedHosts))
    return answer(req, new HostNotAllowedError(req.headers.host ?? ''));
  const url = parseTarget(req.url);
  if (!url) return answer(req, new NotFoundError(req.url ?? ''));
  const method = req.method ?? 'GET';
  const page = Object.hasOwn(pages, url.pathname) ? pages[url.pathname] : undefined;
  if (page !== undefined) {
    if (method !== 'GET') return answer(req, new MethodNotAllowedError(method, ['GET']));
    req.resume();
    return pageAnswer(page);
  }
  if (outbox && url.pathname === OUTBOX_PATH) {
    req.resume();
    return outboxAnswer(req, url, outbox);
  }
  if (readiness && url.pathname === READY_PATH) {
    if (method !== 'GET') return answer(req, new MethodNotAllowedError(method, ['GET']));
    req.resume();
    const checked = await readiness();
    if (checked.ready) return json(200, { status: 'ready', tables: checked.tables });
    const unavailable = new ServiceUnavailableError();
    unavailable.extensions.tables = checked.tables;
    return problem(unavailable);
  }
  const allowed = methodsOf(url.pathname);
  if (allowed.length === 0) return answer(req, new NotFoundError(url.pathname));
  if (method === 'OPTIONS' && corsOrigins !== undefined) {
    req.resume();
    // An origin not allowed gets no Access-Control-Allow-* headers, and the browser stops there.
    return { statusCode: 204, headers: preflightHeaders(corsOrigins, req.headers.origin, allowed), body: '' };
  }
  const route = ROUTES.find((candidate) => candidate.path === url.pathname && candidate.method === method);
  if (!route) return answer(req, new MethodNotAllowedError(method, allowed));

  const body = await readBody(req);
  if (body === undefined) return answer(req, new PayloadTooLargeError(MAX_BODY_BYTES));
  const event = apiGatewayEvent({
    method,
    path: url.pathname,
    resource: route.path,
    headers: req.headers,
    body,
    query: Object.fromEntries(url.searchParams),
    sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
    protocol: `HTTP/${req.httpVersion}`,
  });
  return handlers[route.handler](event, lambdaContext(route.handler, event.requestContext.requestId));
}

/** The request target as a URL, or undefined for one no route could match (`//`, `//a:b@`). */
function parseTarget(target = '/'): URL | undefined {
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

/** Drains the request first so the client reads the answer instead of a reset connection. */
function answer(req: IncomingMessage, error: OtpError): APIGatewayProxyResult {
  req.resume();
  return problem(error);
}

/** The body, or undefined past the API's limit (no point buffering what the handler refuses). */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks).toString('utf8');
}

function write(res: ServerResponse, result: APIGatewayProxyResult): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    // Middlewares remove a header by leaving it undefined; API Gateway drops those too.
    if (value !== undefined && value !== '') res.setHeader(name, String(value));
  }
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) res.setHeader(name, values.map(String));
  res.statusCode = result.statusCode;
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}
