import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalOutbox, OutboxLog } from '../../functions/adapters/local-outbox.js';
import type { OutgoingCode } from '../../functions/core/ports.js';
import { handler as health } from '../../functions/handlers/health.js';
import type { ApiHandler } from '../../functions/http/http-handler.js';
import { isLoopbackAddress, isLoopbackHost, OUTBOX_PATH, outboxLogFor } from '../../functions/local/outbox-route.js';
import { createLocalServer, type Handlers } from '../../functions/local/server.js';
import { methodsOf, ROUTES } from '../../functions/routes.js';

/** The outbox path never reaches a handler; health is the real one. */
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

const message: OutgoingCode = {
  channel: 'email',
  to: 'ana@example.com',
  code: '604213',
  purpose: 'login',
  expiresInSeconds: 300,
  appName: 'Acme',
};

const servers: Server[] = [];
const listen = async (server: Server) => {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
let withOutbox: string;
let withoutOutbox: string;

beforeAll(async () => {
  const log = new OutboxLog();
  // Filled by the real outbox, as the send handler fills it under npm start.
  const outbox = new LocalOutbox(() => {}, log);
  await outbox.send({ ...message, code: '111111' });
  await outbox.send({ ...message, to: 'bob@example.com', code: '222222' });
  await outbox.send({ ...message, code: '333333', locale: 'de' });
  const corsOrigins = ['http://localhost:*'];
  withOutbox = await listen(createLocalServer(handlers, () => {}, { corsOrigins, outbox: log }));
  withoutOutbox = await listen(createLocalServer(handlers, () => {}, { corsOrigins }));
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const outboxOf = (base: string, to?: string, init?: RequestInit) =>
  fetch(`${base}${OUTBOX_PATH}${to === undefined ? '' : `?to=${encodeURIComponent(to)}`}`, init);

/** fetch sets Host itself: node:http lets a test send the Host of a site that resolves to 127.0.0.1. */
function getWithHost(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { Host: host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the local outbox route, when the server keeps a log (npm start in dev mode)', () => {
  it('gives the messages to the target, newest first, as the outbox delivered them', async () => {
    const response = await outboxOf(withOutbox, 'ana@example.com');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { success: boolean; messages: Record<string, unknown>[] };
    expect(body.success).toBe(true);
    expect(body.messages.map((kept) => kept.code)).toEqual(['333333', '111111']);
    expect(body.messages[0]).toMatchObject({
      channel: 'email',
      to: 'ana@example.com',
      purpose: 'login',
      locale: 'de',
      subject: 'Ihr Code zur Anmeldung bei Acme',
    });
    expect(body.messages[0]?.text).toContain('333333');
  });

  it('normalises the target as a send does: what the page got typed finds the message', async () => {
    const response = await outboxOf(withOutbox, '  Bob@EXAMPLE.com ');
    expect(((await response.json()) as { messages: { code: string }[] }).messages.map((kept) => kept.code)).toEqual([
      '222222',
    ]);
  });

  it('answers an empty list for a target it has nothing for', async () => {
    const response = await outboxOf(withOutbox, 'carol@example.com');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, messages: [] });
  });

  it('wants a target, and a valid one: 400 problems', async () => {
    const missing = await outboxOf(withOutbox);
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await missing.json()).toMatchObject({ error: 'validation-error', errors: [{ path: 'to' }] });
    const invalid = await outboxOf(withOutbox, 'not a target');
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: 'invalid-target' });
  });

  it('answers GET only: 405 with Allow', async () => {
    const response = await outboxOf(withOutbox, 'ana@example.com', { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect(await response.json()).toMatchObject({ error: 'method-not-allowed' });
    expect((await outboxOf(withOutbox, 'ana@example.com', { method: 'DELETE' })).status).toBe(405);
  });

  it('gives no CORS headers, even to an origin allowed to call the API', async () => {
    const headers = { Origin: 'http://localhost:5173' };
    const outbox = await outboxOf(withOutbox, 'ana@example.com', { headers });
    expect(outbox.status).toBe(200);
    expect(outbox.headers.get('access-control-allow-origin')).toBeNull();
    // The API beside it does allow that origin.
    const api = await fetch(`${withOutbox}/v1/health`, { headers });
    expect(api.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('refuses a request addressed to any other name than a loopback one (DNS rebinding): 403 forbidden', async () => {
    const path = `${OUTBOX_PATH}?to=ana%40example.com`;
    const port = new URL(withOutbox).port;
    for (const host of [`attacker.example:${port}`, `192.168.1.20:${port}`, 'localhost.attacker.example']) {
      const answer = await getWithHost(withOutbox, path, host);
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'forbidden', status: 403 });
      expect(answer.body).not.toContain('604213');
      expect(answer.body).not.toContain('333333');
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost']) {
      expect((await getWithHost(withOutbox, path, host)).status).toBe(200);
    }
  });
});

/** An address of this machine's that is not loopback, where it has one (CI machines and laptops do). */
const external = Object.values(networkInterfaces())
  .flat()
  .find((info) => info && !info.internal && info.family === 'IPv4')?.address;

describe('the local outbox route, on a server that listens on every interface (HOST=0.0.0.0)', () => {
  it.runIf(external)("refuses a peer that is not this machine's loopback, whatever Host it names", async () => {
    const log = new OutboxLog();
    await new LocalOutbox(() => {}, log).send(message);
    const server = createLocalServer(handlers, () => {}, { outbox: log });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as AddressInfo).port;
    const path = `${OUTBOX_PATH}?to=ana%40example.com`;
    const remote = await getWithHost(`http://${external}:${port}`, path, `localhost:${port}`);
    expect(remote.status).toBe(403);
    expect(JSON.parse(remote.body)).toMatchObject({ error: 'forbidden' });
    expect((await getWithHost(`http://127.0.0.1:${port}`, path, `localhost:${port}`)).status).toBe(200);
  });
});

describe('the local outbox route, when the server keeps no log', () => {
  it('does not exist: 404 for every method', async () => {
    for (const method of ['GET', 'POST']) {
      const response = await outboxOf(withoutOutbox, 'ana@example.com', { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'not-found' });
    }
  });
});

describe('the outbox path in a deployed stack', () => {
  it('is no route of the API, which the stack builds its resources and functions from', () => {
    expect(methodsOf(OUTBOX_PATH)).toEqual([]);
    expect(ROUTES.filter((route) => route.path.startsWith('/_local'))).toEqual([]);
  });
});

describe('outboxLogFor', () => {
  it('keeps a log in dev mode with the local outbox, and none otherwise', () => {
    expect(outboxLogFor({ devMode: true, delivery: 'local' })).toBeInstanceOf(OutboxLog);
    expect(outboxLogFor({ devMode: false, delivery: 'local' })).toBeUndefined();
    expect(outboxLogFor({ devMode: true, delivery: 'aws' })).toBeUndefined();
    expect(outboxLogFor({ devMode: false, delivery: 'aws' })).toBeUndefined();
  });
});

describe('what counts as this machine', () => {
  it('takes 127.0.0.0/8 and ::1 as loopback peers, also IPv4-mapped', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
      expect(isLoopbackAddress(address)).toBe(true);
    }
    for (const address of [undefined, '', '10.0.0.1', '::ffff:192.168.0.2', '128.0.0.1', 'fe80::1', '127.0.0.1.evil']) {
      expect(isLoopbackAddress(address)).toBe(false);
    }
  });

  it('takes localhost, 127.x.x.x and [::1] as loopback hosts, with or without a port', () => {
    for (const host of ['localhost', 'localhost:3000', '127.0.0.1:3000', '127.0.0.2', '[::1]:3000', 'LOCALHOST:3000']) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of [
      undefined,
      '',
      'example.com',
      'localhost.example.com:3000',
      '0.0.0.0:3000',
      '[::]:3000',
      'a b',
    ]) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});
