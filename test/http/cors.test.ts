import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { corsOrigins, loadConfig } from '../../functions/config.js';
import { allowedOrigin, corsHeaders, parseCorsOrigins, preflightHeaders } from '../../functions/http/cors.js';
import { ValidationError } from '../../functions/http/errors.js';
import { httpHandler } from '../../functions/http/http-handler.js';
import { createLogger } from '../../functions/http/logger.js';
import { json } from '../../functions/http/responses.js';
import { apiGatewayEvent, lambdaContext } from '../../functions/local/events.js';

describe('OTP_CORS_ORIGINS', () => {
  it('is none when unset or empty, * alone, or a list of origins, lower-cased', () => {
    expect(parseCorsOrigins(undefined)).toBeUndefined();
    expect(parseCorsOrigins(' ')).toBeUndefined();
    expect(parseCorsOrigins('*')).toBe('*');
    expect(parseCorsOrigins('https://App.example.com, http://localhost:5173,http://localhost:*')).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
      'http://localhost:*',
    ]);
  });

  it('refuses a path, a trailing slash, another scheme, or * among origins, naming the variable', () => {
    for (const bad of [
      'https://app.example.com/',
      'https://app.example.com/login',
      'ftp://x.example',
      'app.example.com',
      '*,https://a.example',
    ]) {
      expect(() => corsOrigins({ OTP_CORS_ORIGINS: bad })).toThrow(/OTP_CORS_ORIGINS/);
    }
    expect(() => loadConfig({ OTP_DELIVERY: 'local', OTP_CORS_ORIGINS: 'https://a.example/' })).toThrow(
      /OTP_CORS_ORIGINS/,
    );
  });

  it('allows exact origins, and any port where the entry says :*', () => {
    const origins = parseCorsOrigins('https://app.example.com,http://localhost:*');
    expect(allowedOrigin(origins, 'https://app.example.com')).toBe('https://app.example.com');
    expect(allowedOrigin(origins, 'https://app.example.com:8443')).toBeUndefined();
    expect(allowedOrigin(origins, 'https://evil.example')).toBeUndefined();
    expect(allowedOrigin(origins, 'http://localhost:5173')).toBe('http://localhost:5173');
    expect(allowedOrigin(origins, 'http://localhost')).toBeUndefined();
    expect(allowedOrigin(origins, 'http://localhost:5173.evil.example')).toBeUndefined();
    expect(allowedOrigin(origins, 'http://localhost.evil.example:80')).toBeUndefined();
    expect(allowedOrigin(origins, undefined)).toBeUndefined();
    expect(allowedOrigin(undefined, 'https://app.example.com')).toBeUndefined();
    expect(allowedOrigin('*', 'https://any.example')).toBe('*');
  });

  it('answers a preflight with the methods and request headers the API takes', () => {
    expect(preflightHeaders(['https://a.example'], 'https://a.example', ['GET', 'DELETE'])).toEqual({
      'Access-Control-Allow-Origin': 'https://a.example',
      'Access-Control-Expose-Headers': 'Retry-After, Idempotent-Replayed',
      Vary: 'Origin',
      'Access-Control-Allow-Methods': 'GET, DELETE, OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type, Authorization, X-API-Key, X-OTP-Session, Idempotency-Key',
      'Access-Control-Max-Age': '7200',
    });
    expect(preflightHeaders(['https://a.example'], 'https://b.example', ['GET'])).toEqual({ Vary: 'Origin' });
    expect(corsHeaders(undefined, 'https://a.example')).toEqual({});
  });
});

describe('the CORS middleware of every handler', () => {
  const handler = (origins: ReturnType<typeof parseCorsOrigins>) =>
    httpHandler({
      logger: createLogger(),
      methods: ['GET'],
      corsOrigins: origins,
      handle: (request) =>
        request.query.fail ? Promise.reject(new ValidationError([])) : Promise.resolve(json(200, { ok: true })),
    });
  const call = (h: ReturnType<typeof handler>, headers: Record<string, string>, query: Record<string, string> = {}) => {
    const event: APIGatewayProxyEvent = apiGatewayEvent({ method: 'GET', path: '/v1/health', headers, query });
    return h(event, lambdaContext('health', 'r-1'));
  };

  it('echoes an allowed origin on answers and on problems, with Vary and the exposed headers', async () => {
    const h = handler(['https://app.example.com']);
    for (const query of [{}, { fail: '1' }] as Record<string, string>[]) {
      const response = await call(h, { Origin: 'https://app.example.com' }, query);
      expect(response.headers).toMatchObject({
        'Access-Control-Allow-Origin': 'https://app.example.com',
        'Access-Control-Expose-Headers': 'Retry-After, Idempotent-Replayed',
        Vary: 'Origin',
      });
    }
  });

  it('gives another origin, or a call without CORS configured, no Access-Control-Allow-Origin', async () => {
    const other = await call(handler(['https://app.example.com']), { Origin: 'https://evil.example' });
    expect(other.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
    expect(other.headers?.Vary).toBe('Origin');
    const off = await call(handler(undefined), { Origin: 'https://app.example.com' });
    expect(off.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
  });

  it('reads OTP_CORS_ORIGINS when not told', async () => {
    process.env.OTP_CORS_ORIGINS = '*';
    try {
      const h = httpHandler({ logger: createLogger(), methods: ['GET'], handle: () => Promise.resolve(json(200, {})) });
      const response = await call(h, { origin: 'https://any.example' });
      expect(response.headers?.['Access-Control-Allow-Origin']).toBe('*');
    } finally {
      delete process.env.OTP_CORS_ORIGINS;
    }
  });
});
