import { describe, expect, it } from 'vitest';
import { opaqueKey } from '../../functions/core/codes.js';
import { InvalidCodeError, type OtpError, RateLimitedError } from '../../functions/core/errors.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { DAY_MS, HOUR_MS, windowOf } from '../../functions/core/windows.js';
import { type Harness, harness, PEPPER, sendTo } from '../support.js';

/**
 * The guess budget of one target over a day, as README.md (Concurrency) states it: a third party
 * who knows the target asks for every code the send limits allow, over 24 hours that span a UTC
 * midnight (two days of sends), and guesses each code every way: one at a time with and without its
 * otpToken, then many at once.
 * 401 answers are the guesses compared: the test checks they are the wrong guesses verify settled.
 */
const tag = (n: number) => `ada+${n}@x.com`;
const START = Date.UTC(2036, 0, 1, 12, 0, 0);
const MAILBOX = opaqueKey(PEPPER, 'target', 'ada@x.com');

interface Outcome {
  /** 401 answers. */
  compared: number;
  /** Wrong guesses verify settled in the run: must be the 401s, or some 401 was no comparison. */
  settled: number;
  lockedAt?: number;
}

/**
 * Wrong guesses at one code: one at a time without its otpToken while they are compared, then with
 * it, then `burst` of each at once.
 */
async function guessAll(h: Harness, target: string, code: string, otpToken: string, burst: number) {
  let i = 0;
  const wrong = () => String((Number(code) + 1 + i++) % 1_000_000).padStart(code.length, '0');
  let compared = 0;
  for (const withToken of [false, true]) {
    for (;;) {
      const request = withToken ? { otpToken, code: wrong() } : { target, code: wrong() };
      const error = await verifyCode(h.deps, request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      if (!(error instanceof InvalidCodeError)) break;
      compared++;
    }
  }
  const results = await Promise.allSettled([
    ...Array.from({ length: burst }, () => verifyCode(h.deps, { target, code: wrong() })),
    ...Array.from({ length: burst }, () => verifyCode(h.deps, { otpToken, code: wrong() })),
  ]);
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(0);
  return compared + results.filter((r) => (r as PromiseRejectedResult).reason instanceof InvalidCodeError).length;
}

/** Counts the guesses verify settles as wrong: compared, and wrong. */
function countSettled(h: Harness): { settled: number } {
  const counter = { settled: 0 };
  const settle = h.store.settleWrongGuess.bind(h.store);
  h.store.settleWrongGuess = (...args) => {
    counter.settled++;
    return settle(...args);
  };
  return counter;
}

/**
 * From START for 24 hours: a send whenever the limits allow one (waiting out the cooldown, the hour,
 * the day, as the refusal says), each code guessed at once.
 */
async function attack(h: Harness, burst: number): Promise<Outcome> {
  const counter = countSettled(h);
  const outcome: Outcome = { compared: 0, settled: 0 };
  h.clock.now = START;
  let n = 0;
  while (h.clock.now < START + DAY_MS) {
    const target = tag(++n % 7);
    const sent = await sendTo(h, target).catch((e: unknown) => e as OtpError);
    if (sent instanceof RateLimitedError) {
      if (sent.reason === 'target-locked') outcome.lockedAt ??= h.clock.now;
      const waits: Record<string, number> = {
        cooldown: sent.retryAfterSeconds * 1000,
        'target-hourly': windowOf(h.clock.now, HOUR_MS).end - h.clock.now,
        'target-daily': windowOf(h.clock.now, DAY_MS).end - h.clock.now,
        'target-locked': HOUR_MS,
      };
      h.clock.now += waits[sent.reason] ?? HOUR_MS;
      continue;
    }
    if (!('otpToken' in sent)) throw sent;
    outcome.compared += await guessAll(h, target, h.sender.lastCode(), sent.otpToken, burst);
    h.clock.now += 1000;
  }
  return { ...outcome, settled: counter.settled };
}

describe('guess budget of one target over 24 hours', () => {
  it('at the defaults: 36 wrong codes compared (25 open, then one per token-bound code), the cap of 50 never reached', async () => {
    const h = await harness();
    const outcome = await attack(h, 5);
    expect(outcome.settled).toBe(outcome.compared);
    // 20 sends (10 a UTC day): 9 codes give the 25 open places, 11 give one each.
    expect(outcome.compared).toBe(36);
    expect(outcome.lockedAt).toBeUndefined();
    expect(h.sender.sent).toHaveLength(20);
    expect((await h.store.failures(MAILBOX, START + DAY_MS - 1)).count).toBe(36);
  });

  it('at the maximum settings: exactly 100 wrong codes compared, then the target is locked for the rest of the day', async () => {
    const h = await harness({
      OTP_MAX_FAILURES_PER_TARGET: '100',
      OTP_MAX_ATTEMPTS: '10',
      OTP_TTL_SECONDS: '600',
      OTP_SEND_LIMIT_PER_HOUR: '1000',
      OTP_SEND_LIMIT_PER_DAY: '10000',
      OTP_RESEND_COOLDOWN_SECONDS: '0',
      OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0',
    });
    const outcome = await attack(h, 10);
    expect(outcome.settled).toBe(outcome.compared);
    expect(outcome.compared).toBe(100);
    expect(outcome.lockedAt).toBeDefined();
    // Locked until a day after the last wrong code: nothing more within the 24 hours.
    expect((await h.store.failures(MAILBOX, START + DAY_MS - 1)).count).toBe(100);
  });
});
