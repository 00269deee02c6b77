import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalServer } from '../../functions/local/server.js';
import { harnessHandlers } from '../local-server.js';
import { harness } from '../support.js';

let server: Server;
let base: string;

beforeAll(async () => {
  const h = await harness();
  server = createLocalServer(harnessHandlers(h));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('local server routing', () => {
  it('serves the routes through the handlers', async () => {
    const response = await fetch(`${base}/v1/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, status: 'ok' });
  });

  it('404 problem for an unknown path', async () => {
    const response = await fetch(`${base}/v1/nope`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 404, success: false, error: 'not-found' });
  });

  it('405 problem with Allow for a known path and another method', async () => {
    const response = await fetch(`${base}/v1/otp/verify`, { method: 'PUT', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toMatchObject({ error: 'method-not-allowed' });
  });

  it('413 problem for a large body without buffering it', async () => {
    const response = await fetch(`${base}/v1/otp/send`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: 'x'.repeat(200_000) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'payload-too-large' });
  });

  it('404 problem, not a 500, for a request target no URL parser accepts', async () => {
    const { request } = await import('node:http');
    const { port } = new URL(base);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '//', method: 'GET' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(404);
  });

  it('passes the caller IP and headers through to the handler', async () => {
    const send = (target: string) =>
      fetch(`${base}/v1/otp/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target }),
      });
    const first = await send('a@example.com');
    expect(first.status).toBe(200);
    expect(((await first.json()) as { mockCode: string }).mockCode).toMatch(/^\d{6}$/);
    expect((await send('a@example.com')).status).toBe(429);
  });

  it('passes Idempotency-Key through to the handler, and Idempotent-Replayed back', async () => {
    const send = () =>
      fetch(`${base}/v1/otp/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Idempotency-Key': 'local-server-retry-1' },
        body: JSON.stringify({ target: 'b@example.com' }),
      });
    const first = await send();
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const retry = await send();
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toEqual(await first.json());
  });
});
