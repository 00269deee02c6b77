import { OtpClient, type OtpClientOptions } from 'otp-service/client';
import type { Harness } from '../kit.js';
import { listeningServer } from '../local-server.js';
import { harness } from '../support.js';

/**
 * What the client's tests share: the local server over a harness of its own (the per-IP send limit
 * off, as each test speaks from 127.0.0.1), clients of it, and a sign-in.
 */
export async function clientKit(prefix: string) {
  const h: Harness = await harness({ OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0' });
  const server = await listeningServer(h);
  let seq = 0;
  const email = () => `${prefix}-${Date.now()}-${++seq}@example.com`;
  const client = (extra: Partial<OtpClientOptions> = {}) =>
    new OtpClient({ baseUrl: server.base, platform: 'web', ...extra });
  const signIn = async (otp: OtpClient, target = email()) => {
    const sent = await otp.send({ target });
    return otp.verify({ otpToken: sent.otpToken, code: sent.mockCode ?? '' });
  };
  return { h, server, email, client, signIn };
}

/** The error a promise rejects with; a test fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
