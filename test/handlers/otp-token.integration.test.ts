import { describe, expect, it } from 'vitest';
import { addClient } from '../../functions/core/manage-clients.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, type Harness, harness, PHONE, storedCode, wrongCode } from '../support.js';

const EMAIL = 'jane.doe@example.com';
const OTHER_PHONE = '+4915112345678';

/** Sends a code through the handler; its code (dev mode) and otpToken. */
async function send(h: Harness, target: string, extra: { purpose?: string; apiKey?: string } = {}) {
  const response = await call(createSendOtpHandler(h.deps), {
    body: { target, ...(extra.purpose ? { purpose: extra.purpose } : {}) },
    headers: extra.apiKey ? { 'X-API-Key': extra.apiKey } : {},
  });
  expect(response.status).toBe(200);
  return { code: response.body?.mockCode as string, otpToken: response.body?.otpToken as string };
}

function verify(h: Harness, body: Record<string, unknown>, apiKey?: string) {
  return call(createVerifyOtpHandler(h.deps), { body, headers: apiKey ? { 'X-API-Key': apiKey } : {} });
}

const attemptsOf = async (h: Harness, target = PHONE, purpose: 'login' | 'register' = 'login') =>
  Number((await storedCode(h, target, purpose))?.attempts?.N);

/** The body of a wrong code for a target that has a live code: what every mismatch must look like. */
async function wrongCodeBody(h: Harness, apiKey?: string) {
  const { code } = await send(h, 'wrong.code@example.com', { apiKey });
  const response = await verify(h, { target: 'wrong.code@example.com', code: wrongCode(code) }, apiKey);
  expectProblem(response, 401, 'invalid-code');
  return response.body;
}

/** A client whose verify must carry the otpToken of the send. */
async function strictClient(h: Harness) {
  return (await addClient({ registry: h.registry, now: h.deps.now }, 'Token app', { requireOtpToken: true })).apiKey;
}

describe('otpToken: send returns it, verify accepts it', () => {
  it('send answers with an opaque otpToken', async () => {
    const h = await harness();
    const response = await call(createSendOtpHandler(h.deps), { body: { target: PHONE } });
    expect(response.status).toBe(200);
    expect(response.body?.otpToken).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(response.body?.otpToken).not.toContain('4155550123');
  });

  it('verify with the token alone: 200 for the target of the token', async () => {
    const h = await harness();
    const { code, otpToken } = await send(h, PHONE);
    const response = await verify(h, { otpToken, code });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ verifiedTarget: PHONE, otpType: 'sms', identity: { phone: PHONE } });
  });

  it('verify with the token and the same target in another spelling: 200', async () => {
    const h = await harness();
    const { code, otpToken } = await send(h, EMAIL);
    const response = await verify(h, { target: ' Jane.Doe@EXAMPLE.com ', otpToken, code });
    expect(response.status).toBe(200);
    expect(response.body?.verifiedTarget).toBe(EMAIL);
  });

  it('verify with the token of a register code, purpose left out: the purpose comes from the token', async () => {
    const h = await harness();
    const { code, otpToken } = await send(h, PHONE, { purpose: 'register' });
    const response = await verify(h, { otpToken, code });
    expect(response.status).toBe(200);
    expect(await storedCode(h, PHONE, 'register')).toBeUndefined();
  });

  it('verify with the token and another target: 401 invalid-code, and the code still verifies for its own target', async () => {
    const h = await harness();
    const { code, otpToken } = await send(h, PHONE);
    const mismatch = await verify(h, { target: OTHER_PHONE, otpToken, code });
    expectProblem(mismatch, 401, 'invalid-code');
    expect(mismatch.body).toEqual(await wrongCodeBody(h));
    expect(await attemptsOf(h)).toBe(0);
    expect((await verify(h, { target: PHONE, code })).status).toBe(200);
  });

  it('a token of a replaced code: 401, and the live code keeps all its attempts', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const first = await send(h, PHONE);
    const live = await send(h, PHONE);
    for (let i = 0; i < 3; i++) {
      expectProblem(await verify(h, { otpToken: first.otpToken, code: live.code }), 401, 'invalid-code');
    }
    expect(await attemptsOf(h)).toBe(0);
    const response = await verify(h, { otpToken: live.otpToken, code: live.code });
    expect(response.status).toBe(200);
  });

  it('a tampered token: 401 with the same body as a wrong code, and no attempt spent', async () => {
    const h = await harness();
    const { code, otpToken } = await send(h, PHONE);
    const tampered = `${otpToken.slice(0, 20)}${otpToken[20] === 'A' ? 'B' : 'A'}${otpToken.slice(21)}`;
    const response = await verify(h, { otpToken: tampered, code });
    expectProblem(response, 401, 'invalid-code');
    expect(response.body).toEqual(await wrongCodeBody(h));
    expect(await attemptsOf(h)).toBe(0);
  });

  it('a token with another purpose than its own: 401, and the code still verifies under its purpose', async () => {
    const h = await harness();
    const { code, otpToken } = await send(h, PHONE);
    const response = await verify(h, { otpToken, code, purpose: 'register' });
    expectProblem(response, 401, 'invalid-code');
    expect(response.body).toEqual(await wrongCodeBody(h));
    expect((await verify(h, { otpToken, code, purpose: 'login' })).status).toBe(200);
  });

  it('a token longer than any this service issues: 400 validation-error', async () => {
    const h = await harness();
    const response = await verify(h, { otpToken: 'A'.repeat(600), code: '123456' });
    expectProblem(response, 400, 'validation-error');
  });

  it('neither target nor token: 400 validation-error', async () => {
    const h = await harness();
    expectProblem(await verify(h, { code: '123456' }), 400, 'validation-error');
  });
});

describe('otpToken: a client with requireOtpToken', () => {
  it('verify without the token: 401 with exactly the body of a wrong code, and no attempt spent', async () => {
    const h = await harness();
    const apiKey = await strictClient(h);
    const { code } = await send(h, PHONE, { apiKey });
    const response = await verify(h, { target: PHONE, code }, apiKey);
    expectProblem(response, 401, 'invalid-code');
    expect(response.body).toEqual(await wrongCodeBody(h, apiKey));
    expect(await attemptsOf(h)).toBe(0);
  });

  it('verify with the token: 200', async () => {
    const h = await harness();
    const apiKey = await strictClient(h);
    const { code, otpToken } = await send(h, PHONE, { apiKey });
    const response = await verify(h, { target: PHONE, otpToken, code }, apiKey);
    expect(response.status).toBe(200);
    expect(response.body?.verifiedTarget).toBe(PHONE);
  });

  it('verify with the token alone: 200', async () => {
    const h = await harness();
    const apiKey = await strictClient(h);
    const { code, otpToken } = await send(h, PHONE, { apiKey });
    expect((await verify(h, { otpToken, code }, apiKey)).status).toBe(200);
  });

  it("verify with the token of another target's code: 401, and neither code loses an attempt", async () => {
    const h = await harness();
    const apiKey = await strictClient(h);
    const mine = await send(h, PHONE, { apiKey });
    const theirs = await send(h, OTHER_PHONE, { apiKey });
    const response = await verify(h, { target: PHONE, otpToken: theirs.otpToken, code: mine.code }, apiKey);
    expectProblem(response, 401, 'invalid-code');
    expect(response.body).toEqual(await wrongCodeBody(h, apiKey));
    expect(await attemptsOf(h, PHONE)).toBe(0);
    expect(await attemptsOf(h, OTHER_PHONE)).toBe(0);
    expect((await verify(h, { otpToken: mine.otpToken, code: mine.code }, apiKey)).status).toBe(200);
  });

  it('verify with neither target nor token: 400 validation-error', async () => {
    const h = await harness();
    const apiKey = await strictClient(h);
    expectProblem(await verify(h, { code: '123456' }, apiKey), 400, 'validation-error');
  });

  it('does not bind other callers: without its key, a target alone still verifies', async () => {
    const h = await harness();
    await strictClient(h);
    const { code } = await send(h, PHONE);
    expect((await verify(h, { target: PHONE, code })).status).toBe(200);
  });
});
