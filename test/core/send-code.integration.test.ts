import { describe, expect, it } from 'vitest';
import { DeliveryFailedError, InvalidCodeError, RateLimitedError } from '../../functions/core/errors.js';
import { sendCode } from '../../functions/core/send-code.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { DAY_MS, HOUR_MS } from '../../functions/core/windows.js';
import { harness, PHONE, sendTo, storedCode } from '../support.js';

const NO_COOLDOWN = { OTP_RESEND_COOLDOWN_SECONDS: '0' };

describe('sendCode on DynamoDB Local', () => {
  it('replaces the previous code when a new one is sent for the same target and purpose', async () => {
    const h = await harness(NO_COOLDOWN);
    await sendTo(h);
    const old = h.sender.lastCode();
    await sendTo(h);
    const fresh = h.sender.lastCode();
    if (old !== fresh) {
      await expect(verifyCode(h.deps, { target: PHONE, code: old, purpose: 'login' })).rejects.toThrow(
        InvalidCodeError,
      );
    }
    await expect(verifyCode(h.deps, { target: PHONE, code: fresh, purpose: 'login' })).resolves.toBeDefined();
  });

  it('discards a code whose delivery failed', async () => {
    const h = await harness();
    h.sender.failWith = new Error('provider down');
    await expect(sendTo(h)).rejects.toThrow(DeliveryFailedError);
    expect(await storedCode(h)).toBeUndefined();
  });
});

describe('concurrent sends on DynamoDB Local', () => {
  it('20 parallel sends to one target accept exactly 5', async () => {
    const h = await harness(NO_COOLDOWN);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => sendTo(h)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect(r.reason).toBeInstanceOf(RateLimitedError);
    }
    expect(h.sender.sent).toHaveLength(5);
  });

  it('20 parallel sends with the cooldown on accept exactly 1', async () => {
    const h = await harness();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => sendTo(h)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('send limits', () => {
  it('enforces the resend cooldown with Retry-After', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '30' });
    h.clock.now = Date.UTC(2036, 0, 1, 10, 0, 0);
    await sendTo(h);
    h.clock.now += 10_000;
    const error = await sendTo(h).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ reason: 'cooldown', retryAfterSeconds: 20 });
    h.clock.now += 20_000;
    await expect(sendTo(h)).resolves.toBeDefined();
  });

  it('keeps the cooldown across midnight UTC', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '30' });
    h.clock.now = Date.UTC(2036, 0, 1, 23, 59, 50);
    await sendTo(h);
    h.clock.now = Date.UTC(2036, 0, 2, 0, 0, 5);
    const error = await sendTo(h).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ reason: 'cooldown', retryAfterSeconds: 15 });
  });

  it('enforces the hourly limit and opens again in the next hour', async () => {
    const h = await harness(NO_COOLDOWN);
    h.clock.now = Date.UTC(2036, 0, 1, 10, 30, 0);
    for (let i = 0; i < 5; i++) await sendTo(h);
    const error = await sendTo(h).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ reason: 'target-hourly', retryAfterSeconds: 30 * 60 });
    h.clock.now += HOUR_MS / 2;
    await expect(sendTo(h)).resolves.toBeDefined();
  });

  it('enforces the daily limit across hours, with Retry-After to the end of the day', async () => {
    const h = await harness(NO_COOLDOWN);
    const start = Date.UTC(2036, 0, 1, 0, 0, 0);
    for (let i = 0; i < 10; i++) {
      h.clock.now = start + Math.floor(i / 5) * HOUR_MS;
      await sendTo(h);
    }
    h.clock.now = start + 5 * HOUR_MS;
    const error = await sendTo(h).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ reason: 'target-daily', retryAfterSeconds: 19 * 3600 });
    h.clock.now = start + DAY_MS;
    await expect(sendTo(h)).resolves.toBeDefined();
  });

  it('counts sends per source IP across targets, and a refused send does not count', async () => {
    const h = await harness({ ...NO_COOLDOWN, OTP_SEND_LIMIT_PER_IP_PER_HOUR: '3', OTP_SEND_LIMIT_PER_HOUR: '1' });
    const ip = '198.51.100.1';
    await sendTo(h, 'a@example.com', { sourceIp: ip });
    // Refused by the target's hourly limit: must not use up the IP's allowance.
    await expect(sendTo(h, 'a@example.com', { sourceIp: ip })).rejects.toThrow(RateLimitedError);
    await sendTo(h, 'b@example.com', { sourceIp: ip });
    await sendTo(h, 'c@example.com', { sourceIp: ip });
    await expect(sendTo(h, 'd@example.com', { sourceIp: ip })).rejects.toMatchObject({
      reason: 'ip-hourly',
      message: expect.stringMatching(/network/),
    });
    await expect(sendTo(h, 'd@example.com', { sourceIp: '198.51.100.2' })).resolves.toBeDefined();
  });

  it('does not limit by IP when the limit is 0', async () => {
    const h = await harness({ ...NO_COOLDOWN, OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0' });
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) {
      await sendTo(h, `${name}@example.com`, { sourceIp: '198.51.100.9' });
    }
    expect(h.sender.sent).toHaveLength(6);
  });
});

describe('exact limits under concurrency', () => {
  it('a send refused for its target never holds a slot of the IP limit', async () => {
    const h = await harness({ OTP_SEND_LIMIT_PER_IP_PER_HOUR: '2' });
    const ip = '198.51.100.20';
    for (let round = 0; round < 10; round++) {
      // Each round in a new hour: one send puts a target in its cooldown and uses 1 of 2 IP slots.
      h.clock.now += HOUR_MS;
      await sendTo(h, `busy-${round}@example.com`, { sourceIp: ip });
      // Then, at once, a send the cooldown refuses and one to a fresh target: the fresh one must pass.
      const [refused, fresh] = await Promise.allSettled([
        sendTo(h, `busy-${round}@example.com`, { sourceIp: ip }),
        sendTo(h, `fresh-${round}@example.com`, { sourceIp: ip }),
      ]);
      expect(refused.status).toBe('rejected');
      expect(fresh.status).toBe('fulfilled');
    }
  });

  it('20 parallel sends from one IP to 20 targets accept exactly the IP limit', async () => {
    const h = await harness({ OTP_SEND_LIMIT_PER_IP_PER_HOUR: '5' });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => sendTo(h, `t${i}@example.com`, { sourceIp: '198.51.100.30' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  });

  it('two sends either side of midnight inside the cooldown: exactly one is accepted', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '30' });
    for (let round = 0; round < 10; round++) {
      const target = `midnight-${round}@example.com`;
      const beforeMidnight = { ...h.deps, now: () => Date.UTC(2036, 0, 1 + round, 23, 59, 50) };
      const afterMidnight = { ...h.deps, now: () => Date.UTC(2036, 0, 2 + round, 0, 0, 5) };
      const results = await Promise.allSettled([
        sendCode(beforeMidnight, { target, purpose: 'login' }),
        sendCode(afterMidnight, { target, purpose: 'login' }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    }
  });
});
