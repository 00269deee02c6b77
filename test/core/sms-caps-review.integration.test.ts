import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../functions/core/errors.js';
import { sendCode } from '../../functions/core/send-code.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createLogger } from '../../functions/http/logger.js';
import { call, countRequests, type Harness, harness, sendTo } from '../support.js';

/**
 * Review of the SMS cost protection (caps, shard walk, conversion breaker). Each test here states
 * what the change promises (README "SMS cost protection", DESIGN.md "Data") and fails where the
 * code does not do it.
 */

const START = Date.UTC(2036, 0, 1, 10, 0, 0);
const AREAS = [201, 212, 213, 305, 312, 415, 510, 617, 646, 650, 702, 718, 786, 917];
/** A US number of its own number block. */
const usNumber = (n: number) =>
  `+1${AREAS[n % AREAS.length]}555${Math.floor(n / AREAS.length) % 10}${String(n).padStart(3, '0').slice(-3)}`;
/** A GB mobile; the first 1000 share one block, so the block cap must be off where many are sent. */
const GB = (n: number) => `+447911${String(n).padStart(6, '0')}`;
/** GB mobiles of 1000 different blocks. */
const gbBlock = (n: number) => `+44791${String(n).padStart(4, '0')}123`;

const NO_TARGET_OR_IP_LIMITS = { OTP_RESEND_COOLDOWN_SECONDS: '0', OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0' };

async function outcome(sending: Promise<unknown>): Promise<'sent' | string> {
  try {
    await sending;
    return 'sent';
  } catch (error) {
    if (error instanceof RateLimitedError) return error.reason;
    return error instanceof Error ? error.name : 'unknown';
  }
}

function tally(list: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of list) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

async function items(h: Harness, prefix: string) {
  const { Items } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable, ConsistentRead: true }));
  return (Items ?? []).map((item) => unmarshall(item)).filter((item) => String(item.pk).startsWith(prefix));
}

describe('SMS cost protection, review', () => {
  it('breaker: a country whose customers verify every code, 30 s after it is sent, at 5 SMS a second, is never paused', async () => {
    // Caps off: only the breaker (its defaults: 50 SMS to judge, 20 % verified) is under test.
    const h = await harness({
      ...NO_TARGET_OR_IP_LIMITS,
      OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_HOUR: '0',
    });
    const pending: { at: number; target: string; code: string }[] = [];
    const results: string[] = [];
    let trips = 0;
    for (let n = 0; n < 150; n++) {
      h.clock.now = START + n * 200;
      // Every customer enters the code 30 s after it was sent.
      while (pending.length > 0 && pending[0]!.at <= h.clock.now) {
        const due = pending.shift()!;
        await verifyCode(h.deps, { target: due.target, code: due.code });
      }
      try {
        const sent = await sendTo(h, usNumber(n));
        if (sent.breakerTripped) trips++;
        pending.push({ at: h.clock.now + 30_000, target: usNumber(n), code: h.sender.lastCode() });
        results.push('sent');
      } catch (error) {
        results.push(error instanceof RateLimitedError ? error.reason : String(error));
      }
    }
    expect({ trips, results: tally(results) }).toEqual({ trips: 0, results: { sent: 150 } });
  });

  it('breaker: an SMS provider outage (every delivery fails, nothing reaches anyone) does not pause the country once it is over', async () => {
    const h = await harness({
      ...NO_TARGET_OR_IP_LIMITS,
      OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_HOUR: '0',
    });
    h.clock.now = START;
    h.sender.failWith = new Error('SNS throttled');
    const during: string[] = [];
    for (let n = 0; n < 55; n++) {
      h.clock.now += 1000;
      during.push(await outcome(sendTo(h, GB(n))));
    }
    // The provider is back a minute later: a customer asks for a code.
    h.sender.failWith = undefined;
    h.clock.now += 60_000;
    const after = await outcome(sendTo(h, GB(500)));
    expect({ during: tally(during), after }).toEqual({ during: { DeliveryFailedError: 55 }, after: 'sent' });
  });

  it('breaker: 50 unverified SMS from an attacker keep a country whose real customers verify every code paused for the whole hour', async () => {
    // Every default (caps, breaker, per-IP, cooldown): the attacker spreads 50 SMS over 5 number
    // blocks (10 each, the block cap) and 2 networks (25 each, under the 30 per IP).
    const h = await harness();
    h.clock.now = START;
    for (let n = 0; n < 50; n++) {
      h.clock.now += 1000;
      await sendCode(h.deps, {
        target: `+4479110${Math.floor(n / 10)}0${String(n % 10).padStart(3, '0')}`,
        purpose: 'login',
        sourceIp: n < 25 ? '198.51.100.1' : '198.51.100.2',
      });
    }
    // Real customers, each of a number of their own, one every 2 minutes for the rest of the hour,
    // each entering the code 20 s later.
    const real: string[] = [];
    for (let n = 0; n < 28; n++) {
      h.clock.now = START + 2 * 60_000 + n * 2 * 60_000;
      const target = gbBlock(100 + n);
      const result = await outcome(sendTo(h, target, { sourceIp: `203.0.113.${n + 1}` }));
      real.push(result);
      if (result === 'sent') {
        h.clock.now += 20_000;
        await verifyCode(h.deps, { target, code: h.sender.lastCode() });
      }
    }
    expect(tally(real)).toEqual({ sent: 28 });
  });

  it('README: breaker windows are fixed windows from midnight UTC (OTP_BREAKER_WINDOW_SECONDS=7000)', async () => {
    // Monitor mode with 2 SMS to judge and 50 %: two unverified SMS either side of midnight would trip
    // only if they fell in one window; windows from midnight put them in two.
    const h = await harness({
      ...NO_TARGET_OR_IP_LIMITS,
      OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_HOUR: '0',
      OTP_BREAKER_MODE: 'monitor',
      OTP_BREAKER_MIN_SENDS: '2',
      OTP_BREAKER_MIN_CONVERSION: '0.5',
      OTP_BREAKER_WINDOW_SECONDS: '7000',
      OTP_COUNTER_SHARDS: '1',
    });
    const midnight = Date.UTC(2036, 0, 2);
    h.clock.now = midnight - 1000;
    await sendTo(h, gbBlock(1));
    h.clock.now = midnight + 1000;
    const second = await sendTo(h, gbBlock(2));
    expect(second.breakerTripped).toBeUndefined();
    expect((await items(h, 'breaker#GB#')).length).toBe(2);
  });

  it('README "a send to a country that converts well pays no read": 200 SMS to a country where 80 % of codes are verified', async () => {
    const h = await harness({
      ...NO_TARGET_OR_IP_LIMITS,
      OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_HOUR: '0',
    });
    h.clock.now = START;
    let reads = 0;
    let trips = 0;
    for (let n = 0; n < 200; n++) {
      h.clock.now += 1000;
      const { result, commands } = await countRequests(h, () => sendTo(h, usNumber(n)));
      reads += commands.filter((name) => name === 'BatchGetItemCommand' || name === 'GetItemCommand').length;
      if (result.breakerTripped) trips++;
      if (n % 5 !== 0) await verifyCode(h.deps, { target: usNumber(n), code: h.sender.lastCode() });
    }
    expect({ trips, reads }).toEqual({ trips: 0, reads: 0 });
  });

  it('README "a pumping run gets at most about OTP_BREAKER_MIN_SENDS SMS per window": 150 SMS at once to a country that never verifies', async () => {
    const h = await harness({
      ...NO_TARGET_OR_IP_LIMITS,
      OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0',
    });
    h.clock.now = START;
    await Promise.all(Array.from({ length: 150 }, (_, n) => outcome(sendTo(h, GB(n)))));
    // "About" 50: allow the sampling's slack of the breaker tests (a quarter more).
    expect(h.sender.sent.length).toBeLessThanOrEqual(63);
  });

  it('README "Retries do not send twice": a send retried with the same Idempotency-Key answers the first response again and sends nothing', async () => {
    const h = await harness(NO_TARGET_OR_IP_LIMITS);
    h.clock.now = START;
    const handler = createSendOtpHandler(h.deps, createLogger(), { count: () => {} });
    const request = { body: { target: usNumber(1) }, headers: { 'Idempotency-Key': 'retry-1' } };
    const first = await call(handler, request);
    const again = await call(handler, request);
    expect({
      statuses: [first.status, again.status],
      sameToken: again.body?.otpToken === first.body?.otpToken,
      replayed: again.headers['idempotent-replayed'],
      smsSent: h.sender.sent.length,
    }).toEqual({ statuses: [200, 200], sameToken: true, replayed: 'true', smsSent: 1 });
  });
});
