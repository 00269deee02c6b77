import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { corsOrigins } from '../config.js';
import type { Client } from '../core/clients.js';
import { OtpError, ServiceUnavailableError } from '../core/errors.js';
import { cors, type CorsOrigins } from './cors.js';
import { MethodNotAllowedError, ValidationError } from './errors.js';
import { jsonBody } from './json-body.js';
import { traceInvocation } from './tracer.js';
import { internalError, problem } from './responses.js';
import { unavailableCause } from './unavailable.js';

export interface HttpRequest<Body> {
  method: string;
  /** The route template (API Gateway's `resource`), for a handler that serves several routes. */
  resource: string;
  body: Body;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  sourceIp?: string;
  /** The caller by its X-API-Key; undefined for a call without a key where keys are optional. */
  client?: Client;
}

/** Who is calling, by the X-API-Key value (core/clients.ts identifyClient). */
export type ClientIdentifier = (apiKey: string | undefined) => Promise<Client | undefined>;

export interface RouteOptions<Body> {
  /** The handler's own logger (http/logger.ts). */
  logger: Logger;
  methods: readonly string[];
  /**
   * Identifies the caller before the body is validated: a bad key is refused first. Routes that
   * never need a key (health) leave it out.
   */
  identify?: ClientIdentifier;
  /** Validates the parsed JSON body; routes without a body leave it out. */
  body?: z.ZodMiniType<Body>;
  handle: (request: HttpRequest<Body>) => Promise<APIGatewayProxyResult>;
  /** The web origins that may read the answers; OTP_CORS_ORIGINS when left out. */
  corsOrigins?: CorsOrigins;
}

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * The chain every HTTP handler shares: lower-cased headers, method check, JSON body with limits,
 * validation, then the route; any error becomes problem+json, and every response gets the security
 * headers, and the CORS headers where OTP_CORS_ORIGINS allows the caller's origin. A database that is
 * throttled or unreachable is a 503 with Retry-After (http/unavailable.ts); other unknown errors are
 * logged and answered with a bare 500, never a stack trace.
 */
export function httpHandler<Body>(options: RouteOptions<Body>): ApiHandler {
  const route = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const headers = event.headers ?? {};
    const client = options.identify ? await options.identify(headers['x-api-key']) : undefined;
    // On every line this invocation logs (the keys are reset for the next one).
    if (options.identify) options.logger.appendKeys({ clientId: client?.id ?? 'anonymous' });
    let body = undefined as Body;
    if (options.body) {
      const parsed = options.body.safeParse((event as { body: unknown }).body);
      if (!parsed.success) {
        throw new ValidationError(
          parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
        );
      }
      body = parsed.data;
    }
    return options.handle({
      method: event.httpMethod,
      resource: event.resource,
      body,
      headers,
      query: event.queryStringParameters ?? {},
      sourceIp: event.requestContext?.identity?.sourceIp,
      client,
    });
  };

  // Read when the chain is built, as the rest of the configuration is: a bad value stops the start.
  const origins = 'corsOrigins' in options ? options.corsOrigins : corsOrigins(process.env);
  // after/onError run in reverse order of use(): security headers are added last, to every response,
  // and the CORS headers just before, to problems too (a browser hides a body without them).
  const chain = middy<APIGatewayProxyEvent, APIGatewayProxyResult>(route)
    // First, so that the invocation's subsegment spans the whole chain.
    .use(traceInvocation((error) => error instanceof OtpError))
    // No reporting endpoint exists, so no empty Reporting-Endpoints header.
    .use(httpSecurityHeaders({ reportingEndpoints: false } as Parameters<typeof httpSecurityHeaders>[0]))
    .use(cors(origins))
    .use(injectLambdaContext(options.logger, { logEvent: false, resetKeys: true }))
    .use({
      onError: (request) => {
        const { error } = request;
        if (error instanceof OtpError) {
          request.response = problem(error);
          return;
        }
        // Name, message and stack only: SDK errors carry request data in other fields.
        const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
        // Throttled or unreachable after the SDK's tries: the caller may try again (API.md, Conventions).
        const cause = unavailableCause(error);
        if (cause !== undefined) {
          options.logger.warn('database unavailable', { cause, error: { name, message } });
          request.response = problem(new ServiceUnavailableError());
          return;
        }
        options.logger.error('unhandled error', { error: { name, message, stack } });
        request.response = internalError();
      },
    })
    .use(httpHeaderNormalizer())
    .use(allowMethods(options.methods));
  if (options.body) chain.use(jsonBody());
  return chain;
}

/** 405 before any body parsing, so a wrong method is reported as such. */
function allowMethods(methods: readonly string[]): MiddlewareObj<APIGatewayProxyEvent> {
  return {
    before: ({ event }) => {
      if (!methods.includes(event.httpMethod)) throw new MethodNotAllowedError(event.httpMethod, methods);
    },
  };
}
