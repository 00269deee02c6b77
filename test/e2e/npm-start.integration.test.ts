import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';

/** Runs `npm start` exactly as a developer would, and walks the whole login flow over HTTP. */
let child: ChildProcess | undefined;
let output = '';

function startServer(extraEnv: Record<string, string> = {}) {
  output = '';
  const env: NodeJS.ProcessEnv = { ...process.env, POWERTOOLS_LOG_LEVEL: 'INFO', ...extraEnv };
  // What the test run set up for itself must not leak into the server under test.
  for (const name of ['DYNAMODB_ENDPOINT', 'OTP_PEPPER', 'OTP_DELIVERY', 'OTP_DEV_MODE']) delete env[name];
  const started = spawn('npm', ['start'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child = started;
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  started.stdout?.on('data', collect);
  started.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    started.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { process: started, exited };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

afterAll(() => {
  // Only if the test failed half-way: end the whole process group this test started.
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
});

describe('npm start', () => {
  it('serves send, verify, session and revoke, then stops cleanly with its DynamoDB Local', async () => {
    const port = await freePort();
    const { process: npm, exited } = startServer({ PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;

    await waitFor(
      'GET /v1/health to answer 200',
      async () => ((await fetch(`${base}/v1/health`)).ok ? true : undefined),
      90_000,
    );
    const javaPid = Number(/DynamoDB Local, in memory, pid (\d+)/.exec(output)?.[1]);
    expect(javaPid).toBeGreaterThan(0);
    expect(isAlive(javaPid)).toBe(true);

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
      async () => (output.includes(`code: ${mockCode}`) ? true : undefined),
      5000,
    );
    expect(output).toContain('[LOCAL OUTBOX: not sent] SMS to +14155550123');

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
    expect(output).toContain('"message":"code verified"');
    const logLines = output.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(mockCode);
      expect(line).not.toContain(login.sessionToken);
    }

    // As a process manager would: SIGTERM to npm alone. npm passes it to its shell and ends at once.
    npm.kill('SIGTERM');
    const { code, signal } = await exited;
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
    await waitFor('the server to stop', async () => (output.includes('Stopped.') ? true : undefined), 10_000);
    expect(output).toMatch(/(SIGTERM|parent process ended): stopping/);
    await waitFor('the DynamoDB Local child to end', async () => (isAlive(javaPid) ? undefined : true), 10_000);
  }, 120_000);

  it('stops on Ctrl+C (SIGINT to the whole process group) with its DynamoDB Local', async () => {
    const port = await freePort();
    const { process: npm, exited } = startServer({ PORT: String(port) });
    await waitFor(
      'start-up',
      async () => ((await fetch(`http://127.0.0.1:${port}/v1/health`)).ok ? true : undefined),
      90_000,
    );
    const javaPid = Number(/pid (\d+)\)/.exec(output)?.[1]);
    expect(isAlive(javaPid)).toBe(true);
    process.kill(-(npm.pid as number), 'SIGINT');
    await exited;
    await waitFor('the server to stop', async () => (output.includes('Stopped.') ? true : undefined), 10_000);
    expect(output).toContain('SIGINT: stopping');
    await waitFor('the DynamoDB Local child to end', async () => (isAlive(javaPid) ? undefined : true), 10_000);
  }, 120_000);

  it('refuses to start on an invalid variable, naming it, and leaves nothing running', async () => {
    const { exited } = startServer({ OTP_CODE_LENGTH: 'six' });
    const { code } = await exited;
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration: OTP_CODE_LENGTH must be a whole number from 4 to 10 (got "six").');
    expect(output).not.toContain('DynamoDB Local, in memory');
  }, 60_000);
});
