import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config.js';
import { withPepper, withSigningKeys } from '../../functions/wiring.js';

/**
 * Issue 14, item 1: a function whose Secrets Manager cannot be reached at start-up fails to start
 * within seconds, with a message naming the variable and saying why, instead of waiting for Lambda's
 * timeout. Secrets Manager is a socket on 127.0.0.1 that accepts and never answers, or a closed port.
 */

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:otp-startup-AbCdEf';
const sockets = new Set<Socket>();
let silent: Server;
let silentUrl: string;
let closedUrl: string;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    }),
  );
}

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  silentUrl = await listen(silent);
  const closed = createServer();
  closedUrl = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
});

async function timed(start: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await start().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  return { error, ms: performance.now() - started };
}

describe('a Secrets Manager that cannot be reached at start-up', () => {
  it('the pepper: the start fails within the deadline, naming the variable', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = silentUrl;
    const { error, ms } = await timed(() =>
      withPepper(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_SECRET_ARN: `${ARN}1` })),
    );
    expect(String(error)).toMatch(
      /OTP_PEPPER_SECRET_ARN could not be read: Secrets Manager (did not answer|is unreachable).*cannot start/,
    );
    expect(ms).toBeLessThan(4000);
  });

  it('the signing keys: the same, through the bounded Secrets Manager client', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = silentUrl;
    const { error, ms } = await timed(() =>
      withSigningKeys(loadConfig({ OTP_DELIVERY: 'local', OTP_SIGNING_KEYS_SECRET_ARN: ARN })),
    );
    expect(String(error)).toMatch(/OTP_SIGNING_KEYS_SECRET_ARN could not be read: Secrets Manager/);
    expect(ms).toBeLessThan(4000);
  });

  it('a refused connection fails the start at once, saying so', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = closedUrl;
    const { error, ms } = await timed(() =>
      withSigningKeys(loadConfig({ OTP_DELIVERY: 'local', OTP_SIGNING_KEYS_SECRET_ARN: `${ARN}2` })),
    );
    expect(String(error)).toMatch(
      /OTP_SIGNING_KEYS_SECRET_ARN could not be read: Secrets Manager is unreachable .*ECONNREFUSED/,
    );
    expect(ms).toBeLessThan(3000);
  });
});
