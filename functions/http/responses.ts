import type { APIGatewayProxyResult } from 'aws-lambda';
import type { OtpError } from '../core/errors.js';

/** Responses carry codes and tokens: no proxy or client may keep them. */
const BASE_HEADERS = { 'Cache-Control': 'no-store' } as const;

export function json(statusCode: number, body: Record<string, unknown>): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { ...BASE_HEADERS, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ success: true, ...body }),
  };
}

export function noContent(): APIGatewayProxyResult {
  return { statusCode: 204, headers: { ...BASE_HEADERS }, body: '' };
}

/** RFC 9457 problem details, with the `success`/`error` members of API.md. */
export function problem(error: OtpError): APIGatewayProxyResult {
  return problemOf(error.status, error.slug, error.title, error.message, error.headers, error.extensions);
}

export function internalError(): APIGatewayProxyResult {
  return problemOf(500, 'internal-error', 'Internal error', 'Something went wrong on our side. Try again later.');
}

function problemOf(
  status: number,
  slug: string,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { ...BASE_HEADERS, ...headers, 'Content-Type': 'application/problem+json; charset=utf-8' },
    body: JSON.stringify({
      type: `/problems/${slug}`,
      title,
      status,
      detail,
      ...extensions,
      success: false,
      error: slug,
    }),
  };
}
