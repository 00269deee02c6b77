import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandler } from '../../functions/http/http-handler.js';
import { type AllowedHosts, isAllowedHost, parseAllowedHosts } from '../../functions/local/host-check.js';
import { createLocalServer, type Handlers } from '../../functions/local/server.js';
import { HANDLERS } from '../../functions/routes.js';

describe('isAllowedHost (DNS rebinding)', () => {
  it.each(['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST', 'app.localhost:3000', '[::1]:3000', '192.168.1.20:3000'])(
    '%s: an IP address or a loopback name, which no site can rebind',
    (host) => expect(isAllowedHost(host, [])).toBe(true),
  );

  it.each(['rebind.example:3000', 'localhost.rebind.example', '127.0.0.1.nip.example', 'x@evil.example', ''])(
    '%s: a name a site may have pointed at 127.0.0.1',
    (host) => expect(isAllowedHost(host, [])).toBe(false),
  );

  it('lets the names of OTP_LOCAL_ALLOWED_HOSTS in: exact, or with a leading dot their subdomains too', () => {
    const allowed = parseAllowedHosts(' Dev.Tunnel.example , .ngrok.example ');
    expect(allowed).toEqual(['dev.tunnel.example', '.ngrok.example']);
    expect(isAllowedHost('dev.tunnel.example', allowed)).toBe(true);
    expect(isAllowedHost('other.tunnel.example', allowed)).toBe(false);
    expect(isAllowedHost('abc.ngrok.example:443', allowed)).toBe(true);
    expect(isAllowedHost('ngrok.example', allowed)).toBe(true);
    expect(isAllowedHost('evilngrok.example', allowed)).toBe(false);
    expect(isAllowedHost('anything.example', parseAllowedHosts('*'))).toBe(true);
    expect(parseAllowedHosts(undefined)).toEqual([]);
  });
});

describe('the local server and the Host header', () => {
  const reached: string[] = [];
  const servers: Server[] = [];

  async function listen(allowedHosts?: AllowedHosts): Promise<number> {
    const record: ApiHandler = async (event) => {
      reached.push(event.path);
      return { statusCode: 200, body: '{"success":true}' };
    };
    const handlers = Object.fromEntries(HANDLERS.map((name) => [name, record])) as Handlers;
    const server = createLocalServer(handlers, () => {}, { allowedHosts });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** fetch cannot set Host; a page that rebound its name sends its own. */
  function call(port: number, host: string, path = '/v1/otp/send'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, method: 'POST', headers: { Host: host, 'Content-Type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end('{"target":"a@example.com"}');
    });
  }

  let strict: number;
  let tunnel: number;

  beforeAll(async () => {
    strict = await listen();
    tunnel = await listen(['dev.tunnel.example']);
  });

  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses a request addressed to another name, before any handler runs: 403 forbidden naming the setting', async () => {
    const before = reached.length;
    const answer = await call(strict, `rebind.example:${strict}`);
    expect(answer.status).toBe(403);
    const problem = JSON.parse(answer.body) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 403, error: 'forbidden', success: false });
    expect(problem.detail).toContain('OTP_LOCAL_ALLOWED_HOSTS');
    expect(reached.length).toBe(before);
  });

  it('serves requests addressed to 127.0.0.1 or localhost, and to a listed name', async () => {
    expect((await call(strict, `127.0.0.1:${strict}`)).status).toBe(200);
    expect((await call(strict, `localhost:${strict}`)).status).toBe(200);
    expect((await call(tunnel, 'dev.tunnel.example')).status).toBe(200);
    expect((await call(tunnel, 'rebind.example')).status).toBe(403);
  });
});
