import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { type NpmStart, startNpm, waitUntilReady } from './npm-start-harness.js';

/**
 * A developer who works with AWS has these set in the shell. DynamoDB Local files tables under the
 * access key and region of each request, so every one of them could split the tables that
 * `npm start` creates from the ones its handlers use.
 */
const AWS_SHELL = {
  AWS_REGION: 'eu-west-1',
  AWS_DEFAULT_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'x',
  AWS_PROFILE: 'does-not-exist',
};

let npm: NpmStart | undefined;

afterAll(() => npm?.kill());

describe('npm start in a shell with AWS variables set', () => {
  it('serves send, verify, session and revoke as without them', async () => {
    const port = await freePort();
    npm = startNpm({ ...AWS_SHELL, PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    await waitUntilReady(npm, base);

    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const sent = await post('/v1/otp/send', { target: 'ada@example.com', purpose: 'login' });
    const sentBody = (await sent.json()) as { success: boolean; mockCode: string };
    expect({ status: sent.status, body: sentBody }).toMatchObject({ status: 200, body: { success: true } });
    expect(sentBody.mockCode).toMatch(/^\d{6}$/);

    const verified = await post('/v1/otp/verify', { target: 'ada@example.com', code: sentBody.mockCode });
    const login = (await verified.json()) as { sessionToken: string; identity: { id: string } };
    expect({ status: verified.status, body: login }).toMatchObject({ status: 200, body: { success: true } });

    const auth = { Authorization: `Bearer ${login.sessionToken}` };
    const session = await fetch(`${base}/v1/session`, { headers: auth });
    expect({ status: session.status, body: await session.json() }).toMatchObject({
      status: 200,
      body: { valid: true, customerId: login.identity.id, target: 'ada@example.com' },
    });

    expect((await fetch(`${base}/v1/session`, { method: 'DELETE', headers: auth })).status).toBe(204);
    const revoked = await fetch(`${base}/v1/session`, { headers: auth });
    expect({ status: revoked.status, body: await revoked.json() }).toMatchObject({
      status: 401,
      body: { error: 'session-invalid' },
    });

    npm.process.kill('SIGTERM');
    await npm.exited;
  }, 120_000);
});
