import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { type FaultProxy, startFaultProxy } from '../fault-proxy.js';
import { isAlive, type NpmStart, startNpm, waitFor, waitUntilReady } from './npm-start-harness.js';

/**
 * Issue 14, item 2, as a developer meets it: `npm start` whose database goes away and comes back
 * keeps serving (503 while it is gone, health still 200, GET /ready 503), and when its own DynamoDB
 * Local dies, it says so and stops instead of serving 503s forever.
 */
const started: NpmStart[] = [];
const proxies: FaultProxy[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const npm of started) npm.kill();
  for (const proxy of proxies) await proxy.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A TMPDIR of its own: `npm run clients` of other tests must not find this server. */
function privateTmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'otp-npm-start-database-'));
  dirs.push(dir);
  return dir;
}

const send = (base: string, target: string) =>
  fetch(`${base}/v1/otp/send`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ target }),
  });

describe('npm start and its database', () => {
  it('its own DynamoDB (DYNAMODB_ENDPOINT) down and back: 503 with Retry-After meanwhile, then serves again', async () => {
    const proxy = await startFaultProxy(inject('dynamoEndpoint'));
    proxies.push(proxy);
    const port = await freePort();
    const suffix = Math.random().toString(36).slice(2, 8);
    const npm = startNpm({
      PORT: String(port),
      TMPDIR: privateTmp(),
      DYNAMODB_ENDPOINT: proxy.endpoint,
      OTP_STATE_TABLE: `npm-db-state-${suffix}`,
      OTP_CUSTOMERS_TABLE: `npm-db-customers-${suffix}`,
      OTP_CLIENTS_TABLE: `npm-db-clients-${suffix}`,
    });
    started.push(npm);
    const base = `http://127.0.0.1:${port}`;
    await waitUntilReady(npm, base);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    expect((await send(base, `before-${suffix}@example.com`)).status).toBe(200);

    await proxy.refuse();
    const down = await send(base, `down-${suffix}@example.com`);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('2');
    expect(await down.json()).toMatchObject({ error: 'unavailable', status: 503 });
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
    const notReady = await fetch(`${base}/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ error: 'unavailable' });

    await proxy.pass();
    expect((await send(base, `after-${suffix}@example.com`)).status).toBe(200);
    expect(await (await fetch(`${base}/ready`)).json()).toMatchObject({ success: true, status: 'ready' });
    expect(npm.process.exitCode).toBeNull();
    npm.process.kill('SIGTERM');
    await npm.exited;
  });

  it('its embedded DynamoDB Local dying: it says so and stops, leaving nothing running', async () => {
    const port = await freePort();
    const npm = startNpm({ PORT: String(port), TMPDIR: privateTmp() });
    started.push(npm);
    await waitUntilReady(npm, `http://127.0.0.1:${port}`);
    const pid = Number(/DynamoDB Local, in memory, pid (\d+)/.exec(npm.output())?.[1]);
    expect(pid).toBeGreaterThan(0);
    // The java child this test's npm start launched, by its pid.
    process.kill(pid, 'SIGKILL');
    const { code } = await npm.exited;
    expect(code).toBe(1);
    expect(npm.output()).toMatch(/DynamoDB Local exited unexpectedly \(code null\): stopping…/);
    await waitFor('the java process to be gone', async () => (isAlive(pid) ? undefined : true), 10_000);
  });
});
