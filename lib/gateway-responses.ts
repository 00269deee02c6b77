import { MockIntegration, PassthroughBehavior, ResponseType, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import { CORS_EXPOSE_HEADERS, type CorsOrigins } from '../functions/http/cors.js';
import { INTERNAL_ERROR, type Problem, problemBody } from '../functions/http/problem.js';
import { methodsOf, ROUTES } from '../functions/routes.js';

/**
 * The headers @middy/http-security-headers puts on every answer of the handlers
 * (functions/http/http-handler.ts), for the gateway's own answers: a test holds the two equal
 * (test/lib/gateway-responses.test.ts). Its HTML-only headers (Content-Security-Policy, X-Frame-Options, ...)
 * it leaves off JSON answers, and so do these.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains; preload',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Permitted-Cross-Domain-Policies': 'none',
};

/** Header values of a gateway response are mapping expressions: literals go in single quotes. */
const literal = (value: string) => `'${value}'`;

const PROBLEM_HEADERS: Record<string, string> = {
  'Content-Type': literal('application/problem+json'),
  'Cache-Control': literal('no-store'),
  ...Object.fromEntries(Object.entries(SECURITY_HEADERS).map(([name, value]) => [name, literal(value)])),
};

/**
 * What lets a page read the gateway's own problems, as it reads the handlers' (functions/http/cors.ts).
 * A gateway response cannot choose among origins, only map a literal or a request header: one
 * origin is named, several are answered with the request's own Origin. These bodies are the fixed
 * texts below, with nothing of any caller in them, so showing them to another origin tells it
 * nothing; the handlers' answers, which do hold data, stay limited to the list.
 */
export function gatewayCorsHeaders(origins: CorsOrigins | undefined): Record<string, string> {
  if (origins === undefined) return {};
  const expose = { 'Access-Control-Expose-Headers': `'${CORS_EXPOSE_HEADERS.join(', ')}'` };
  if (origins === '*') return { 'Access-Control-Allow-Origin': "'*'", ...expose };
  const origin = origins.length === 1 ? `'${origins[0]}'` : 'method.request.header.Origin';
  return { 'Access-Control-Allow-Origin': origin, Vary: "'Origin'", ...expose };
}

const template = (problem: Problem, extensions: Record<string, unknown> = {}) => ({
  'application/json': JSON.stringify(problemBody(problem, extensions)),
});

const FORBIDDEN: Problem = { status: 403, slug: 'forbidden', title: 'Forbidden', detail: 'The request was refused.' };
const BAD_REQUEST: Problem = {
  status: 400,
  slug: 'bad-request',
  title: 'Bad request',
  detail: 'The request could not be accepted.',
};

/** One answer of the gateway itself: its response type, its problem, and headers beyond the problem's. */
export interface GatewayProblem {
  /** The construct id, which names the resource's logical id: kept for the answers that existed. */
  id: string;
  type: ResponseType;
  problem: Problem;
  headers?: Record<string, string>;
  /** Members beyond the problem's, such as `retryAfter`. */
  extensions?: Record<string, unknown>;
}

/**
 * Every response type API Gateway answers with a 4XX or 5XX by itself ("Gateway response types for
 * API Gateway", API Gateway Developer Guide), each with the status API Gateway gives it and a body of
 * its own. A response type left to DEFAULT_4XX would get that one's status: the 415s, 403s and 429s
 * would all read 400. Several cannot happen with this API (no API Gateway API keys, authorizers, IAM
 * signatures or request validators on its methods) and are here so that they keep their status if
 * they ever do.
 */
export const GATEWAY_PROBLEMS: readonly GatewayProblem[] = [
  // An unknown path reaches no integration and is answered as a missing token; a wrong method on a
  // known path gets 405 from the mock methods of addMethodNotAllowed.
  {
    id: 'not-found',
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    problem: { status: 404, slug: 'not-found', title: 'Not found', detail: 'No route for this method and path.' },
  },
  {
    id: 'resource-not-found',
    type: ResponseType.RESOURCE_NOT_FOUND,
    problem: { status: 404, slug: 'not-found', title: 'Not found', detail: 'No route for this method and path.' },
  },
  {
    id: 'throttled',
    type: ResponseType.THROTTLED,
    problem: {
      status: 429,
      slug: 'rate-limited',
      title: 'Too many requests',
      detail: 'Too many requests; try again shortly.',
    },
    headers: { 'Retry-After': literal('1') },
    extensions: { retryAfter: 1 },
  },
  {
    id: 'quota-exceeded',
    type: ResponseType.QUOTA_EXCEEDED,
    problem: {
      status: 429,
      slug: 'rate-limited',
      title: 'Too many requests',
      detail: 'The request quota is used up; try again later.',
    },
    headers: { 'Retry-After': literal('60') },
    extensions: { retryAfter: 60 },
  },
  { id: 'waf-blocked', type: ResponseType.WAF_FILTERED, problem: { ...FORBIDDEN, detail: 'The request was blocked.' } },
  { id: 'access-denied', type: ResponseType.ACCESS_DENIED, problem: FORBIDDEN },
  { id: 'invalid-gateway-key', type: ResponseType.INVALID_API_KEY, problem: FORBIDDEN },
  { id: 'expired-token', type: ResponseType.EXPIRED_TOKEN, problem: FORBIDDEN },
  { id: 'invalid-signature', type: ResponseType.INVALID_SIGNATURE, problem: FORBIDDEN },
  {
    id: 'unauthorized',
    type: ResponseType.UNAUTHORIZED,
    problem: {
      status: 401,
      slug: 'unauthorized',
      title: 'Unauthorized',
      detail: 'The request lacks valid credentials.',
    },
  },
  {
    id: 'unsupported-media-type',
    type: ResponseType.UNSUPPORTED_MEDIA_TYPE,
    // The handlers' own UnsupportedMediaTypeError (functions/http/errors.ts) says the same.
    problem: {
      status: 415,
      slug: 'unsupported-media-type',
      title: 'Unsupported media type',
      detail: 'Send the request body as application/json.',
    },
  },
  {
    id: 'too-large',
    type: ResponseType.REQUEST_TOO_LARGE,
    problem: {
      status: 413,
      slug: 'payload-too-large',
      title: 'Request body too large',
      detail: 'The request body is too large.',
    },
  },
  { id: 'bad-request-body', type: ResponseType.BAD_REQUEST_BODY, problem: BAD_REQUEST },
  { id: 'bad-request-parameters', type: ResponseType.BAD_REQUEST_PARAMETERS, problem: BAD_REQUEST },
  {
    id: 'timeout',
    type: ResponseType.INTEGRATION_TIMEOUT,
    problem: { status: 504, slug: 'timeout', title: 'Timeout', detail: 'The request took too long. Try again later.' },
  },
  // A response type API Gateway adds later: its status is unknown here, so it is pinned, so that the
  // body and the status line agree.
  { id: 'client-error', type: ResponseType.DEFAULT_4XX, problem: BAD_REQUEST },
  { id: 'server-error', type: ResponseType.DEFAULT_5XX, problem: INTERNAL_ERROR },
];

/**
 * What API Gateway answers by itself (no route, throttled, blocked, too large, timed out) gets the
 * problem+json body the handlers write, from the same builder, with its own status, the handlers'
 * security headers, and with `corsOrigins` the headers that let a web app read it.
 */
export function addProblemResponses(api: RestApi, corsOrigins?: CorsOrigins): void {
  const headers = { ...PROBLEM_HEADERS, ...gatewayCorsHeaders(corsOrigins) };
  for (const answer of GATEWAY_PROBLEMS) {
    api.addGatewayResponse(answer.id, {
      type: answer.type,
      statusCode: String(answer.problem.status),
      responseHeaders: { ...headers, ...answer.headers },
      templates: template(answer.problem, answer.extensions),
    });
  }
}

/** Content types a wrong-method call may come with that still get the 405; any other gets 415. */
const METHOD_NOT_ALLOWED_CONTENT_TYPES = [
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
];

/**
 * The body of the 405, as the handlers and the local server write it (functions/http/errors.ts,
 * MethodNotAllowedError), the method filled in by the mapping template (VTL), and with several CORS
 * origins, the request's Origin echoed when it is one of them, as CDK's preflight answer does.
 */
function methodNotAllowedTemplate(allowed: readonly string[], corsOrigins: CorsOrigins | undefined): string {
  const body = JSON.stringify(
    problemBody({
      status: 405,
      slug: 'method-not-allowed',
      title: 'Method not allowed',
      detail: `$context.httpMethod is not allowed here; use ${allowed.join(', ')}.`,
    }),
  );
  if (corsOrigins === undefined || corsOrigins === '*' || corsOrigins.length === 1) return body;
  const condition = corsOrigins.map((origin) => `$origin == "${origin}"`).join(' || ');
  return [
    '#set($origin = $input.params().header.get("Origin"))',
    '#if($origin == "")#set($origin = $input.params().header.get("origin"))#end',
    `#if(${condition})#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)#end`,
    body,
  ].join('\n');
}

/**
 * A wrong method on a route's path gets `405 method-not-allowed` with `Allow`, as from the local server
 * (functions/local/server.ts), instead of API Gateway's answer to an unknown route: an ANY method on
 * each path, which API Gateway takes only for the methods the path has no method of its own for, on a
 * mock integration (no function runs). A body whose Content-Type is none of
 * METHOD_NOT_ALLOWED_CONTENT_TYPES gets 415 instead: the mock takes no body it has no template for.
 */
export function addMethodNotAllowed(api: RestApi, corsOrigins?: CorsOrigins): void {
  const paths = [...new Set(ROUTES.map((route) => route.path))];
  // CORS headers as static values; with several origins, the first, overridden by the template.
  const cors = Object.fromEntries(
    Object.entries(
      corsOrigins !== undefined && corsOrigins !== '*' && corsOrigins.length > 1
        ? { ...gatewayCorsHeaders(corsOrigins), 'Access-Control-Allow-Origin': literal(corsOrigins[0] ?? '') }
        : gatewayCorsHeaders(corsOrigins),
    ),
  );
  for (const path of paths) {
    const allowed = methodsOf(path);
    const headers: Record<string, string> = { ...PROBLEM_HEADERS, ...cors, Allow: literal(allowed.join(', ')) };
    const template = methodNotAllowedTemplate(allowed, corsOrigins);
    api.root.resourceForPath(path).addMethod(
      'ANY',
      new MockIntegration({
        passthroughBehavior: PassthroughBehavior.NEVER,
        requestTemplates: Object.fromEntries(
          METHOD_NOT_ALLOWED_CONTENT_TYPES.map((type) => [type, '{"statusCode": 405}']),
        ),
        integrationResponses: [
          {
            statusCode: '405',
            responseParameters: Object.fromEntries(
              Object.entries(headers).map(([name, value]) => [`method.response.header.${name}`, value]),
            ),
            responseTemplates: { 'application/json': template },
          },
        ],
      }),
      {
        methodResponses: [
          {
            statusCode: '405',
            responseParameters: Object.fromEntries(
              Object.keys(headers).map((name) => [`method.response.header.${name}`, true]),
            ),
          },
        ],
      },
    );
  }
}
