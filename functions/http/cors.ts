import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

/**
 * The web origins whose scripts may read this API's answers (OTP_CORS_ORIGINS): `*` for any, or a
 * list of origins, each exact (`https://app.example.com`) or, for local development only, of any
 * port (`http://localhost:*`). No credentials mode is ever allowed: tokens travel in headers that
 * the page sets itself, never in cookies, so `*` lets no other site act as a signed-in user.
 */
export type CorsOrigins = '*' | readonly string[];

/** The request headers a web app sends (API.md, Conventions and Endpoints). */
export const CORS_ALLOW_HEADERS = ['Content-Type', 'Authorization', 'X-API-Key', 'X-OTP-Session', 'Idempotency-Key'];
/** The response headers beyond the CORS-safelisted ones that a web app must be able to read. */
export const CORS_EXPOSE_HEADERS = ['Retry-After', 'Idempotent-Replayed'];
/** How long a browser may reuse a preflight answer; browsers cap it themselves (Chromium at 2 hours). */
export const CORS_MAX_AGE_SECONDS = 7200;

/** `scheme://host[:port]` as browsers send it in Origin: no path, no trailing slash. */
const EXACT_ORIGIN = /^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/;
const ANY_PORT_ORIGIN = /^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\*$/;

/**
 * OTP_CORS_ORIGINS parsed: undefined (unset or empty) answers no origin. Throws a message saying
 * what is wrong with the first bad entry.
 */
export function parseCorsOrigins(value: string | undefined): CorsOrigins | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (trimmed === '*') return '*';
  const origins = trimmed.split(',').map((origin) => origin.trim().toLowerCase());
  for (const origin of origins) {
    if (origin === '*') throw new Error('must be * alone or a list of origins, not both');
    if (!EXACT_ORIGIN.test(origin) && !ANY_PORT_ORIGIN.test(origin)) {
      throw new Error(
        `must be * or a comma-separated list of origins such as https://app.example.com, without path or trailing slash (got "${origin}")`,
      );
    }
  }
  return origins;
}

/** The Origin request header, when `origins` allows it; undefined otherwise. */
export function allowedOrigin(origins: CorsOrigins | undefined, origin: string | undefined): string | undefined {
  if (origins === undefined || !origin) return undefined;
  if (origins === '*') return '*';
  const requested = origin.toLowerCase();
  return origins.some((allowed) =>
    allowed.endsWith(':*')
      ? requested.startsWith(allowed.slice(0, -1)) && /^\d{1,5}$/.test(requested.slice(allowed.length - 1))
      : allowed === requested,
  )
    ? origin
    : undefined;
}

/**
 * The headers that let the page at `origin` read an answer: none for an origin not allowed. An
 * echoed origin varies by request, so caches are told (Vary: Origin); `*` does not.
 */
export function corsHeaders(origins: CorsOrigins | undefined, origin: string | undefined): Record<string, string> {
  const allowed = allowedOrigin(origins, origin);
  if (allowed === undefined) return origins === undefined || origins === '*' ? {} : { Vary: 'Origin' };
  return {
    'Access-Control-Allow-Origin': allowed,
    'Access-Control-Expose-Headers': CORS_EXPOSE_HEADERS.join(', '),
    ...(allowed === '*' ? {} : { Vary: 'Origin' }),
  };
}

/** The answer to a preflight for a path that serves `methods`. */
export function preflightHeaders(
  origins: CorsOrigins | undefined,
  origin: string | undefined,
  methods: readonly string[],
): Record<string, string> {
  const allowed = allowedOrigin(origins, origin);
  return {
    ...corsHeaders(origins, origin),
    ...(allowed === undefined
      ? {}
      : {
          'Access-Control-Allow-Methods': [...methods, 'OPTIONS'].join(', '),
          'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS.join(', '),
          'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
        }),
  };
}

/** Adds the CORS headers to every answer of a handler, problems included. */
export function cors(origins: CorsOrigins | undefined): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  const add = (request: { event: APIGatewayProxyEvent; response: APIGatewayProxyResult | undefined | null }) => {
    if (origins === undefined || !request.response) return;
    const headers = request.event.headers ?? {};
    // Lower-cased by http-header-normalizer, unless an error came before it ran.
    const origin = headers.origin ?? headers.Origin;
    request.response.headers = { ...request.response.headers, ...corsHeaders(origins, origin) };
  };
  return { after: add, onError: add };
}
