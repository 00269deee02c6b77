import { describe, expect, it } from 'vitest';
import { opaqueKey } from '../../functions/core/codes.js';
import { InvalidCodeError, RateLimitedError, TargetLockedError } from '../../functions/core/errors.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { HOUR_MS } from '../../functions/core/windows.js';
import { type Harness, harness, PEPPER, PHONE, sendTo, storedCode, wrongCode } from '../support.js';

const NO_COOLDOWN = { OTP_RESEND_COOLDOWN_SECONDS: '0' };
const alias = (n: number) => `ada+${n}@x.com`;

async function refusal(send: Promise<unknown>): Promise<unknown> {
  const error = await send.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RateLimitedError);
  return error;
}

describe('send limits per mailbox (aliases with +)', () => {
  it('a send to ada+2 right after ada+1 answers 429 cooldown', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '30' });
    h.clock.now = Date.UTC(2036, 0, 1, 10, 0, 0);
    await sendTo(h, alias(1));
    h.clock.now += 10_000;
    expect(await refusal(sendTo(h, alias(2)))).toMatchObject({ reason: 'cooldown', retryAfterSeconds: 20 });
    expect(await refusal(sendTo(h, 'ada@x.com'))).toMatchObject({ reason: 'cooldown' });
    // Another mailbox of the same domain is not affected.
    await expect(sendTo(h, 'bob+1@x.com')).resolves.toBeDefined();
  });

  it('aliases share the hourly and the daily limit of their mailbox', async () => {
    const h = await harness(NO_COOLDOWN);
    h.clock.now = Date.UTC(2036, 0, 1, 10, 0, 0);
    for (let i = 1; i <= 5; i++) await sendTo(h, alias(i));
    expect(await refusal(sendTo(h, alias(6)))).toMatchObject({ reason: 'target-hourly' });
    expect(await refusal(sendTo(h, 'ADA@x.com'))).toMatchObject({ reason: 'target-hourly' });
    h.clock.now += HOUR_MS;
    for (let i = 6; i <= 10; i++) await sendTo(h, alias(i));
    h.clock.now += HOUR_MS;
    expect(await refusal(sendTo(h, alias(11)))).toMatchObject({ reason: 'target-daily' });
    // Each code was sent to, and stored for, the address as typed.
    expect(h.sender.sent.map((m) => m.to)).toEqual(Array.from({ length: 10 }, (_, i) => alias(i + 1)));
    expect(await storedCode(h, alias(3))).toBeDefined();
    expect(await storedCode(h, 'ada@x.com')).toBeUndefined();
  });

  it('a + at the start of the local part is no tag: +ada@x.com is a mailbox of its own', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '30' });
    await sendTo(h, 'ada@x.com');
    await expect(sendTo(h, '+ada@x.com')).resolves.toBeDefined();
    await expect(sendTo(h, '+1@x.com')).resolves.toBeDefined();
    await expect(sendTo(h, '+2@x.com')).resolves.toBeDefined();
    // ... whose own tags share its limits.
    expect(await refusal(sendTo(h, '+ada+2@x.com'))).toMatchObject({ reason: 'cooldown' });
    expect(h.sender.sent.map((m) => m.to)).toEqual(['ada@x.com', '+ada@x.com', '+1@x.com', '+2@x.com']);
  });

  it('phone numbers are unaffected: each number keeps its own limits', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '30' });
    await sendTo(h, PHONE);
    await expect(sendTo(h, '+14155550124')).resolves.toBeDefined();
    expect(await refusal(sendTo(h, PHONE))).toMatchObject({ reason: 'cooldown' });
    expect(h.sender.sent.map((m) => m.to)).toEqual([PHONE, '+14155550124']);
  });

  it('20 parallel sends to 20 aliases of one mailbox never pass more than the hourly limit', async () => {
    const h = await harness(NO_COOLDOWN);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => sendTo(h, alias(i))));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(5);
    // Contention may refuse more, never admit more: what passed is what was sent.
    expect(h.sender.sent.length).toBe(results.filter((r) => r.status === 'fulfilled').length);
    for (const r of results.filter((r) => r.status === 'rejected')) expect(r.reason).toBeInstanceOf(RateLimitedError);
    // With the window spread over time, exactly the limit gets through.
    h.clock.now += HOUR_MS;
    let passed = 0;
    for (let i = 0; i < 8; i++) {
      if (
        await sendTo(h, alias(100 + i)).then(
          () => true,
          () => false,
        )
      )
        passed++;
    }
    expect(passed).toBe(5);
  });
});

describe('wrong codes per mailbox', () => {
  const CAP = { OTP_MAX_FAILURES_PER_TARGET: '4', OTP_RESEND_COOLDOWN_SECONDS: '0' };

  async function wrongGuesses(h: Harness, target: string, count: number) {
    const wrong = wrongCode(h.sender.lastCode());
    for (let i = 0; i < count; i++) {
      await expect(verifyCode(h.deps, { target, code: wrong, purpose: 'login' })).rejects.toThrow(InvalidCodeError);
    }
  }

  /** Past the open half of the run (guesses.ts): each wrong code needs a new code, tried with its otpToken. */
  async function wrongWithTokens(h: Harness, target: string, count: number) {
    for (let i = 0; i < count; i++) {
      const { otpToken } = await sendTo(h, target);
      await expect(verifyCode(h.deps, { otpToken, code: wrongCode(h.sender.lastCode()) })).rejects.toThrow(
        InvalidCodeError,
      );
    }
  }

  it('wrong codes spread over aliases count together, and the lock covers every alias', async () => {
    const h = await harness(CAP);
    await sendTo(h, alias(1));
    await wrongGuesses(h, alias(1), 2);
    await wrongWithTokens(h, alias(2), 2);
    const mailboxKey = opaqueKey(PEPPER, 'target', 'ada@x.com');
    expect((await h.store.failures(mailboxKey, h.clock.now)).count).toBe(4);

    // Locked: no alias gets a new code, and even the right code of an alias is not compared.
    for (const target of [alias(1), alias(3), 'ada@x.com']) {
      expect(await refusal(sendTo(h, target))).toMatchObject({ reason: 'target-locked' });
    }
    const locked = await verifyCode(h.deps, { target: alias(2), code: h.sender.lastCode(), purpose: 'login' }).catch(
      (e: unknown) => e,
    );
    expect(locked).toBeInstanceOf(TargetLockedError);
    // Another mailbox is not locked.
    await expect(sendTo(h, 'bob+1@x.com')).resolves.toBeDefined();
  });

  it('a lock reached through the base address also covers its aliases', async () => {
    const h = await harness(CAP);
    await sendTo(h, 'ada@x.com');
    await wrongGuesses(h, 'ada@x.com', 2);
    await wrongWithTokens(h, 'ada@x.com', 2);
    expect(await refusal(sendTo(h, alias(7)))).toMatchObject({ reason: 'target-locked' });
  });

  it('a right code of one alias ends the run of the mailbox, and the customer keeps the address as typed', async () => {
    const h = await harness(CAP);
    await sendTo(h, 'Ada+Shop@X.com');
    await sendTo(h, alias(1));
    await wrongGuesses(h, alias(1), 2);
    // Past half the cap: a new code, verified with its otpToken (guesses.ts).
    const { otpToken } = await sendTo(h, 'ada+shop@x.com');
    const result = await verifyCode(h.deps, {
      target: 'ADA+SHOP@x.com',
      otpToken,
      code: h.sender.lastCode(),
      purpose: 'login',
    });
    expect(result.verifiedTarget).toBe('ada+shop@x.com');
    expect(result.customer.email).toBe('ada+shop@x.com');
    expect(result.session?.target).toBe('ada+shop@x.com');
    expect((await h.store.failures(opaqueKey(PEPPER, 'target', 'ada@x.com'), h.clock.now)).count).toBe(0);

    // Another alias is another customer: only limits are shared.
    await sendTo(h, alias(1));
    const other = await verifyCode(h.deps, { target: alias(1), code: h.sender.lastCode(), purpose: 'login' });
    expect(other.customer.email).toBe(alias(1));
    expect(other.customer.id).not.toBe(result.customer.id);
  });
});
