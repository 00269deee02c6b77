import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandler } from '../../functions/http/http-handler.js';
import { createLocalServer, type Handlers } from '../../functions/local/server.js';

/** Requests that node:http's own parser refuses: the handlers never see them, so stubs serve. */
const ok: ApiHandler = async () => ({ statusCode: 200, body: '{"success":true}' });
const handlers: Handlers = {
  health: ok,
  'send-otp': ok,
  'verify-otp': ok,
  session: ok,
  sessions: ok,
  refresh: ok,
  policy: ok,
  'well-known': ok,
  openapi: ok,
};

let server: Server;
let port: number;

beforeAll(async () => {
  server = createLocalServer(handlers);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` as bytes and reads everything until the server closes the connection. */
async function raw(request: string | Buffer): Promise<RawAnswer> {
  const received = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.write(request);
  });
  const text = received.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) throw new Error(`not an HTTP response: ${JSON.stringify(text)}`);
  const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) };
}

function expectProblem(answer: RawAnswer, status: number, slug: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers.connection).toBe('close');
  expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  expect(JSON.parse(answer.body)).toEqual({
    type: `/problems/${slug}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
    success: false,
    error: slug,
  });
}

describe('local server: requests node:http refuses before any handler', () => {
  it('an unknown method answers 400 bad-request as problem+json', async () => {
    expectProblem(await raw('FOO /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), 400, 'bad-request');
  });

  it('a request line that is not HTTP answers 400 bad-request as problem+json', async () => {
    expectProblem(await raw('\u0001\u0002 nonsense\r\n\r\n'), 400, 'bad-request');
  });

  it('a malformed header answers 400 bad-request as problem+json', async () => {
    expectProblem(await raw('GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n'), 400, 'bad-request');
  });

  it('20 KB of headers answer 431 request-header-fields-too-large as problem+json', async () => {
    const request = `GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    expectProblem(await raw(request), 431, 'request-header-fields-too-large');
  });

  it('keeps serving after refusing', async () => {
    await raw('FOO / HTTP/1.1\r\n\r\n');
    expect((await fetch(`http://127.0.0.1:${port}/v1/health`)).status).toBe(200);
  });

  it('a method Node knows but no route has still answers 405 problem+json with Allow', async () => {
    const answer = await raw('PROPFIND /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET');
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
