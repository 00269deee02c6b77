import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { listeningSockets } from '../local/listening-sockets.js';
import { isAlive, type NpmStart, startNpm, waitFor, waitUntilReady } from './npm-start-harness.js';

/** Runs `npm start` exactly as a developer would, and walks the whole login flow over HTTP. */
let npm: NpmStart | undefined;
const output = () => npm?.output() ?? '';

function startServer(extraEnv: Record<string, string> = {}) {
  npm = startNpm(extraEnv);
  return npm;
}

afterAll(() => {
  // Only if the test failed half-way: end the whole process group this test started.
  npm?.kill();
});

describe('npm start', () => {
  it('serves send, verify, session and revoke, then stops cleanly with its DynamoDB Local', async () => {
    const port = await freePort();
    const started = startServer({ PORT: String(port) });
    const { exited } = started;
    const base = `http://127.0.0.1:${port}`;

    await waitUntilReady(started, base);
    const javaPid = Number(/DynamoDB Local, in memory, pid (\d+)/.exec(output())?.[1]);
    expect(javaPid).toBeGreaterThan(0);
    expect(isAlive(javaPid)).toBe(true);
    // Its DynamoDB Local is reachable from this machine only.
    const dynamoPort = Number(/DynamoDB: +http:\/\/127\.0\.0\.1:(\d+)/.exec(output())?.[1]);
    expect(listeningSockets(javaPid).map(({ address, port: p }) => `${address.replace(/^::ffff:/, '')}:${p}`)).toEqual([
      `127.0.0.1:${dynamoPort}`,
    ]);

    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });

    const sent = await post('/v1/otp/send', { target: '+1 415 555 0123', purpose: 'login' });
    expect(sent.status).toBe(200);
    const { mockCode } = (await sent.json()) as { mockCode: string };
    expect(mockCode).toMatch(/^\d{6}$/);
    await waitFor(
      'the outbox to print the code',
      async () => (output().includes(`code: ${mockCode}`) ? true : undefined),
      5000,
    );
    expect(output()).toContain('[LOCAL OUTBOX: not sent] SMS to +14155550123');

    const verified = await post('/v1/otp/verify', { target: '+14155550123', code: mockCode, name: 'Ada' });
    expect(verified.status).toBe(200);
    const login = (await verified.json()) as { sessionToken: string; isNew: boolean; identity: { id: string } };
    expect(login.isNew).toBe(true);

    const auth = { Authorization: `Bearer ${login.sessionToken}` };
    const session = await fetch(`${base}/v1/session`, { headers: auth });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ valid: true, customerId: login.identity.id, target: '+14155550123' });

    expect((await fetch(`${base}/v1/session`, { method: 'DELETE', headers: auth })).status).toBe(204);
    const revoked = await fetch(`${base}/v1/session`, { headers: auth });
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ error: 'session-invalid' });

    const unknown = await fetch(`${base}/v1/unknown`);
    expect(unknown.status).toBe(404);

    // Structured logs went out, without the code or the token.
    expect(output()).toContain('"message":"code verified"');
    const logLines = output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(mockCode);
      expect(line).not.toContain(login.sessionToken);
    }

    // As a process manager would: SIGTERM to npm alone. npm passes it to its shell and ends at once.
    started.process.kill('SIGTERM');
    const { code, signal } = await exited;
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
    await waitFor('the server to stop', async () => (output().includes('Stopped.') ? true : undefined), 10_000);
    expect(output()).toMatch(/(SIGTERM|parent process ended): stopping/);
    await waitFor('the DynamoDB Local child to end', async () => (isAlive(javaPid) ? undefined : true), 10_000);
  }, 120_000);

  it('stops on Ctrl+C (SIGINT to the whole process group) with its DynamoDB Local', async () => {
    const port = await freePort();
    const started = startServer({ PORT: String(port) });
    const { exited } = started;
    await waitUntilReady(started, `http://127.0.0.1:${port}`);
    const javaPid = Number(/pid (\d+)\)/.exec(output())?.[1]);
    expect(isAlive(javaPid)).toBe(true);
    process.kill(-(started.process.pid as number), 'SIGINT');
    await exited;
    await waitFor('the server to stop', async () => (output().includes('Stopped.') ? true : undefined), 10_000);
    expect(output()).toContain('SIGINT: stopping');
    await waitFor('the DynamoDB Local child to end', async () => (isAlive(javaPid) ? undefined : true), 10_000);
  }, 120_000);

  it('refuses to start on an invalid variable, naming it, and leaves nothing running', async () => {
    const { exited } = startServer({ OTP_CODE_LENGTH: 'six' });
    const { code } = await exited;
    expect(code).toBe(1);
    expect(output()).toMatch(/Invalid configuration: OTP_CODE_LENGTH .*\(got "six"\)/);
    expect(output()).not.toContain('DynamoDB Local, in memory');
  }, 60_000);

  it("refuses to start, saying why, when the tables it created do not answer through the handlers' client", async () => {
    // A DynamoDB that accepts CreateTable and then knows no table: what DynamoDB Local does when
    // the tables are created under one access key and region and used under another.
    let fake: Server | undefined;
    try {
      fake = createServer((req, res) => {
        req.resume();
        const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
        res.setHeader('Content-Type', 'application/x-amz-json-1.0');
        if (operation === 'CreateTable' || operation === 'UpdateTimeToLive') {
          res.end(JSON.stringify(operation === 'CreateTable' ? { TableDescription: {} } : {}));
          return;
        }
        res.statusCode = 400;
        res.end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
            message: 'Cannot do operations on a non-existent table',
          }),
        );
      });
      await new Promise<void>((resolve) => fake?.listen(0, '127.0.0.1', resolve));
      const endpoint = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const port = await freePort();
      const { exited } = startServer({ PORT: String(port), DYNAMODB_ENDPOINT: endpoint });
      const { code } = await exited;
      expect(code).toBe(1);
      expect(output()).toContain(`DynamoDB at ${endpoint} is not usable`);
      expect(output()).toMatch(/otp-state\S*: ResourceNotFoundException/);
      expect(output()).not.toContain('Ready.');
      await expect(fetch(`http://127.0.0.1:${port}/v1/health`)).rejects.toThrow();
    } finally {
      fake?.closeAllConnections();
      await new Promise((resolve) => fake?.close(resolve));
    }
  }, 60_000);
});
