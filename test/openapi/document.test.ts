import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import document from '../../openapi.json' with { type: 'json' };
import { RATE_LIMIT_REASONS } from '../../functions/core/errors.js';
import { createOpenApiHandler, OPENAPI_CACHE_CONTROL } from '../../functions/handlers/openapi.js';
import type { ApiHandler } from '../../functions/http/http-handler.js';
import { refreshBody, sendBody, verifyBody } from '../../functions/http/schemas.js';
import { createLocalServer, DOCS_PATH, type Handlers } from '../../functions/local/server.js';
import { generatedFiles } from '../../functions/openapi/generated.js';
import { HANDLERS, OPENAPI_PATH, ROUTES } from '../../functions/routes.js';
import { call } from '../kit.js';

const doc = document as Record<string, any>;

describe('the committed OpenAPI files', () => {
  it.each(Object.entries(generatedFiles()))('%s is what the generator writes now', (name, text) => {
    const committed = readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');
    expect(committed === text, `${name} is stale: run npm run openapi, and commit it`).toBe(true);
  });
});

describe('openapi.json', () => {
  it('is OpenAPI 3.1 and describes every route of functions/routes.ts, and no other', () => {
    expect(doc.openapi).toBe('3.1.0');
    const described = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(described.sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('describes the request bodies with the very schemas that validate them', () => {
    const schemas = doc.components.schemas;
    for (const [name, schema] of [
      ['SendRequest', sendBody],
      ['VerifyRequest', verifyBody],
      ['RefreshRequest', refreshBody],
    ] as const) {
      const expected: Record<string, unknown> = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
      delete expected.$schema;
      expect(schemas[name], name).toEqual(expected);
    }
    expect(doc.paths['/v1/otp/send'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/SendRequest',
    });
  });

  it('gives a 429 rate-limited its reasons and Retry-After, and too-many-attempts new-code-required', () => {
    const send = doc.paths['/v1/otp/send'].post.responses['429'];
    expect(send.headers).toHaveProperty('Retry-After');
    expect(send.content['application/problem+json'].schema.allOf[1].properties.error.enum).toEqual(['rate-limited']);
    expect(doc.components.schemas.Problem.properties.reason.enum).toEqual([...RATE_LIMIT_REASONS, 'new-code-required']);
    const verify = doc.paths['/v1/otp/verify'].post.responses['429'];
    expect(verify.content['application/problem+json'].schema.allOf[1].properties.error.enum).toEqual([
      'too-many-attempts',
    ]);
  });

  it('names the headers: X-API-Key, Authorization and X-OTP-Session, Idempotency-Key, Idempotent-Replayed', () => {
    const schemes = doc.components.securitySchemes;
    expect(schemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(schemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.otpSession).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-OTP-Session' });
    expect(doc.paths['/v1/otp/send'].post.parameters).toEqual([{ $ref: '#/components/parameters/Idempotency-Key' }]);
    expect(doc.paths['/v1/otp/send'].post.responses['200'].headers).toHaveProperty('Idempotent-Replayed');
    expect(doc.paths['/v1/session'].get.security).toContainEqual({ apiKey: [], otpSession: [] });
    expect(doc.paths['/v1/session'].delete.parameters[0]).toMatchObject({ name: 'all', in: 'query' });
    expect(doc.paths['/v1/otp/policy'].get.parameters[0]).toMatchObject({ name: 'action', required: true });
    for (const path of ['/v1/health', '/.well-known/jwks.json', '/.well-known/openid-configuration', OPENAPI_PATH]) {
      expect(doc.paths[path].get.security, path).toEqual([]);
      expect(doc.paths[path].get.responses, path).not.toHaveProperty('401');
    }
  });

  it('lists the slugs the README adds to the contract', () => {
    const slugsOf = (responses: Record<string, any>) =>
      Object.values(responses).flatMap(
        (response) => response.content?.['application/problem+json']?.schema.allOf[1].properties.error.enum ?? [],
      );
    expect(slugsOf(doc.paths['/v1/otp/send'].post.responses)).toEqual(
      expect.arrayContaining(['identifier-exists', 'request-in-progress', 'idempotency-key-reused', 'invalid-api-key']),
    );
    expect(slugsOf(doc.paths['/v1/otp/verify'].post.responses)).toEqual(
      expect.arrayContaining(['target-in-use', 'identifier-exists', 'invalid-code', 'client-disabled']),
    );
  });
});

describe('GET /openapi.json', () => {
  const handler = createOpenApiHandler('https://otp.example.com/prod');

  it('serves the committed document, with the API’s URL as its server, needing no key', async () => {
    const answer = await call(handler, { method: 'GET', path: OPENAPI_PATH, headers: { 'X-API-Key': 'whatever' } });
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe(OPENAPI_CACHE_CONTROL);
    expect(answer.body).toEqual({ ...doc, servers: [{ url: 'https://otp.example.com/prod' }] });
  });

  it('answers other methods 405', async () => {
    const answer = await call(handler, { method: 'POST', path: OPENAPI_PATH, body: {} });
    expect(answer.status).toBe(405);
    expect(answer.body).toMatchObject({ error: 'method-not-allowed' });
  });
});

describe('the reference page of npm start', () => {
  let server: Server;
  let base: string;
  const page = generatedFiles()['openapi.html'] ?? '';

  beforeAll(async () => {
    const stub: ApiHandler = () => Promise.reject(new Error('not under test'));
    const handlers = Object.fromEntries(HANDLERS.map((name) => [name, stub])) as Handlers;
    server = createLocalServer(handlers, () => {}, { pages: { [DOCS_PATH]: page } });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is served at /docs, with no script allowed', async () => {
    const response = await fetch(`${base}${DOCS_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await response.text();
    expect(html).toBe(page);
    expect(html).not.toMatch(/<script/i);
  });

  it('shows every route, its headers and its problems', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const operation of Object.values(item as Record<string, any>)) {
        expect(page).toContain(`id="${operation.operationId}"`);
      }
      expect(page).toContain(`<code>${path}</code>`);
    }
    for (const text of ['X-API-Key', 'X-OTP-Session', 'Authorization: Bearer', 'Idempotency-Key', 'Retry-After']) {
      expect(page).toContain(text);
    }
    for (const slug of ['rate-limited', 'too-many-attempts', 'invalid-code', 'identifier-exists', 'otp-required']) {
      expect(page).toContain(`<code>${slug}</code>`);
    }
  });

  it('answers other methods 405', async () => {
    const response = await fetch(`${base}${DOCS_PATH}`, { method: 'POST' });
    expect(response.status).toBe(405);
  });
});
