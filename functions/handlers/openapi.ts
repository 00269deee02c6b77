import type { APIGatewayProxyResult } from 'aws-lambda';
import document from '../../openapi.json' with { type: 'json' };
import { loadConfig } from '../config.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';

/**
 * The document changes only with a deploy; a day of caching spares the function without keeping a
 * client on an old API for long.
 */
export const OPENAPI_CACHE_CONTROL = 'public, max-age=3600';

/**
 * GET /openapi.json: the committed openapi.json (written by `npm run openapi`, checked for staleness
 * by test/openapi/), bundled as it is, so the function carries neither zod's JSON Schema code nor
 * the generator. `servers` names the URL the API is reached at (OTP_ISSUER), which only the
 * deployment knows. No API key, like /v1/health: the document is public and the function reads no
 * table.
 *
 * The body has no `success` member, unlike every other success of this API (API.md, Conventions):
 * an OpenAPI document allows no member at its root but its own and `x-` extensions, and validators
 * and renderers refuse the others.
 */
export function createOpenApiHandler(issuer: string, logger = createLogger()): ApiHandler {
  const body = JSON.stringify({ ...document, servers: [{ url: issuer }] });
  const answer: APIGatewayProxyResult = {
    statusCode: 200,
    headers: { 'Cache-Control': OPENAPI_CACHE_CONTROL, 'Content-Type': 'application/json; charset=utf-8' },
    body,
  };
  return httpHandler({ logger, methods: ['GET'], handle: () => Promise.resolve({ ...answer }) });
}

export const handler = createOpenApiHandler(loadConfig(process.env).issuer);
