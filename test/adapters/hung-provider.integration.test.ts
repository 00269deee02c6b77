import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { createSenders } from '../../functions/wiring.js';
import { call, harness, testConfig } from '../support.js';

/**
 * A provider that accepts connections, reads what it is sent and never answers: what a hung SNS or
 * SES looks like to the SDK. SNS has no emulator; for SES this is the part aws-ses-v2-local cannot play.
 */
class HungProvider {
  /** What each connection sent, in order of arrival. */
  readonly received: string[] = [];
  /** When the first connection came and the last one was closed by the client (performance.now()). */
  firstConnectedAt = 0;
  lastClosedAt = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    if (this.received.length === 0) this.firstConnectedAt = performance.now();
    this.sockets.add(socket);
    const index = this.received.push('') - 1;
    socket.on('data', (chunk: Buffer) => {
      this.received[index] += chunk.toString('utf8');
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.lastClosedAt = performance.now();
    });
    socket.on('error', () => {});
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return `http://127.0.0.1:${address.port}`;
  }

  reset(): void {
    this.received.length = 0;
    this.firstConnectedAt = 0;
    this.lastClosedAt = 0;
  }

  /** How long the client held on to the provider, once it has let go of every connection. */
  async heldForMs(): Promise<number> {
    const deadline = performance.now() + 2_000;
    while (this.sockets.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.sockets.size > 0) return Number.POSITIVE_INFINITY;
    return this.lastClosedAt - this.firstConnectedAt;
  }

  /** The form parameters of the first request (SNS and SES both speak the AWS query protocol). */
  firstRequest(): URLSearchParams {
    const body = this.received[0]?.split('\r\n\r\n')[1] ?? '';
    return new URLSearchParams(body);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

// The client lets go of a hung provider within 5 s of reaching it, retries included...
const HAND_OVER_WITHIN_MS = 5_000;
// ...and the send answers before the function's 10 s timeout (lib/function-defaults.ts), after which
// the code would stay usable; the margin is for DynamoDB Local on a busy machine.
const ANSWER_WITHIN_MS = 8_000;

const provider = new HungProvider();

beforeAll(async () => {
  const endpoint = await provider.start();
  // The send function's own clients, from createSenders, find the endpoint the way the SDK always does.
  vi.stubEnv('AWS_ENDPOINT_URL_SNS', endpoint);
  vi.stubEnv('AWS_ENDPOINT_URL_SES', endpoint);
  // Any other AWS client of this process lands there too: nothing leaves 127.0.0.1.
  vi.stubEnv('AWS_ENDPOINT_URL', endpoint);
  vi.stubEnv('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', undefined);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'hung-provider-test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'hung-provider-test');
  vi.stubEnv('AWS_SESSION_TOKEN', undefined);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await provider.stop();
});

/** Sends through the real send handler with the real senders; returns the answer and how long it took. */
async function sendThroughHungProvider(body: Record<string, string>) {
  const h = await harness();
  const senders = createSenders(testConfig({ OTP_DELIVERY: 'aws', OTP_EMAIL_FROM: 'Acme <no-reply@acme.example>' }));
  const send = createSendOtpHandler({ ...h.deps, senders });
  provider.reset();
  const started = performance.now();
  const response = await call(send, { body });
  return { h, response, elapsedMs: performance.now() - started };
}

describe('a delivery provider that never answers', () => {
  it('SES: the send answers 502 delivery-failed in time, and the code it handed over does not verify', async () => {
    const target = 'jane@example.com';
    const { h, response, elapsedMs } = await sendThroughHungProvider({ target });

    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({ error: 'delivery-failed' });
    expect(elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
    expect(await provider.heldForMs()).toBeLessThan(HAND_OVER_WITHIN_MS);

    // It was the hung provider that failed the send, asked for an SES SendEmail.
    const request = provider.firstRequest();
    expect(request.get('Action')).toBe('SendEmail');
    expect(request.get('Source')).toBe('Acme <no-reply@acme.example>');
    const code = /code is (\d{6})\./.exec(request.get('Message.Body.Text.Data') ?? '')?.[1];
    expect(code).toMatch(/^\d{6}$/);

    // Had SES delivered it late, the code in that e-mail must not sign anyone in.
    const verify = await call(createVerifyOtpHandler(h.deps), { body: { target, code } });
    expect(verify.status).toBe(401);
    expect(verify.body).toMatchObject({ error: 'invalid-code' });
  }, 20_000);

  it('SNS: the send answers 502 delivery-failed in time, and the code it handed over does not verify', async () => {
    const target = '+14155550123';
    const { h, response, elapsedMs } = await sendThroughHungProvider({ target });

    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({ error: 'delivery-failed' });
    expect(elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
    expect(await provider.heldForMs()).toBeLessThan(HAND_OVER_WITHIN_MS);

    const request = provider.firstRequest();
    expect(request.get('Action')).toBe('Publish');
    expect(request.get('PhoneNumber')).toBe(target);
    const code = /^(\d{6}) is your /.exec(request.get('Message') ?? '')?.[1];
    expect(code).toMatch(/^\d{6}$/);

    const verify = await call(createVerifyOtpHandler(h.deps), { body: { target, code } });
    expect(verify.status).toBe(401);
    expect(verify.body).toMatchObject({ error: 'invalid-code' });
  }, 20_000);
});
