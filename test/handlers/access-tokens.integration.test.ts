import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { addClient } from '../../functions/core/manage-clients.js';
import type { Purpose } from '../../functions/core/purposes.js';
import { createRefreshHandler } from '../../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createSessionsHandler } from '../../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, harness, PHONE, testConfig } from '../support.js';

const EMAIL = 'ada@example.com';

async function setUp(overrides: Record<string, string> = {}) {
  const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0', ...overrides });
  return {
    h,
    send: createSendOtpHandler(h.deps),
    verify: createVerifyOtpHandler(h.deps),
    session: createSessionHandler(h.deps),
    sessions: createSessionsHandler(h.deps),
    refresh: createRefreshHandler(h.deps),
  };
}
type Setup = Awaited<ReturnType<typeof setUp>>;

async function verified(
  s: Setup,
  target: string,
  purpose: Purpose = 'login',
  headers: Record<string, string> = {},
): Promise<Record<string, any>> {
  const sent = await call(s.send, { body: { target, purpose }, headers });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  const answer = await call(s.verify, { body: { target, purpose, code: sent.body?.mockCode }, headers });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as Record<string, any>;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

describe('access tokens of verify and refresh (API.md, "Access token claims")', () => {
  it('a login returns an ES256 access token with the claims of its session', async () => {
    const s = await setUp();
    const body = await verified(s, EMAIL);
    expect(body).toMatchObject({ tokenType: 'Bearer', accessExpiresIn: 900 });
    expect(decodeProtectedHeader(body.accessToken)).toMatchObject({
      alg: 'ES256',
      typ: 'at+jwt',
      kid: expect.any(String),
    });
    const claims = await s.h.deps.accessTokens.verify(body.accessToken, s.h.clock.now);
    const listing = await call(s.sessions, {
      method: 'GET',
      headers: { Authorization: `Bearer ${body.sessionToken}` },
    });
    const [listed] = listing.body?.sessions ?? [];
    expect(claims).toEqual({
      iss: testConfig().issuer,
      sub: body.identity.id,
      aud: 'otp-service',
      sid: listed.id,
      iat: seconds(s.h.clock.now),
      exp: seconds(s.h.clock.now) + 900,
      auth_time: seconds(s.h.clock.now),
      amr: ['otp', 'email'],
      purpose: 'login',
      trust: 'verified',
    });
  });

  it("the audience is the calling client's id", async () => {
    const s = await setUp();
    const client = await addClient({ registry: s.h.registry, now: s.h.deps.now }, 'Mobile app');
    const body = await verified(s, PHONE, 'login', { 'X-API-Key': client.apiKey });
    const claims = await s.h.deps.accessTokens.verify(body.accessToken, s.h.clock.now);
    expect(claims).toMatchObject({ aud: client.clientId, amr: ['otp', 'sms'] });
  });

  it('a step-up session gets an access token that never outlives it', async () => {
    const s = await setUp({ OTP_STEP_UP_TTL_SECONDS: '300' });
    const body = await verified(s, EMAIL, 'step-up');
    expect(body).not.toHaveProperty('refreshToken');
    expect(body.accessExpiresIn).toBe(300);
    const claims = await s.h.deps.accessTokens.verify(body.accessToken, s.h.clock.now);
    expect(claims).toMatchObject({ purpose: 'step-up', exp: seconds(s.h.clock.now) + 300 });
    expect(claims?.exp).toBeLessThanOrEqual(seconds(Date.parse(body.expiresAt)));
  });

  it('verify-phone returns no token; the next refresh carries the stronger trust', async () => {
    const s = await setUp();
    const login = await verified(s, EMAIL);
    const auth = { Authorization: `Bearer ${login.sessionToken}` };
    const linked = await verified(s, PHONE, 'verify-phone', auth);
    for (const member of ['accessToken', 'accessExpiresIn', 'tokenType', 'sessionToken']) {
      expect(linked).not.toHaveProperty(member);
    }
    s.h.clock.now += 60_000;
    const refreshed = await call(s.refresh, { body: { refreshToken: login.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({ tokenType: 'Bearer', accessExpiresIn: 900 });
    const claims = await s.h.deps.accessTokens.verify(refreshed.body?.accessToken, s.h.clock.now);
    const before = await s.h.deps.accessTokens.verify(login.accessToken, s.h.clock.now);
    expect(claims).toMatchObject({ trust: 'strong', sid: before?.sid, auth_time: before?.auth_time });
    expect(claims?.iat).toBe(seconds(s.h.clock.now));
  });

  it('GET /v1/session accepts the access token of verify, and refuses it once the session is revoked', async () => {
    const s = await setUp();
    const body = await verified(s, EMAIL);
    const byAccess = await call(s.session, { method: 'GET', headers: { Authorization: `Bearer ${body.accessToken}` } });
    expect(byAccess.status).toBe(200);
    expect(byAccess.body).toMatchObject({ valid: true, customerId: body.identity.id, purpose: 'login' });
    const revoked = await call(s.session, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${body.sessionToken}` },
    });
    expect(revoked.status).toBe(204);
    expectProblem(
      await call(s.session, { method: 'GET', headers: { Authorization: `Bearer ${body.accessToken}` } }),
      401,
      'session-invalid',
    );
    // Still a well-signed, unexpired token: only the check against its session refuses it.
    expect(await s.h.deps.accessTokens.verify(body.accessToken, s.h.clock.now)).toBeDefined();
  });
});
