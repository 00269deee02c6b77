import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as health } from '../../functions/handlers/health.js';
import type { ApiHandler } from '../../functions/http/http-handler.js';
import { createLocalServer, type Handlers } from '../../functions/local/server.js';

/** Preflights never reach a handler; health is the real one, to see its CORS headers on a real answer. */
const unused: ApiHandler = () => Promise.reject(new Error('not called'));
const handlers: Handlers = {
  health,
  'send-otp': unused,
  'verify-otp': unused,
  session: unused,
  sessions: unused,
  refresh: unused,
  policy: unused,
  'well-known': unused,
  openapi: unused,
};

const servers: Server[] = [];
const listen = async (server: Server) => {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
let withCors: string;
let withoutCors: string;

beforeAll(async () => {
  withCors = await listen(createLocalServer(handlers, () => {}, { corsOrigins: ['http://localhost:*'] }));
  withoutCors = await listen(createLocalServer(handlers));
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const preflight = (base: string, path: string, origin: string) =>
  fetch(`${base}${path}`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'DELETE',
      'Access-Control-Request-Headers': 'authorization',
    },
  });

describe('the local server and CORS', () => {
  it("answers a preflight from an allowed origin: 204, the path's methods, the request headers, max age", async () => {
    const response = await preflight(withCors, '/v1/session', 'http://localhost:5173');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('vary')).toBe('Origin');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, DELETE, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'Content-Type, Authorization, X-API-Key, X-OTP-Session, Idempotency-Key',
    );
    expect(response.headers.get('access-control-max-age')).toBe('7200');
  });

  it('answers a preflight from another origin without allowing it', async () => {
    const response = await preflight(withCors, '/v1/session', 'https://evil.example');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('answers OPTIONS with 405 when CORS is off, and 404 for an unknown path either way', async () => {
    expect((await preflight(withoutCors, '/v1/session', 'http://localhost:5173')).status).toBe(405);
    const unknown = await preflight(withCors, '/v1/nope', 'http://localhost:5173');
    expect(unknown.status).toBe(404);
    // The server's own problems carry the origin too, or the browser hides their body.
    expect(unknown.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('gives every answer the origin and the exposed headers', async () => {
    const response = await fetch(`${withCors}/v1/health`, { headers: { Origin: 'http://localhost:3001' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After, Idempotent-Replayed');
  });
});
