import { describe, expect, it } from 'vitest';
import type { OtpStore } from '../../functions/core/ports.js';
import { handler as health } from '../../functions/handlers/health.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, type Harness, harness } from '../support.js';

const PHONE = '+14155550123';

function api(h: Harness) {
  return {
    send: createSendOtpHandler(h.deps),
    verify: createVerifyOtpHandler(h.deps),
    session: createSessionHandler(h.deps),
  };
}

type Response = Awaited<ReturnType<typeof call>>;

function expectProblem(response: Response, status: number, slug: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.body).toMatchObject({ status, success: false, error: slug });
  expect(response.body?.type).toMatch(new RegExp(`/problems/${slug}$`));
  expect(typeof response.body?.title).toBe('string');
  expect(typeof response.body?.detail).toBe('string');
  expect(response.rawBody).not.toMatch(/\bat .+\.(ts|js):\d+/);
}

async function sendAndGetCode(h: Harness, target = PHONE, purpose?: string): Promise<string> {
  const response = await call(api(h).send, { body: { target, purpose } });
  expect(response.status).toBe(200);
  return response.body?.mockCode as string;
}

describe('GET /v1/health', () => {
  it('answers 200 ok with the security headers', async () => {
    const response = await call(health, { method: 'GET' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ success: true, status: 'ok' });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  });
});

describe('POST /v1/otp/send', () => {
  it('200 with the shape of API.md, mockCode in dev mode', async () => {
    const h = await harness();
    const response = await call(api(h).send, { body: { target: PHONE } });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual({
      success: true,
      otpType: 'sms',
      expiresIn: 300,
      resendAfter: 30,
      message: 'A code was sent by SMS.',
      mockCode: h.sender.sent[0]?.code,
    });
    expect(response.body?.mockCode).toMatch(/^\d{6}$/);
  });

  it('200 by e-mail, and no mockCode outside dev mode', async () => {
    const h = await harness({ OTP_DEV_MODE: 'false' });
    const response = await call(api(h).send, { body: { target: 'Jane@Example.com', channel: 'email' } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ otpType: 'email', message: 'A code was sent by e-mail.' });
    expect(response.body).not.toHaveProperty('mockCode');
    expect(h.sender.sent[0]?.to).toBe('Jane@example.com');
  });

  it.each([
    [{ target: 'not-a-target' }],
    [{ target: '+1415' }],
    [{ target: PHONE, channel: 'email' }],
    [{ target: 'jane@example.com', channel: 'sms' }],
  ])('400 invalid-target for %j', async (body) => {
    const h = await harness();
    expectProblem(await call(api(h).send, { body }), 400, 'invalid-target');
  });

  it.each([
    [{}, 'target'],
    [{ target: 42 }, 'target'],
    [{ target: '' }, 'target'],
    [{ target: 'x'.repeat(256) }, 'target'],
    [{ target: PHONE, purpose: 'delete-account' }, 'purpose'],
    [{ target: PHONE, channel: 'fax' }, 'channel'],
    [[PHONE], ''],
    [null, ''],
  ])('400 validation-error for %j, naming %j', async (body, path) => {
    const h = await harness();
    const response = await call(api(h).send, { body });
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });

  it('400 validation-error for an empty body', async () => {
    const h = await harness();
    expectProblem(await call(api(h).send, {}), 400, 'validation-error');
  });

  it('400 malformed-json for a body that is not JSON', async () => {
    const h = await harness();
    expectProblem(await call(api(h).send, { rawBody: '{"target": ' }), 400, 'malformed-json');
  });

  it('413 for a body over 8 KiB, 200 just under it', async () => {
    const h = await harness();
    const over = JSON.stringify({ target: PHONE, pad: 'x'.repeat(8192) });
    expectProblem(await call(api(h).send, { rawBody: over }), 413, 'payload-too-large');
    const under = JSON.stringify({ target: PHONE, pad: 'x'.repeat(8000) });
    expect((await call(api(h).send, { rawBody: under })).status).toBe(200);
  });

  it('415 for another content type', async () => {
    const h = await harness();
    const response = await call(api(h).send, {
      rawBody: `target=${PHONE}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(response, 415, 'unsupported-media-type');
  });

  it('405 with Allow for another method', async () => {
    const h = await harness();
    const response = await call(api(h).send, { method: 'GET' });
    expectProblem(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('POST');
  });

  it('403 channel-not-allowed for a country outside the allow-list', async () => {
    const h = await harness({ OTP_SMS_ALLOWED_COUNTRIES: 'DE' });
    expectProblem(await call(api(h).send, { body: { target: PHONE } }), 403, 'channel-not-allowed');
    expect((await call(api(h).send, { body: { target: '+4915112345678' } })).status).toBe(200);
  });

  it('403 channel-not-allowed for a channel switched off', async () => {
    const h = await harness({ OTP_ALLOWED_CHANNELS: 'email' });
    expectProblem(await call(api(h).send, { body: { target: PHONE } }), 403, 'channel-not-allowed');
  });

  it('429 rate-limited with Retry-After', async () => {
    const h = await harness();
    await call(api(h).send, { body: { target: PHONE } });
    const response = await call(api(h).send, { body: { target: PHONE } });
    expectProblem(response, 429, 'rate-limited');
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(response.headers['retry-after'])).toBeLessThanOrEqual(30);
  });

  it('502 delivery-failed when the provider refuses, and the code is not usable', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    h.sender.failWith = new Error('provider down');
    const response = await call(api(h).send, { body: { target: PHONE } });
    expectProblem(response, 502, 'delivery-failed');
    expect(response.body).not.toHaveProperty('mockCode');
  });
});

describe('POST /v1/otp/verify', () => {
  it('200 with session and identity; a new customer, then a known one', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const code = await sendAndGetCode(h, 'jane@example.com');
    const first = await call(api(h).verify, { body: { target: ' jane@EXAMPLE.com', code, name: 'Jane' } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      success: true,
      verifiedTarget: 'jane@example.com',
      otpType: 'email',
      sessionToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
      expiresIn: 86_400,
      isNew: true,
      identity: {
        id: expect.any(String),
        email: 'jane@example.com',
        phone: null,
        name: 'Jane',
        verified: true,
        verifiedAt: expect.any(String),
        trustLevel: 'verified',
      },
    });
    expect(Date.parse(first.body?.expiresAt) - Date.parse(first.body?.identity.verifiedAt)).toBe(86_400_000);

    const again = await sendAndGetCode(h, 'jane@example.com');
    const second = await call(api(h).verify, { body: { target: 'jane@example.com', code: again, name: 'Other' } });
    expect(second.body).toMatchObject({ isNew: false, identity: { id: first.body?.identity.id, name: 'Jane' } });
  });

  it('401 invalid-code: wrong, used and never-sent codes answer with the same body', async () => {
    const h = await harness();
    const code = await sendAndGetCode(h);
    const wrong = code === '000000' ? '000001' : '000000';
    const bodies: unknown[] = [];
    for (const body of [
      { target: PHONE, code: wrong },
      { target: '+4915112345678', code },
      { target: PHONE, code, purpose: 'register' },
    ]) {
      const response = await call(api(h).verify, { body });
      expectProblem(response, 401, 'invalid-code');
      bodies.push(response.body);
    }
    expect((await call(api(h).verify, { body: { target: PHONE, code } })).status).toBe(200);
    const used = await call(api(h).verify, { body: { target: PHONE, code } });
    expectProblem(used, 401, 'invalid-code');
    bodies.push(used.body);
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
  });

  it('429 too-many-attempts once the attempts are used up', async () => {
    const h = await harness();
    const code = await sendAndGetCode(h);
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 3; i++) await call(api(h).verify, { body: { target: PHONE, code: wrong } });
    expectProblem(await call(api(h).verify, { body: { target: PHONE, code } }), 429, 'too-many-attempts');
  });

  it('429 too-many-attempts with Retry-After once the target has too many wrong codes', async () => {
    const h = await harness({ OTP_MAX_FAILURES_PER_TARGET: '2' });
    const code = await sendAndGetCode(h);
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 2; i++) await call(api(h).verify, { body: { target: PHONE, code: wrong } });
    const response = await call(api(h).verify, { body: { target: PHONE, code } });
    expectProblem(response, 429, 'too-many-attempts');
    expect(response.headers['retry-after']).toBe('86400');
  });

  it.each([
    [{ target: PHONE, code: '12345' }, 'code'],
    [{ target: PHONE, code: '1234567' }, 'code'],
    [{ target: PHONE, code: '12345a' }, 'code'],
    [{ target: PHONE, code: 123456 }, 'code'],
    [{ code: '123456' }, 'target'],
    [{ target: PHONE, code: '123456', name: 'n'.repeat(256) }, 'name'],
  ])('400 validation-error for %j', async (body, path) => {
    const h = await harness();
    const response = await call(api(h).verify, { body });
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });

  it('accepts codes of the configured length', async () => {
    const h = await harness({ OTP_CODE_LENGTH: '8' });
    const code = await sendAndGetCode(h);
    expect(code).toMatch(/^\d{8}$/);
    expect((await call(api(h).verify, { body: { target: PHONE, code } })).status).toBe(200);
  });
});

describe('GET and DELETE /v1/session', () => {
  async function login(h: Harness) {
    const code = await sendAndGetCode(h);
    const response = await call(api(h).verify, { body: { target: PHONE, code } });
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
      const response = await call(api(h).session, { method: 'GET', headers });
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
      });
    }
  });

  it('401 session-invalid, one body for missing, malformed, unknown and revoked tokens', async () => {
    const h = await harness();
    const { sessionToken } = await login(h);
    const revoke = await call(api(h).session, {
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
      const response = await call(api(h).session, { method: 'GET', headers });
      expectProblem(response, 401, 'session-invalid');
      expect(response.headers['www-authenticate']).toBe('Bearer');
      bodies.add(JSON.stringify(response.body));
    }
    expect(bodies.size).toBe(1);
    const again = await call(api(h).session, { method: 'DELETE', headers: { 'X-OTP-Session': sessionToken } });
    expectProblem(again, 401, 'session-invalid');
  });

  it('405 for another method', async () => {
    const h = await harness();
    const response = await call(api(h).session, { method: 'POST', body: {} });
    expectProblem(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('GET, DELETE');
  });
});

describe('unexpected failures', () => {
  it('500 internal-error without the error message or a stack trace', async () => {
    const h = await harness();
    const broken = new Proxy(h.store, {
      get: () => async () => {
        throw new Error('database password is hunter2');
      },
    }) as OtpStore;
    const response = await call(createSendOtpHandler({ ...h.deps, store: broken }), { body: { target: PHONE } });
    expectProblem(response, 500, 'internal-error');
    expect(response.rawBody).not.toContain('hunter2');
  });
});
