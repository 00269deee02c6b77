import type { APIGatewayProxyResult } from 'aws-lambda';
import type { OtpError } from '../core/errors.js';
import { INTERNAL_ERROR, NO_STORE, problemResponse } from './problem.js';

/** `headers` may replace the Cache-Control of answers that hold nothing secret (the public keys). */
export function json(
  statusCode: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { ...NO_STORE, ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ success: true, ...body }),
  };
}

/** A time of the API: epoch milliseconds as ISO 8601. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export function noContent(): APIGatewayProxyResult {
  return { statusCode: 204, headers: { ...NO_STORE }, body: '' };
}

/** The answer for an error the API knows. */
export function problem(error: OtpError): APIGatewayProxyResult {
  return problemResponse(
    { status: error.status, slug: error.slug, title: error.title, detail: error.message },
    error.headers,
    error.extensions,
  );
}

export function internalError(): APIGatewayProxyResult {
  return problemResponse(INTERNAL_ERROR);
}

/** The access token members of verify's and refresh's answers (API.md, verify). */
export function accessTokenFields(issued: { token: string; expiresIn: number }) {
  return { accessToken: issued.token, accessExpiresIn: issued.expiresIn, tokenType: 'Bearer' };
}
