import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { type NpmStart, startNpm, waitFor, waitUntilReady } from './npm-start-harness.js';

/**
 * `npm start -- --data-dir DIR` keeps DynamoDB Local's data, the pepper and the signing keys across
 * restarts; without it nothing lasts. Each server here runs its own DynamoDB Local (that is what is
 * kept), on a free port of 127.0.0.1; every one is stopped by its process group, also on failure.
 */
const started: NpmStart[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const npm of started) npm.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const STARTS_MS = 90_000;

async function serve(port: number, tmp: string, args: string[] = []) {
  // TMPDIR: the state file (functions/local/state-file.ts) goes in this test's own directory.
  const npm = startNpm({ PORT: String(port), TMPDIR: tmp }, args);
  started.push(npm);
  const base = `http://127.0.0.1:${port}`;
  await waitUntilReady(npm, base, STARTS_MS);
  return { npm, base };
}

async function stop(npm: NpmStart) {
  npm.process.kill('SIGTERM');
  await npm.exited;
  await waitFor('the server to stop', async () => (npm.output().includes('Stopped.') ? true : undefined), 10_000);
}

async function login(base: string, target: string) {
  const json = { 'content-type': 'application/json' };
  const sent = await fetch(`${base}/v1/otp/send`, { method: 'POST', headers: json, body: JSON.stringify({ target }) });
  expect(sent.status).toBe(200);
  const { mockCode } = (await sent.json()) as { mockCode: string };
  const verified = await fetch(`${base}/v1/otp/verify`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ target, code: mockCode }),
  });
  expect(verified.status).toBe(200);
  return (await verified.json()) as { sessionToken: string; accessToken: string };
}

const sessionStatus = async (base: string, token: string) =>
  (await fetch(`${base}/v1/session`, { headers: { Authorization: `Bearer ${token}` } })).status;

function setUp() {
  const tmp = mkdtempSync(join(tmpdir(), 'otp-npm-start-data-dir-'));
  dirs.push(tmp);
  return tmp;
}

describe('npm start -- --data-dir', () => {
  it(
    'keeps sessions, the pepper and the signing keys across a restart, in files only this user reads',
    async () => {
      const tmp = setUp();
      const dataDir = join(tmp, 'data');
      const port = await freePort();

      const first = await serve(port, tmp, ['--data-dir', dataDir]);
      const { sessionToken, accessToken } = await login(first.base, 'kept@example.com');
      expect(await sessionStatus(first.base, sessionToken)).toBe(200);
      // A second server on the same directory is refused while the first runs.
      const rival = startNpm({ PORT: String(await freePort()), TMPDIR: tmp }, ['--data-dir', dataDir]);
      started.push(rival);
      expect((await rival.exited).code).not.toBe(0);
      expect(rival.output()).toContain('is in use by another npm start');
      await stop(first.npm);
      expect(readdirSync(dataDir)).not.toContain('server.pid');

      for (const file of ['pepper', 'signing-keys.json']) {
        expect(statSync(join(dataDir, file)).mode & 0o777).toBe(0o600);
      }
      expect(readdirSync(join(dataDir, 'dynamodb')).length).toBeGreaterThan(0);
      const pepper = readFileSync(join(dataDir, 'pepper'), 'utf8').trim();
      const keys = JSON.parse(readFileSync(join(dataDir, 'signing-keys.json'), 'utf8')) as {
        current: { jwk: { d: string } };
      };

      const second = await serve(port, tmp, [`--data-dir=${dataDir}`]);
      expect(await sessionStatus(second.base, sessionToken)).toBe(200);
      // The JWKS served after the restart still holds the key that signed before it.
      const jwks = createRemoteJWKSet(new URL(`${second.base}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(accessToken, jwks, { issuer: second.base });
      expect(payload.sub).toBeDefined();
      // The existing `local` client is kept, not made again.
      expect(second.npm.output()).toContain('clients:   1 in otp-clients');
      await stop(second.npm);

      for (const npm of [first.npm, second.npm]) {
        expect(npm.output()).not.toContain(pepper);
        expect(npm.output()).not.toContain(keys.current.jwk.d);
        expect(npm.output()).toContain(`kept in ${join(dataDir, 'pepper')}`);
      }
    },
    STARTS_MS * 3,
  );

  it(
    'keeps nothing without it',
    async () => {
      const tmp = setUp();
      const port = await freePort();
      const first = await serve(port, tmp);
      const { sessionToken, accessToken } = await login(first.base, 'gone@example.com');
      // CORS by default (functions/local/main.ts): pages from this machine, on any port, and no other site.
      const preflight = (origin: string) =>
        fetch(`${first.base}/v1/otp/send`, {
          method: 'OPTIONS',
          headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
        });
      const local = await preflight('http://localhost:5173');
      expect(local.status).toBe(204);
      expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
      const health = await fetch(`${first.base}/v1/health`, { headers: { Origin: 'http://127.0.0.1:8080' } });
      expect(health.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8080');
      await stop(first.npm);
      expect(first.npm.output()).toContain('(DynamoDB Local, in memory,');

      const second = await serve(port, tmp);
      expect(await sessionStatus(second.base, sessionToken)).toBe(401);
      const jwks = createRemoteJWKSet(new URL(`${second.base}/.well-known/jwks.json`));
      await expect(jwtVerify(accessToken, jwks, { issuer: second.base })).rejects.toThrow();
      await stop(second.npm);
    },
    STARTS_MS * 3,
  );

  it('refuses an unknown argument, naming it', async () => {
    const tmp = setUp();
    const npm = startNpm({ PORT: String(await freePort()), TMPDIR: tmp }, ['--data-dri', 'x']);
    started.push(npm);
    const { code } = await npm.exited;
    expect(code).not.toBe(0);
    expect(npm.output()).toContain('unknown argument "--data-dri"');
  });
});
