import { describe, expect, it } from 'vitest';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, type Harness, harness } from '../support.js';

const PHONE = '+14155550123';

describe('GET and DELETE /v1/session', () => {
  async function login(h: Harness) {
    const code = (await call(createSendOtpHandler(h.deps), { body: { target: PHONE } })).body?.mockCode as string;
    const response = await call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code } });
    return response.body as { sessionToken: string; identity: { id: string } };
  }

  it('200 with the session, by Bearer or X-OTP-Session', async () => {
    const h = await harness();
    const { sessionToken, identity } = await login(h);
    const ways: Record<string, string>[] = [
      { Authorization: `Bearer ${sessionToken}` },
      { 'X-OTP-Session': sessionToken },
    ];
    for (const headers of ways) {
      const response = await call(createSessionHandler(h.deps), { method: 'GET', headers });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        success: true,
        valid: true,
        customerId: identity.id,
        target: PHONE,
        otpType: 'sms',
        purpose: 'login',
        issuedAt: expect.any(String),
        expiresAt: expect.any(String),
        authTime: expect.any(String),
        clientId: null,
      });
      expect(response.body?.authTime).toBe(response.body?.issuedAt);
    }
  });

  it('401 session-invalid, one body for missing, malformed, unknown and revoked tokens', async () => {
    const h = await harness();
    const { sessionToken } = await login(h);
    const revoke = await call(createSessionHandler(h.deps), {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${sessionToken}` },
    });
    expect(revoke.status).toBe(204);
    expect(revoke.rawBody).toBe('');

    const bodies = new Set<string>();
    const refused: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer' },
      { Authorization: 'Bearer not-a-token' },
      { 'X-OTP-Session': 'A'.repeat(43) },
      { Authorization: `Bearer ${sessionToken}` },
    ];
    for (const headers of refused) {
      const response = await call(createSessionHandler(h.deps), { method: 'GET', headers });
      expectProblem(response, 401, 'session-invalid');
      expect(response.headers['www-authenticate']).toBe('Bearer');
      bodies.add(JSON.stringify(response.body));
    }
    expect(bodies.size).toBe(1);
    const again = await call(createSessionHandler(h.deps), {
      method: 'DELETE',
      headers: { 'X-OTP-Session': sessionToken },
    });
    expectProblem(again, 401, 'session-invalid');
  });

  it('401 session-invalid when Authorization and X-OTP-Session disagree, 200 when they agree', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const mine = await login(h);
    const other = await login(h);
    const session = createSessionHandler(h.deps);
    const both = (bearer: string, header: string) =>
      call(session, { method: 'GET', headers: { Authorization: `Bearer ${bearer}`, 'X-OTP-Session': header } });
    expectProblem(await both(mine.sessionToken, other.sessionToken), 401, 'session-invalid');
    expectProblem(await both(mine.sessionToken, 'A'.repeat(43)), 401, 'session-invalid');
    expect((await both(mine.sessionToken, mine.sessionToken)).status).toBe(200);
    const revoke = await call(session, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${other.sessionToken}`, 'X-OTP-Session': mine.sessionToken },
    });
    expectProblem(revoke, 401, 'session-invalid');
    // Neither session was revoked by the refused call.
    expect((await both(other.sessionToken, other.sessionToken)).status).toBe(200);
  });

  it('405 for another method', async () => {
    const h = await harness();
    const response = await call(createSessionHandler(h.deps), { method: 'POST', body: {} });
    expectProblem(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('GET, DELETE');
  });
});
