import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

export const MAX_BODY_BYTES = 8 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Parses a JSON body with the limits of the API (README, API): 413 past 8 KiB, 415 for another media type, 400 for
 * text that is not JSON. middy's own body parser answers 422 for bad JSON and has no size limit,
 * hence this one. Header names must already be lower-cased (http-header-normalizer).
 */
export function jsonBody(maxBytes = MAX_BODY_BYTES): MiddlewareObj<APIGatewayProxyEvent> {
  return {
    before: (request) => {
      const { event } = request;
      const raw = event.body;
      if (raw === null || raw === undefined || raw === '') {
        (event as { body: unknown }).body = undefined;
        return;
      }
      const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new PayloadTooLargeError(maxBytes);
      if (!JSON_MEDIA_TYPE.test(event.headers?.['content-type'] ?? '')) throw new UnsupportedMediaTypeError();
      try {
        (event as { body: unknown }).body = JSON.parse(text);
      } catch {
        throw new MalformedJsonError();
      }
    },
  };
}
