import { describe, expect, it } from 'vitest';
import type { ClientPolicy } from '../../functions/core/client-policy.js';
import { CLIENT_CACHE_MS } from '../../functions/core/clients.js';
import { addClient, type ManageDeps, updatePolicy } from '../../functions/core/manage-clients.js';
import { createPolicyHandler } from '../../functions/handlers/policy.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, type Harness, harness, PHONE, wrongCode } from '../support.js';

/**
 * A client's policy on the real handlers over DynamoDB Local: each field applies to that client's
 * calls only, narrows but never widens what the deployment allows, and decides which actions need an
 * OTP (GET /v1/otp/policy, GET /v1/session?action=).
 */

/** A German mobile number. */
const DE_PHONE = '+4915123456789';

const manage = (h: Harness): ManageDeps => ({ registry: h.registry, now: () => h.clock.now });

/** A client with `policy`, created as `npm run clients -- add` does; its calls carry its key. */
async function clientWith(h: Harness, policy: ClientPolicy, name = 'Policy app') {
  const client = await addClient(manage(h), name, policy);
  return { ...client, headers: { 'X-API-Key': client.apiKey } as Record<string, string> };
}

type Headers = Record<string, string>;

/** The handlers of one warm container each, shared by every call of a test. */
function handlers(h: Harness) {
  const send = createSendOtpHandler(h.deps);
  const verify = createVerifyOtpHandler(h.deps);
  const session = createSessionHandler(h.deps);
  const policy = createPolicyHandler(h.deps);
  return {
    send: (headers: Headers, body: Record<string, unknown>) => call(send, { body, headers }),
    verify: (headers: Headers, body: Record<string, unknown>) => call(verify, { body, headers }),
    session: (headers: Headers, token: string, query?: Record<string, string>) =>
      call(session, { method: 'GET', headers: { ...headers, Authorization: `Bearer ${token}` }, query }),
    policy: (headers: Headers, query: Record<string, string>) => call(policy, { method: 'GET', headers, query }),
    /** Send and verify; the verify's answer. */
    async login(headers: Headers, target: string) {
      const sent = await call(send, { body: { target }, headers });
      expect(sent.status).toBe(200);
      const verified = await call(verify, { body: { target, code: sent.body?.mockCode as string }, headers });
      expect(verified.status).toBe(200);
      return verified;
    },
  };
}

const SECOND = 1000;

describe('a client policy on send and verify', () => {
  it('codeLength 8: the code has 8 digits, 6 digits are a validation error naming code, the 8 verify', async () => {
    const h = await harness();
    const app = await clientWith(h, { codeLength: 8 });
    const api = handlers(h);
    const sent = await api.send(app.headers, { target: PHONE });
    expect(sent.status).toBe(200);
    const code = sent.body?.mockCode as string;
    expect(code).toMatch(/^\d{8}$/);
    expect(h.sender.lastCode()).toBe(code);

    const short = await api.verify(app.headers, { target: PHONE, code: code.slice(0, 6) });
    expectProblem(short, 400, 'validation-error');
    expect(short.body?.errors).toEqual([expect.objectContaining({ path: 'code' })]);
    expect(short.body?.errors[0].message).toContain('8');

    const verified = await api.verify(app.headers, { target: PHONE, code });
    expect(verified.status).toBe(200);
    expect(verified.body?.verifiedTarget).toBe(PHONE);
  });

  it('codeTtlSeconds: expiresIn says it, the code verifies just before and is invalid-code once that many seconds passed', async () => {
    const h = await harness();
    const app = await clientWith(h, { codeTtlSeconds: 45 });
    const api = handlers(h);
    const early = await api.send(app.headers, { target: 'early@example.com' });
    const late = await api.send(app.headers, { target: 'late@example.com' });
    for (const sent of [early, late]) {
      expect(sent.status).toBe(200);
      expect(sent.body?.expiresIn).toBe(45);
    }
    h.clock.now += 44 * SECOND;
    const inTime = await api.verify(app.headers, { target: 'early@example.com', code: early.body?.mockCode });
    expect(inTime.status).toBe(200);
    h.clock.now += 1 * SECOND;
    expectProblem(
      await api.verify(app.headers, { target: 'late@example.com', code: late.body?.mockCode }),
      401,
      'invalid-code',
    );
  });

  it('maxAttempts 1: after one wrong guess, even the right code is 429 too-many-attempts', async () => {
    const h = await harness();
    const app = await clientWith(h, { maxAttempts: 1 });
    const api = handlers(h);
    const code = (await api.send(app.headers, { target: PHONE })).body?.mockCode as string;
    expectProblem(await api.verify(app.headers, { target: PHONE, code: wrongCode(code) }), 401, 'invalid-code');
    expectProblem(await api.verify(app.headers, { target: PHONE, code }), 429, 'too-many-attempts');
  });

  it('sendLimitPerHour 2 with resendCooldownSeconds 0: the third send in the hour is 429 target-hourly', async () => {
    const h = await harness();
    const app = await clientWith(h, { sendLimitPerHour: 2, resendCooldownSeconds: 0 });
    const api = handlers(h);
    for (let i = 0; i < 2; i++) {
      const sent = await api.send(app.headers, { target: PHONE });
      expect(sent.status).toBe(200);
      expect(sent.body?.resendAfter).toBe(0);
    }
    const third = await api.send(app.headers, { target: PHONE });
    expectProblem(third, 429, 'rate-limited');
    expect(third.body?.reason).toBe('target-hourly');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    expect(h.sender.sent).toHaveLength(2);
  });

  it('resendCooldownSeconds: resendAfter says it, a send within it is 429 cooldown, after it 200', async () => {
    const h = await harness();
    const app = await clientWith(h, { resendCooldownSeconds: 90 });
    const api = handlers(h);
    const first = await api.send(app.headers, { target: PHONE });
    expect(first.status).toBe(200);
    expect(first.body?.resendAfter).toBe(90);

    // Past the deployment's 30 s, still within the client's 90 s.
    h.clock.now += 60 * SECOND;
    const early = await api.send(app.headers, { target: PHONE });
    expectProblem(early, 429, 'rate-limited');
    expect(early.body?.reason).toBe('cooldown');
    expect(Number(early.headers['retry-after'])).toBe(30);

    h.clock.now += 30 * SECOND;
    expect((await api.send(app.headers, { target: PHONE })).status).toBe(200);
  });

  it("channels ['email']: SMS is 403 channel-not-allowed, e-mail is 200", async () => {
    const h = await harness();
    const app = await clientWith(h, { channels: ['email'] });
    const api = handlers(h);
    expectProblem(await api.send(app.headers, { target: PHONE }), 403, 'channel-not-allowed');
    const email = await api.send(app.headers, { target: 'jane@example.com' });
    expect(email.status).toBe(200);
    expect(email.body?.otpType).toBe('email');
    expect(h.sender.sent.map((message) => message.channel)).toEqual(['email']);
  });

  it('a policy cannot open a channel the deployment closed', async () => {
    const h = await harness({ OTP_ALLOWED_CHANNELS: 'email' });
    const app = await clientWith(h, { channels: ['sms', 'email'] });
    const api = handlers(h);
    expectProblem(await api.send(app.headers, { target: PHONE }), 403, 'channel-not-allowed');
    expect((await api.send(app.headers, { target: 'jane@example.com' })).status).toBe(200);
    expect(h.sender.sent.map((message) => message.channel)).toEqual(['email']);
  });

  it('a policy cannot open an SMS country the deployment closed', async () => {
    const h = await harness({ OTP_SMS_ALLOWED_COUNTRIES: 'US' });
    const app = await clientWith(h, { smsCountries: ['US', 'DE'] });
    const api = handlers(h);
    expectProblem(await api.send(app.headers, { target: DE_PHONE }), 403, 'channel-not-allowed');
    expect((await api.send(app.headers, { target: PHONE })).status).toBe(200);
    expect(h.sender.sent.map((message) => message.to)).toEqual([PHONE]);
  });

  it("a policy narrows the deployment's SMS countries: smsCountries ['DE'] under US closes US", async () => {
    const h = await harness({ OTP_SMS_ALLOWED_COUNTRIES: 'US' });
    const app = await clientWith(h, { smsCountries: ['DE'] });
    const api = handlers(h);
    expectProblem(await api.send(app.headers, { target: PHONE }), 403, 'channel-not-allowed');
    expectProblem(await api.send(app.headers, { target: DE_PHONE }), 403, 'channel-not-allowed');
    // E-mail is not concerned.
    expect((await api.send(app.headers, { target: 'jane@example.com' })).status).toBe(200);
    // Anonymous calls keep the deployment's US.
    expect((await api.send({}, { target: PHONE })).status).toBe(200);
  });

  it("sessionTtlSeconds: verify's expiresIn and expiresAt and the session's expiresAt follow it", async () => {
    const h = await harness();
    const app = await clientWith(h, { sessionTtlSeconds: 600 });
    const api = handlers(h);
    const verifiedAt = h.clock.now;
    const verified = await api.login(app.headers, PHONE);
    const expiresAt = new Date(verifiedAt + 600 * SECOND).toISOString();
    expect(verified.body).toMatchObject({ expiresIn: 600, expiresAt });
    const token = verified.body?.sessionToken as string;

    const session = await api.session(app.headers, token);
    expect(session.status).toBe(200);
    expect(session.body?.expiresAt).toBe(expiresAt);
    expect(session.body?.issuedAt).toBe(new Date(verifiedAt).toISOString());

    h.clock.now += 599 * SECOND;
    expect((await api.session(app.headers, token)).status).toBe(200);
    h.clock.now += 1 * SECOND;
    expectProblem(await api.session(app.headers, token), 401, 'session-invalid');
  });

  it('two clients with different policies on one handler instance do not leak into each other or into anonymous calls', async () => {
    const h = await harness({ OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0' });
    const eight = await clientWith(h, { codeLength: 8, codeTtlSeconds: 120, resendCooldownSeconds: 5 }, 'Eight');
    const ten = await clientWith(
      h,
      { codeLength: 10, codeTtlSeconds: 30, resendCooldownSeconds: 0, sessionTtlSeconds: 3600, channels: ['email'] },
      'Ten',
    );
    const api = handlers(h);
    const callers = [
      { name: 'eight', headers: eight.headers, digits: 8, expiresIn: 120, resendAfter: 5, sessionTtl: 86_400 },
      { name: 'ten', headers: ten.headers, digits: 10, expiresIn: 30, resendAfter: 0, sessionTtl: 3600 },
      { name: 'anonymous', headers: {}, digits: 6, expiresIn: 300, resendAfter: 30, sessionTtl: 86_400 },
    ];

    // Interleaved and concurrent, on the same send and verify instances.
    for (let round = 0; round < 2; round++) {
      const sends = await Promise.all(
        callers.map((caller) =>
          api
            .send(caller.headers, { target: `${caller.name}-${round}@example.com` })
            .then((sent) => ({ caller, sent })),
        ),
      );
      for (const { caller, sent } of sends) {
        expect({ caller: caller.name, status: sent.status }).toEqual({ caller: caller.name, status: 200 });
        expect({ caller: caller.name, ...sent.body }).toMatchObject({
          caller: caller.name,
          expiresIn: caller.expiresIn,
          resendAfter: caller.resendAfter,
          mockCode: expect.stringMatching(new RegExp(`^\\d{${caller.digits}}$`)),
        });
      }
      const verifies = await Promise.all(
        sends.map(({ caller, sent }) =>
          api
            .verify(caller.headers, { target: `${caller.name}-${round}@example.com`, code: sent.body?.mockCode })
            .then((verified) => ({ caller, verified })),
        ),
      );
      for (const { caller, verified } of verifies) {
        expect({ caller: caller.name, status: verified.status }).toEqual({ caller: caller.name, status: 200 });
        expect({ caller: caller.name, expiresIn: verified.body?.expiresIn }).toEqual({
          caller: caller.name,
          expiresIn: caller.sessionTtl,
        });
      }
    }
    // Only `ten` closed SMS.
    expectProblem(await api.send(ten.headers, { target: PHONE }), 403, 'channel-not-allowed');
    expect((await api.send(eight.headers, { target: PHONE })).status).toBe(200);
    expect((await api.send({}, { target: '+14155550124' })).status).toBe(200);
  });
  it('a policy updated with npm run clients applies within the cache minute', async () => {
    const h = await harness();
    const app = await clientWith(h, { codeLength: 8 });
    const api = handlers(h);
    expect((await api.send(app.headers, { target: 'before@example.com' })).body?.mockCode).toMatch(/^\d{8}$/);
    await updatePolicy(manage(h), app.clientId, { codeLength: 10, resendCooldownSeconds: 0 });
    h.clock.now += CLIENT_CACHE_MS + 1;
    const after = await api.send(app.headers, { target: 'after@example.com' });
    expect(after.body).toMatchObject({ resendAfter: 0, mockCode: expect.stringMatching(/^\d{10}$/) });
    expect((await api.verify(app.headers, { target: 'after@example.com', code: after.body?.mockCode })).status).toBe(
      200,
    );
  });
});

describe('GET /v1/otp/policy?action=', () => {
  it('strict (the default): an OTP is required for any action', async () => {
    const h = await harness();
    const app = await clientWith(h, {});
    const explicit = await clientWith(h, { trust: 'strict' }, 'Explicit');
    const api = handlers(h);
    for (const caller of [app, explicit]) {
      for (const action of ['enroll', 'redeem', 'coupon', 'a.b_c-9']) {
        const response = await api.policy(caller.headers, { action });
        expect(response.status).toBe(200);
        expect(response.body).toEqual({
          success: true,
          clientId: caller.clientId,
          action,
          otpRequired: true,
          stepUpSeconds: 1800,
        });
      }
    }
  });

  it('relaxed: enroll needs no OTP, redeem does', async () => {
    const h = await harness();
    const app = await clientWith(h, { trust: 'relaxed' });
    const api = handlers(h);
    expect((await api.policy(app.headers, { action: 'enroll' })).body).toMatchObject({
      clientId: app.clientId,
      action: 'enroll',
      otpRequired: false,
    });
    expect((await api.policy(app.headers, { action: 'redeem' })).body).toMatchObject({
      action: 'redeem',
      otpRequired: true,
    });
  });

  it("relaxed with otpOptional ['coupon']: enroll needs an OTP again, coupon does not", async () => {
    const h = await harness();
    const app = await clientWith(h, { trust: 'relaxed', otpOptional: ['coupon'] });
    const api = handlers(h);
    expect((await api.policy(app.headers, { action: 'enroll' })).body?.otpRequired).toBe(true);
    expect((await api.policy(app.headers, { action: 'coupon' })).body?.otpRequired).toBe(false);
    expect((await api.policy(app.headers, { action: 'redeem' })).body?.otpRequired).toBe(true);
  });

  it("trusted: no action needs an OTP, but otpRequiredFor ['redeem'] makes redeem need one", async () => {
    const h = await harness();
    const trusted = await clientWith(h, { trust: 'trusted' }, 'Trusted');
    const guarded = await clientWith(h, { trust: 'trusted', otpRequiredFor: ['redeem'] }, 'Guarded');
    const api = handlers(h);
    for (const action of ['enroll', 'redeem', 'coupon']) {
      expect((await api.policy(trusted.headers, { action })).body?.otpRequired).toBe(false);
    }
    expect((await api.policy(guarded.headers, { action: 'redeem' })).body?.otpRequired).toBe(true);
    expect((await api.policy(guarded.headers, { action: 'enroll' })).body?.otpRequired).toBe(false);
  });

  it("stepUpSeconds is the client's stepUpTtlSeconds, or the deployment's", async () => {
    const h = await harness();
    const own = await clientWith(h, { stepUpTtlSeconds: 120 }, 'Own');
    const plain = await clientWith(h, {}, 'Plain');
    const api = handlers(h);
    expect((await api.policy(own.headers, { action: 'redeem' })).body?.stepUpSeconds).toBe(120);
    expect((await api.policy(plain.headers, { action: 'redeem' })).body?.stepUpSeconds).toBe(1800);
    const deployment = await harness({ OTP_STEP_UP_TTL_SECONDS: '600' });
    const other = await clientWith(deployment, {}, 'Deployment');
    expect((await handlers(deployment).policy(other.headers, { action: 'redeem' })).body?.stepUpSeconds).toBe(600);
  });

  it('an anonymous caller (keys optional) gets clientId null and the strict answer', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    const api = handlers(h);
    for (const action of ['enroll', 'redeem']) {
      expect((await api.policy({}, { action })).body).toEqual({
        success: true,
        clientId: null,
        action,
        otpRequired: true,
        stepUpSeconds: 1800,
      });
    }
  });

  it.each([
    ['missing', {}],
    ['empty', { action: '' }],
    ['Action!', { action: 'Action!' }],
    ['upper case', { action: 'Redeem' }],
    ['65 characters', { action: 'a'.repeat(65) }],
    ['a space', { action: 'red eem' }],
  ])('an action that is %s is 400 validation-error with path action', async (_case, query) => {
    const h = await harness();
    const app = await clientWith(h, {});
    const response = await handlers(h).policy(app.headers, query);
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual([expect.objectContaining({ path: 'action' })]);
  });

  it('an action of 64 characters is accepted', async () => {
    const h = await harness();
    const app = await clientWith(h, {});
    const action = 'a'.repeat(64);
    const response = await handlers(h).policy(app.headers, { action });
    expect(response.status).toBe(200);
    expect(response.body?.action).toBe(action);
  });
});

describe('GET /v1/session?action=', () => {
  it('a fresh session: 200 with the action and whether it needs an OTP', async () => {
    const h = await harness();
    const app = await clientWith(h, { trust: 'relaxed' });
    const api = handlers(h);
    const token = (await api.login(app.headers, PHONE)).body?.sessionToken as string;
    const redeem = await api.session(app.headers, token, { action: 'redeem' });
    expect(redeem.status).toBe(200);
    expect(redeem.body).toMatchObject({
      success: true,
      valid: true,
      target: PHONE,
      clientId: app.clientId,
      action: 'redeem',
      otpRequired: true,
    });
    const enroll = await api.session(app.headers, token, { action: 'enroll' });
    expect(enroll.status).toBe(200);
    expect(enroll.body).toMatchObject({ action: 'enroll', otpRequired: false });
    // Without ?action= the answer has neither member.
    const plain = await api.session(app.headers, token);
    expect(plain.status).toBe(200);
    expect(plain.body).not.toHaveProperty('action');
    expect(plain.body).not.toHaveProperty('otpRequired');
  });

  it("after the client's step-up window: 403 otp-required for a required action, 200 for an optional one, session still valid", async () => {
    const h = await harness();
    const app = await clientWith(h, { trust: 'relaxed', stepUpTtlSeconds: 60 });
    const api = handlers(h);
    const token = (await api.login(app.headers, PHONE)).body?.sessionToken as string;

    // The window's last instant still counts as fresh.
    h.clock.now += 60 * SECOND;
    expect((await api.session(app.headers, token, { action: 'redeem' })).status).toBe(200);

    h.clock.now += 1;
    const required = await api.session(app.headers, token, { action: 'redeem' });
    expectProblem(required, 403, 'otp-required');
    expect(required.body?.detail).toContain('redeem');
    const optional = await api.session(app.headers, token, { action: 'enroll' });
    expect(optional.status).toBe(200);
    expect(optional.body).toMatchObject({ valid: true, action: 'enroll', otpRequired: false });
    expect((await api.session(app.headers, token)).status).toBe(200);
  });

  it("the window is the deployment's step-up lifetime for a client without stepUpTtlSeconds", async () => {
    const h = await harness();
    const app = await clientWith(h, {});
    const api = handlers(h);
    const token = (await api.login(app.headers, PHONE)).body?.sessionToken as string;
    h.clock.now += 1800 * SECOND;
    expect((await api.session(app.headers, token, { action: 'redeem' })).status).toBe(200);
    h.clock.now += 1;
    expectProblem(await api.session(app.headers, token, { action: 'redeem' }), 403, 'otp-required');
  });

  it('the session records the client that verified, whoever asks about it; the policy applied is the caller’s', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    const verifier = await clientWith(h, { trust: 'strict' }, 'Verifier');
    const other = await clientWith(h, { trust: 'trusted' }, 'Other');
    const api = handlers(h);
    const token = (await api.login(verifier.headers, PHONE)).body?.sessionToken as string;
    for (const headers of [verifier.headers, other.headers, {}]) {
      const response = await api.session(headers, token);
      expect(response.status).toBe(200);
      expect(response.body?.clientId).toBe(verifier.clientId);
    }
    expect((await api.session(verifier.headers, token, { action: 'redeem' })).body?.otpRequired).toBe(true);
    expect((await api.session(other.headers, token, { action: 'redeem' })).body?.otpRequired).toBe(false);

    const anonymousToken = (await api.login({}, 'anonymous@example.com')).body?.sessionToken as string;
    expect((await api.session(verifier.headers, anonymousToken)).body?.clientId).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['Action!', 'Action!'],
    ['65 characters', 'a'.repeat(65)],
  ])('an action that is %s is 400 validation-error with path action', async (_case, action) => {
    const h = await harness();
    const app = await clientWith(h, {});
    const api = handlers(h);
    const token = (await api.login(app.headers, PHONE)).body?.sessionToken as string;
    const response = await api.session(app.headers, token, { action });
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual([expect.objectContaining({ path: 'action' })]);
  });
});
