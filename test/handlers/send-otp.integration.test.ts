import { describe, expect, it } from 'vitest';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { call, expectProblem, harness } from '../support.js';

const PHONE = '+14155550123';

describe('POST /v1/otp/send', () => {
  it('200 with the documented shape, mockCode in dev mode', async () => {
    const h = await harness();
    const response = await call(createSendOtpHandler(h.deps), { body: { target: PHONE } });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual({
      success: true,
      otpType: 'sms',
      expiresIn: 300,
      resendAfter: 30,
      message: 'A code was sent by SMS.',
      otpToken: expect.stringMatching(/^[A-Za-z0-9_-]{60,}$/),
      mockCode: h.sender.sent[0]?.code,
    });
    expect(response.body?.mockCode).toMatch(/^\d{6}$/);
  });

  it('200 by e-mail, and no mockCode outside dev mode', async () => {
    const h = await harness({ OTP_DEV_MODE: 'false' });
    const response = await call(createSendOtpHandler(h.deps), {
      body: { target: 'Jane@Example.com', channel: 'email' },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ otpType: 'email', message: 'A code was sent by e-mail.' });
    expect(response.body).not.toHaveProperty('mockCode');
    expect(h.sender.sent[0]?.to).toBe('jane@example.com');
  });

  it.each([
    [{ target: 'not-a-target' }],
    [{ target: '+1415' }],
    [{ target: PHONE, channel: 'email' }],
    [{ target: 'jane@example.com', channel: 'sms' }],
  ])('400 invalid-target for %j', async (body) => {
    const h = await harness();
    expectProblem(await call(createSendOtpHandler(h.deps), { body }), 400, 'invalid-target');
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
    const response = await call(createSendOtpHandler(h.deps), { body });
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });

  it('400 validation-error for an empty body', async () => {
    const h = await harness();
    expectProblem(await call(createSendOtpHandler(h.deps), {}), 400, 'validation-error');
  });

  it('400 malformed-json for a body that is not JSON', async () => {
    const h = await harness();
    expectProblem(await call(createSendOtpHandler(h.deps), { rawBody: '{"target": ' }), 400, 'malformed-json');
  });

  it('413 for a body over 8 KiB, 200 just under it', async () => {
    const h = await harness();
    const over = JSON.stringify({ target: PHONE, pad: 'x'.repeat(8192) });
    expectProblem(await call(createSendOtpHandler(h.deps), { rawBody: over }), 413, 'payload-too-large');
    const under = JSON.stringify({ target: PHONE, pad: 'x'.repeat(8000) });
    expect((await call(createSendOtpHandler(h.deps), { rawBody: under })).status).toBe(200);
  });

  it('415 for another content type', async () => {
    const h = await harness();
    const response = await call(createSendOtpHandler(h.deps), {
      rawBody: `target=${PHONE}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(response, 415, 'unsupported-media-type');
  });

  it('405 with Allow for another method', async () => {
    const h = await harness();
    const response = await call(createSendOtpHandler(h.deps), { method: 'GET' });
    expectProblem(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('POST');
  });

  it('403 channel-not-allowed for a country outside the allow-list', async () => {
    const h = await harness({ OTP_SMS_ALLOWED_COUNTRIES: 'DE' });
    expectProblem(await call(createSendOtpHandler(h.deps), { body: { target: PHONE } }), 403, 'channel-not-allowed');
    expect((await call(createSendOtpHandler(h.deps), { body: { target: '+4915112345678' } })).status).toBe(200);
  });

  it('403 channel-not-allowed for a channel switched off', async () => {
    const h = await harness({ OTP_ALLOWED_CHANNELS: 'email' });
    expectProblem(await call(createSendOtpHandler(h.deps), { body: { target: PHONE } }), 403, 'channel-not-allowed');
  });

  it('429 rate-limited with Retry-After, and the reason and retryAfter members', async () => {
    const h = await harness();
    await call(createSendOtpHandler(h.deps), { body: { target: PHONE } });
    const response = await call(createSendOtpHandler(h.deps), { body: { target: PHONE } });
    expectProblem(response, 429, 'rate-limited');
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(response.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(response.body).toMatchObject({ reason: 'cooldown', retryAfter: Number(response.headers['retry-after']) });
  });

  it('one mailbox is one target whatever its case: a burst of 8 spellings gets exactly 1 code', async () => {
    const h = await harness();
    const send = createSendOtpHandler(h.deps);
    const spellings = ['Ada@Example.com', 'ada@example.com', ' ADA@EXAMPLE.COM ', 'aDa@example.COM'];
    const responses = await Promise.all(
      [...spellings, ...spellings].map((target) => call(send, { body: { target }, sourceIp: '198.51.100.60' })),
    );
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    for (const response of responses.filter((r) => r.status !== 200)) {
      expectProblem(response, 429, 'rate-limited');
    }
    expect(h.sender.sent.map((message) => message.to)).toEqual(['ada@example.com']);
  });

  it('aliases of one mailbox share its limits: 429 cooldown for ada+2 right after ada+1, sent as typed', async () => {
    const h = await harness();
    const send = createSendOtpHandler(h.deps);
    expect((await call(send, { body: { target: 'Ada+1@X.com' } })).status).toBe(200);
    const response = await call(send, { body: { target: 'ada+2@x.com' } });
    expectProblem(response, 429, 'rate-limited');
    expect(response.body).toMatchObject({ reason: 'cooldown' });
    expect(h.sender.sent.map((message) => message.to)).toEqual(['ada+1@x.com']);
  });

  it.each([
    ['+979123456789', 'premium rate'],
    ['+883140000000', 'VoIP'],
    ['+80012345678', 'international toll-free'],
    ['+881631234567', 'satellite'],
  ])('400 invalid-target for %s (%s) with no country allow-list, and nothing sent', async (target) => {
    const h = await harness();
    expectProblem(await call(createSendOtpHandler(h.deps), { body: { target } }), 400, 'invalid-target');
    expect(h.sender.sent).toHaveLength(0);
  });

  it.each(['en US', 'en_US', 'x'.repeat(9), ''])('400 validation-error for the locale %j', async (locale) => {
    const h = await harness();
    const response = await call(createSendOtpHandler(h.deps), { body: { target: PHONE, locale } });
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual([expect.objectContaining({ path: 'locale' })]);
  });

  it('accepts a BCP 47 locale', async () => {
    const h = await harness();
    expect((await call(createSendOtpHandler(h.deps), { body: { target: PHONE, locale: 'pt-BR' } })).status).toBe(200);
  });

  it('502 delivery-failed when the provider refuses, and the code is not usable', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    h.sender.failWith = new Error('provider down');
    const response = await call(createSendOtpHandler(h.deps), { body: { target: PHONE } });
    expectProblem(response, 502, 'delivery-failed');
    expect(response.body).not.toHaveProperty('mockCode');
  });

  it('500 internal-error without the error message or a stack trace', async () => {
    const h = await harness();
    const broken = new Proxy(h.store, {
      get: () => async () => {
        throw new Error('database password is hunter2');
      },
    });
    const response = await call(createSendOtpHandler({ ...h.deps, store: broken }), { body: { target: PHONE } });
    expectProblem(response, 500, 'internal-error');
    expect(response.rawBody).not.toContain('hunter2');
  });
});
