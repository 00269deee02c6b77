import { ResponseType, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import { CORS_EXPOSE_HEADERS, type CorsOrigins } from '../functions/http/cors.js';
import { INTERNAL_ERROR, type Problem, problemBody } from '../functions/http/problem.js';

/** Header values of a gateway response are mapping expressions: literals go in single quotes. */
const PROBLEM_HEADERS = { 'Content-Type': "'application/problem+json'", 'Cache-Control': "'no-store'" };

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

const template = (problem: Problem) => ({ 'application/json': JSON.stringify(problemBody(problem)) });

/**
 * What API Gateway answers by itself (no route, throttled, blocked, too large, timed out) gets the
 * problem+json body the handlers write, from the same builder, and with `corsOrigins` the headers
 * that let a web app read it.
 */
export function addProblemResponses(api: RestApi, corsOrigins?: CorsOrigins): void {
  const HEADERS = { ...PROBLEM_HEADERS, ...gatewayCorsHeaders(corsOrigins) };
  // An unknown path or method reaches no integration and is answered as a missing token.
  api.addGatewayResponse('not-found', {
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    statusCode: '404',
    responseHeaders: HEADERS,
    templates: template({
      status: 404,
      slug: 'not-found',
      title: 'Not found',
      detail: 'No route for this method and path.',
    }),
  });
  api.addGatewayResponse('throttled', {
    type: ResponseType.THROTTLED,
    statusCode: '429',
    responseHeaders: { ...HEADERS, 'Retry-After': "'1'" },
    templates: template({
      status: 429,
      slug: 'rate-limited',
      title: 'Too many requests',
      detail: 'Too many requests; try again shortly.',
    }),
  });
  api.addGatewayResponse('waf-blocked', {
    type: ResponseType.WAF_FILTERED,
    statusCode: '403',
    responseHeaders: HEADERS,
    templates: template({ status: 403, slug: 'forbidden', title: 'Forbidden', detail: 'The request was blocked.' }),
  });
  api.addGatewayResponse('too-large', {
    type: ResponseType.REQUEST_TOO_LARGE,
    statusCode: '413',
    responseHeaders: HEADERS,
    templates: template({
      status: 413,
      slug: 'payload-too-large',
      title: 'Request body too large',
      detail: 'The request body is too large.',
    }),
  });
  api.addGatewayResponse('timeout', {
    type: ResponseType.INTEGRATION_TIMEOUT,
    statusCode: '504',
    responseHeaders: HEADERS,
    templates: template({
      status: 504,
      slug: 'timeout',
      title: 'Timeout',
      detail: 'The request took too long. Try again later.',
    }),
  });
  // Every other answer of the gateway itself: the status is pinned so that body and header agree.
  api.addGatewayResponse('client-error', {
    type: ResponseType.DEFAULT_4XX,
    statusCode: '400',
    responseHeaders: HEADERS,
    templates: template({
      status: 400,
      slug: 'bad-request',
      title: 'Bad request',
      detail: 'The request could not be accepted.',
    }),
  });
  api.addGatewayResponse('server-error', {
    type: ResponseType.DEFAULT_5XX,
    statusCode: '500',
    responseHeaders: HEADERS,
    templates: template(INTERNAL_ERROR),
  });
}
