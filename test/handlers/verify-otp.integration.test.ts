import { describe, expect, it } from 'vitest';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, type Harness, harness, wrongCode } from '../support.js';

const PHONE = '+14155550123';

async function sendAndGetCode(h: Harness, target = PHONE): Promise<string> {
  const response = await call(createSendOtpHandler(h.deps), { body: { target } });
  expect(response.status).toBe(200);
  return response.body?.mockCode as string;
}

describe('POST /v1/otp/verify', () => {
  it('200 with session and identity; a new customer, then a known one', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const code = await sendAndGetCode(h, 'jane@example.com');
    const first = await call(createVerifyOtpHandler(h.deps), {
      body: { target: ' jane@EXAMPLE.com', code, name: 'Jane' },
    });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      success: true,
      verifiedTarget: 'jane@example.com',
      otpType: 'email',
      sessionToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
      expiresIn: 86_400,
      refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      refreshExpiresAt: expect.any(String),
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      accessExpiresIn: 900,
      tokenType: 'Bearer',
      isNew: true,
      identity: {
        id: expect.any(String),
        email: 'jane@example.com',
        phone: null,
        name: 'Jane',
        verified: true,
        verifiedAt: expect.any(String),
        trustLevel: 'verified',
        createdAt: first.body?.identity.verifiedAt,
        lastLoginAt: first.body?.identity.verifiedAt,
        loginCount: 1,
      },
    });
    expect(Date.parse(first.body?.expiresAt) - Date.parse(first.body?.identity.verifiedAt)).toBe(86_400_000);

    const again = await sendAndGetCode(h, 'jane@example.com');
    const second = await call(createVerifyOtpHandler(h.deps), {
      body: { target: 'jane@example.com', code: again, name: 'Other' },
    });
    expect(second.body).toMatchObject({
      isNew: false,
      identity: { id: first.body?.identity.id, name: 'Jane', createdAt: first.body?.identity.createdAt, loginCount: 2 },
    });
  });

  it('an alias stays as typed (lower-cased) in the answer and on the customer', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const code = await sendAndGetCode(h, 'Ada+Shop@Example.com');
    const response = await call(createVerifyOtpHandler(h.deps), { body: { target: 'ada+SHOP@example.com', code } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      verifiedTarget: 'ada+shop@example.com',
      isNew: true,
      identity: { email: 'ada+shop@example.com' },
    });
  });

  it('401 invalid-code: wrong, used and never-sent codes answer with the same body', async () => {
    const h = await harness();
    const code = await sendAndGetCode(h);
    const wrong = wrongCode(code);
    const bodies: unknown[] = [];
    for (const body of [
      { target: PHONE, code: wrong },
      { target: '+4915112345678', code },
      { target: PHONE, code, purpose: 'register' },
    ]) {
      const response = await call(createVerifyOtpHandler(h.deps), { body });
      expectProblem(response, 401, 'invalid-code');
      bodies.push(response.body);
    }
    expect((await call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code } })).status).toBe(200);
    const used = await call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code } });
    expectProblem(used, 401, 'invalid-code');
    bodies.push(used.body);
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
  });

  it('429 too-many-attempts once the attempts are used up', async () => {
    const h = await harness();
    const code = await sendAndGetCode(h);
    const wrong = wrongCode(code);
    for (let i = 0; i < 3; i++) await call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code: wrong } });
    expectProblem(
      await call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code } }),
      429,
      'too-many-attempts',
    );
  });

  it('429 too-many-attempts with Retry-After once the target has too many wrong codes', async () => {
    const h = await harness({ OTP_MAX_FAILURES_PER_TARGET: '2', OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const verify = createVerifyOtpHandler(h.deps);
    const code = await sendAndGetCode(h);
    expectProblem(await call(verify, { body: { target: PHONE, code: wrongCode(code) } }), 401, 'invalid-code');

    // Past half the cap: the code sent before is not compared; the answer says what to do.
    const soft = await call(verify, { body: { target: PHONE, code } });
    expectProblem(soft, 429, 'too-many-attempts');
    expect(soft.headers['retry-after']).toBe('86400');
    expect(soft.body).toMatchObject({ retryAfter: 86_400, reason: 'new-code-required' });
    expect(soft.body?.detail).toMatch(/send a new code and verify it with the otpToken/);

    // A new code tried with its otpToken is compared; wrong, it reaches the cap.
    const sent = await call(createSendOtpHandler(h.deps), { body: { target: PHONE } });
    const token = String(sent.body?.otpToken);
    const last = String(sent.body?.mockCode);
    expectProblem(await call(verify, { body: { otpToken: token, code: wrongCode(last) } }), 401, 'invalid-code');
    const locked = await call(verify, { body: { otpToken: token, code: last } });
    expectProblem(locked, 429, 'too-many-attempts');
    expect(locked.headers['retry-after']).toBe('86400');
    expect(locked.body?.retryAfter).toBe(86_400);
    expect(locked.body?.reason).toBeUndefined();
  });

  it('one customer for every spelling of a mailbox', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const verify = createVerifyOtpHandler(h.deps);
    const first = await call(verify, {
      body: { target: 'ada@example.com', code: await sendAndGetCode(h, 'Ada@Example.com') },
    });
    expect(first.body).toMatchObject({ isNew: true, verifiedTarget: 'ada@example.com' });
    const second = await call(verify, {
      body: { target: 'Ada@Example.com', code: await sendAndGetCode(h, ' ADA@EXAMPLE.COM ') },
    });
    expect(second.body).toMatchObject({
      isNew: false,
      identity: { id: first.body?.identity.id, email: 'ada@example.com' },
    });
  });

  it.each([
    ['NUL', 'Ada\u0000Lovelace'],
    ['a control character', 'Ada\u0007'],
    ['a line break', 'Ada\nLovelace'],
    ['a lone surrogate', 'Ada\ud800'],
    ['a right-to-left override', '\u202eecalevoL adA'],
    ['a bidi isolate', 'Ada\u2066x'],
  ])('400 validation-error for a name with %s, and nothing stored', async (_, name) => {
    const h = await harness();
    const code = await sendAndGetCode(h);
    const response = await call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code, name } });
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual([expect.objectContaining({ path: 'name' })]);
    // The code was not even tried: it still logs in.
    expect((await call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code } })).status).toBe(200);
  });

  it('stores a name trimmed, letters of any script kept', async () => {
    const h = await harness();
    const code = await sendAndGetCode(h);
    const response = await call(createVerifyOtpHandler(h.deps), {
      body: { target: PHONE, code, name: '  Zoë 日本  ' },
    });
    expect(response.body?.identity.name).toBe('Zoë 日本');
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
    const response = await call(createVerifyOtpHandler(h.deps), { body });
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });

  it('accepts codes of the configured length', async () => {
    const h = await harness({ OTP_CODE_LENGTH: '8' });
    const code = await sendAndGetCode(h);
    expect(code).toMatch(/^\d{8}$/);
    expect((await call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code } })).status).toBe(200);
  });
});
