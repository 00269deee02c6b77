import { describe, expect, it } from 'vitest';
import { opaqueKey } from '../../functions/core/codes.js';
import {
  InvalidCodeError,
  RateLimitedError,
  SessionInvalidError,
  TargetLockedError,
  TooManyAttemptsError,
} from '../../functions/core/errors.js';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { OtpStore } from '../../functions/core/ports.js';
import { refreshSession } from '../../functions/core/refresh-session.js';
import { hashSessionToken, newSessionToken } from '../../functions/core/sessions.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { DAY_MS } from '../../functions/core/windows.js';
import { type Harness, harness, PEPPER, PHONE, sendTo, storedCode, wrongCode } from '../support.js';

const NO_COOLDOWN = { OTP_RESEND_COOLDOWN_SECONDS: '0' };

describe('verifyCode on DynamoDB Local', () => {
  it('stores only a hash of the code, and a correct code yields a session once', async () => {
    const h = await harness();
    const sent = await sendTo(h);
    const code = h.sender.lastCode();
    expect(sent).toMatchObject({ otpType: 'sms', expiresIn: 300, resendAfter: 30, mockCode: code });

    const stored = await storedCode(h);
    expect(JSON.stringify(stored)).not.toContain(code);
    expect(JSON.stringify(stored)).not.toContain(PHONE);

    const first = await verifyCode(h.deps, { target: PHONE, code, purpose: 'login', name: 'Ada' });
    expect(first).toMatchObject({ verifiedTarget: PHONE, otpType: 'sms', isNew: true });
    expect(first.customer.name).toBe('Ada');
    expect(await storedCode(h)).toBeUndefined();

    await expect(verifyCode(h.deps, { target: PHONE, code, purpose: 'login' })).rejects.toThrow(InvalidCodeError);
  });

  it('finds the customer on the next login and keeps the first name', async () => {
    const h = await harness(NO_COOLDOWN);
    await sendTo(h);
    const first = await verifyCode(h.deps, { target: PHONE, code: h.sender.lastCode(), purpose: 'login', name: 'Ada' });
    await sendTo(h);
    const second = await verifyCode(h.deps, {
      target: PHONE,
      code: h.sender.lastCode(),
      purpose: 'login',
      name: 'Eve',
    });
    expect(second.isNew).toBe(false);
    const { id, name, createdAt } = first.customer;
    expect(second.customer).toMatchObject({ id, name, createdAt, loginCount: 2 });
    expect(first.customer.loginCount).toBe(1);
    expect(second.sessionToken).not.toBe(first.sessionToken);
  });

  it('binds a code to its purpose', async () => {
    const h = await harness();
    await sendTo(h, PHONE, { purpose: 'register' });
    const code = h.sender.lastCode();
    await expect(verifyCode(h.deps, { target: PHONE, code, purpose: 'login' })).rejects.toThrow(InvalidCodeError);
    await expect(verifyCode(h.deps, { target: PHONE, code, purpose: 'register' })).resolves.toMatchObject({
      isNew: true,
    });
  });

  it('refuses a code once its short TTL has passed', async () => {
    const h = await harness({ OTP_TTL_SECONDS: '1' });
    await sendTo(h);
    const code = h.sender.lastCode();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    h.clock.now = Date.now();
    await expect(verifyCode(h.deps, { target: PHONE, code, purpose: 'login' })).rejects.toThrow(InvalidCodeError);
  });

  it('refuses an expired code that is still stored: the condition checks expiry, not TTL', async () => {
    const h = await harness({ OTP_TTL_SECONDS: '1' });
    // Far enough ahead that DynamoDB Local's own TTL sweep cannot have deleted the item.
    h.clock.now = Date.UTC(2036, 0, 1, 10);
    await sendTo(h);
    const code = h.sender.lastCode();
    h.clock.now += 1001;
    expect(await storedCode(h)).toBeDefined();
    await expect(verifyCode(h.deps, { target: PHONE, code, purpose: 'login' })).rejects.toThrow(InvalidCodeError);
  });

  it('answers a never-sent target exactly like a wrong code', async () => {
    const h = await harness();
    await sendTo(h);
    const wrong = wrongCode(h.sender.lastCode());
    const never = verifyCode(h.deps, { target: 'nobody@example.com', code: '123456', purpose: 'login' });
    const bad = verifyCode(h.deps, { target: PHONE, code: wrong, purpose: 'login' });
    const [a, b] = await Promise.allSettled([never, bad]);
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('rejected');
    const errorA = (a as PromiseRejectedResult).reason;
    const errorB = (b as PromiseRejectedResult).reason;
    expect(errorA).toBeInstanceOf(InvalidCodeError);
    expect(errorB).toBeInstanceOf(InvalidCodeError);
    expect(errorA.message).toBe(errorB.message);
  });

  it('locks a code after the maximum attempts, even for the right code', async () => {
    const h = await harness();
    await sendTo(h);
    const code = h.sender.lastCode();
    const wrong = wrongCode(code);
    for (let i = 0; i < 3; i++) {
      await expect(verifyCode(h.deps, { target: PHONE, code: wrong, purpose: 'login' })).rejects.toThrow(
        InvalidCodeError,
      );
    }
    await expect(verifyCode(h.deps, { target: PHONE, code, purpose: 'login' })).rejects.toThrow(TooManyAttemptsError);
  });
});

describe('concurrent verifies on DynamoDB Local', () => {
  it('20 parallel correct verifies give exactly one session', async () => {
    const h = await harness();
    await sendTo(h);
    const code = h.sender.lastCode();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => verifyCode(h.deps, { target: PHONE, code, purpose: 'login' })),
    );
    const sessions = results.filter((r) => r.status === 'fulfilled');
    expect(sessions).toHaveLength(1);
    for (const failure of results.filter((r) => r.status === 'rejected')) {
      const reason = failure.reason;
      expect(reason instanceof InvalidCodeError || reason instanceof TooManyAttemptsError).toBe(true);
    }
  });

  it('one code yields one session even when 10 correct guesses pass the attempt counter', async () => {
    const h = await harness({ OTP_MAX_ATTEMPTS: '10' });
    await sendTo(h);
    const code = h.sender.lastCode();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => verifyCode(h.deps, { target: PHONE, code, purpose: 'login' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const failure of results.filter((r) => r.status === 'rejected')) {
      expect(failure.reason).toBeInstanceOf(InvalidCodeError);
    }
  });

  it('the refresh tokens of the 9 logins that lost the code lead nowhere: 401, and nothing written', async () => {
    const h = await harness({ OTP_MAX_ATTEMPTS: '10' });
    await sendTo(h);
    const code = h.sender.lastCode();
    // Each login's refresh token, known to the test: the core hands a token out only on success, and
    // the store writes the token's item beside the login's transaction (adapters/dynamo/refresh.ts).
    const tokens = Array.from({ length: 10 }, () => newSessionToken());
    let next = 0;
    const store: OtpStore = {
      ...h.store,
      completeLogin: (login) => {
        const token = tokens[next++] as string;
        const refresh = login.refresh && { ...login.refresh, tokenHash: hashSessionToken(token) };
        return h.store.completeLogin({ ...login, refresh });
      },
    };
    const deps = { ...h.deps, store };
    const results = await Promise.allSettled(
      tokens.map(() => verifyCode(deps, { target: PHONE, code, purpose: 'login' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(next).toBe(10);
    const items = async () =>
      ((await h.client.send(new ScanCommand({ TableName: h.tables.stateTable, ConsistentRead: true }))).Items ?? [])
        .map((item) => JSON.stringify(unmarshall(item)))
        .sort();
    const before = await items();
    // Every token's item is there; one family, of the login that won.
    expect(before.filter((item) => item.includes('"pk":"refresh#'))).toHaveLength(10);
    expect(before.filter((item) => item.includes('"pk":"family#'))).toHaveLength(1);
    let refreshed = 0;
    for (const token of tokens) {
      const outcome = await refreshSession(deps, token, undefined).catch((error: unknown) => error);
      if (outcome instanceof SessionInvalidError) continue;
      expect(outcome).toMatchObject({ refreshToken: expect.any(String) });
      refreshed++;
    }
    expect(refreshed).toBe(1);
    // Only the winner's refresh wrote: its rotation (the old session a tombstone, a new session and
    // refresh token, the family moved on). The 9 others changed nothing.
    const after = await items();
    expect(after.filter((item) => !before.includes(item))).toHaveLength(4);
    expect(before.filter((item) => !after.includes(item))).toHaveLength(2);
  });

  it('40 parallel wrong guesses evaluate at most 3', async () => {
    const h = await harness();
    await sendTo(h);
    const code = h.sender.lastCode();
    const guesses = Array.from({ length: 40 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
    const results = await Promise.allSettled(
      guesses.map((guess) => verifyCode(h.deps, { target: PHONE, code: guess, purpose: 'login' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(0);
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason);
    // 401: compared. 429: the code's attempts used up, or (guesses in flight holding the places of the
    // target's run for a moment) "try again in a second": either way not compared.
    expect(reasons.filter((r) => r instanceof InvalidCodeError)).toHaveLength(3);
    for (const r of reasons.filter((r) => !(r instanceof InvalidCodeError))) {
      expect(r instanceof TooManyAttemptsError || (r instanceof TargetLockedError && r.retryAfterSeconds === 1)).toBe(
        true,
      );
    }
    expect((await storedCode(h))?.attempts?.N).toBe('3');
    expect((await h.store.failures(opaqueKey(PEPPER, 'target', PHONE), h.clock.now)).count).toBe(3);
  });
});

describe('failed verifications per target', () => {
  const CAP = { OTP_MAX_FAILURES_PER_TARGET: '4', OTP_RESEND_COOLDOWN_SECONDS: '0' };

  async function wrongGuesses(h: Harness, count: number) {
    const code = h.sender.lastCode();
    const wrong = wrongCode(code);
    for (let i = 0; i < count; i++) {
      await expect(verifyCode(h.deps, { target: PHONE, code: wrong, purpose: 'login' })).rejects.toThrow(
        InvalidCodeError,
      );
    }
  }

  /** Past the open half of the run (guesses.ts): each wrong code needs a new code, tried with its otpToken. */
  async function wrongWithTokens(h: Harness, count: number) {
    for (let i = 0; i < count; i++) {
      const { otpToken } = await sendTo(h);
      await expect(verifyCode(h.deps, { otpToken, code: wrongCode(h.sender.lastCode()) })).rejects.toThrow(
        InvalidCodeError,
      );
    }
  }

  it('locks the target after the cap, across codes, until a day after the last failure', async () => {
    const h = await harness(CAP);
    await sendTo(h);
    await wrongGuesses(h, 2);
    await wrongWithTokens(h, 2);
    const code = h.sender.lastCode();

    // Locked: even the right code is not compared, and no new code is sent.
    const locked = await verifyCode(h.deps, { target: PHONE, code, purpose: 'login' }).catch((e: unknown) => e);
    expect(locked).toBeInstanceOf(TargetLockedError);
    expect((locked as TargetLockedError).retryAfterSeconds).toBe(86_400);
    await expect(sendTo(h)).rejects.toThrow(/Too many wrong codes/);
    expect(h.sender.sent).toHaveLength(3);

    h.clock.now += DAY_MS;
    await sendTo(h);
    // The old run of failures has lapsed: one more wrong code starts a new run at one.
    await wrongGuesses(h, 1);
    expect((await h.store.failures(opaqueKey(PEPPER, 'target', PHONE), h.clock.now)).count).toBe(1);
  });

  it('keeps refusing sends across midnight while the lock lasts', async () => {
    const h = await harness(CAP);
    h.clock.now = Date.UTC(2036, 0, 1, 23, 0, 0);
    await sendTo(h);
    await wrongGuesses(h, 2);
    await wrongWithTokens(h, 2);
    h.clock.now = Date.UTC(2036, 0, 2, 12, 0, 0);
    const error = await sendTo(h).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ reason: 'target-locked', message: expect.stringMatching(/Too many wrong codes/) });
    expect((error as RateLimitedError).retryAfterSeconds).toBe(11 * 3600);
    h.clock.now = Date.UTC(2036, 0, 2, 23, 0, 0);
    await expect(sendTo(h)).resolves.toBeDefined();
  });

  it('a successful verification ends the run of failures', async () => {
    const h = await harness({ ...CAP, OTP_MAX_FAILURES_PER_TARGET: '10' });
    await sendTo(h);
    await wrongGuesses(h, 2);
    await verifyCode(h.deps, { target: PHONE, code: h.sender.lastCode(), purpose: 'login' });
    expect((await h.store.failures(opaqueKey(PEPPER, 'target', PHONE), h.clock.now)).count).toBe(0);
    await sendTo(h);
    await wrongGuesses(h, 3);
    await expect(verifyCode(h.deps, { target: PHONE, code: h.sender.lastCode(), purpose: 'login' })).rejects.toThrow(
      TooManyAttemptsError,
    );
  });

  it('does not count guesses for a target that has no live code', async () => {
    const h = await harness(CAP);
    for (let i = 0; i < 10; i++) {
      await expect(verifyCode(h.deps, { target: PHONE, code: '123456', purpose: 'login' })).rejects.toThrow(
        InvalidCodeError,
      );
    }
    await expect(sendTo(h)).resolves.toBeDefined();
  });
});
