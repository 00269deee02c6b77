import { describe, expect, it } from 'vitest';
import { stateKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import { RateLimitedError } from '../../functions/core/errors.js';
import { sendCode } from '../../functions/core/send-code.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createLogger } from '../../functions/http/logger.js';
import { SMS_METRICS } from '../../functions/metrics.js';
import { DAY_MS, windowOf } from '../../functions/core/windows.js';
import type { UsageMetrics } from '../../functions/usage-metrics.js';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { call, countRequests, type Harness, harness, PEPPER, stateItem } from '../support.js';

/**
 * The conversion breaker on synthetic traffic (API.md, OTP_BREAKER_*): SMS to a country whose codes
 * are never verified pause once enough were sent; a country whose codes are verified never pauses;
 * e-mail is never paused; monitor mode reports and refuses nothing.
 */

const US = (n: number) => `+1650555${String(1000 + n).padStart(4, '0')}`;
const GB = (n: number) => `+447911${String(n).padStart(6, '0')}`;
const START = Date.UTC(2036, 0, 1, 10, 0, 0);

/**
 * Only the breaker at work: 20 SMS to judge, at least half verified, a 15-minute pause, and codes of
 * a minute (nothing is judged before the oldest SMS counted could have been verified).
 */
const GRACE_MS = 60_000;
const BREAKER = {
  OTP_TTL_SECONDS: '60',
  OTP_RESEND_COOLDOWN_SECONDS: '0',
  OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0',
  OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0',
  OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '0',
  OTP_SMS_LIMIT_PER_HOUR: '0',
  OTP_BREAKER_MIN_SENDS: '20',
  OTP_BREAKER_MIN_CONVERSION: '0.5',
  OTP_BREAKER_WINDOW_SECONDS: '3600',
  OTP_BREAKER_PAUSE_SECONDS: '900',
};

function logs() {
  const lines: { message: string; attributes: Record<string, unknown> }[] = [];
  const log = {
    info: () => {},
    warn: (message: string, attributes: Record<string, unknown>) => lines.push({ message, attributes }),
  };
  return { log, lines };
}

async function setUp(overrides: Record<string, string> = {}) {
  const h = await harness({ ...BREAKER, ...overrides });
  h.clock.now = START;
  const { log, lines } = logs();
  h.deps.log = log;
  return { h, lines };
}

const send = (h: Harness, target: string) => sendCode(h.deps, { target, purpose: 'login' });

/** Sends a code and verifies it; what the send answered (it may be the send that trips the breaker). */
async function sendAndVerify(h: Harness, target: string) {
  const sent = await send(h, target);
  await verifyCode(h.deps, { target, code: h.sender.lastCode() });
  return sent;
}

/** The state items whose key starts with `prefix`, read consistently. */
async function items(h: Harness, prefix: string) {
  const { Items } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable, ConsistentRead: true }));
  return (Items ?? []).map((item) => unmarshall(item)).filter((item) => String(item.pk).startsWith(prefix));
}

async function refusal(sending: Promise<unknown>): Promise<RateLimitedError> {
  const error = await sending.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RateLimitedError);
  return error as RateLimitedError;
}

/** Sends to new numbers of a country, 5 seconds apart, until one trips the breaker; how many were sent. */
async function sendUntilTrip(h: Harness, number: (n: number) => string, most: number): Promise<number> {
  for (let n = 0; n < most; n++) {
    h.clock.now += 5000;
    const result = await send(h, number(n));
    if (result.breakerTripped) return n + 1;
  }
  return most;
}

describe('conversion breaker', () => {
  it('a country whose codes are never verified pauses once 20 SMS were sent; its SMS answer 429 country-paused for the pause', async () => {
    const { h, lines } = await setUp();
    const sent = await sendUntilTrip(h, GB, 40);
    // Judged on the exact counts: not before 20; a few more at most, while the shard sampled held too few to suggest it.
    expect(sent).toBeGreaterThanOrEqual(20);
    expect(sent).toBeLessThanOrEqual(25);
    expect(lines.filter((l) => l.message === 'country paused')).toEqual([
      {
        message: 'country paused',
        attributes: expect.objectContaining({ country: 'GB', sent, verified: 0, conversion: 0 }),
      },
    ]);
    const delivered = h.sender.sent.length;
    const refused = await refusal(send(h, GB(100)));
    expect(refused).toMatchObject({ reason: 'country-paused', retryAfterSeconds: 900, country: 'GB' });
    expect(h.sender.sent).toHaveLength(delivered);
    // Nothing counted the refused send: its number's send counter does not exist.
    const day = windowOf(h.clock.now, DAY_MS).index;
    expect(await stateItem(h, stateKey.sendCounter(opaqueKey(PEPPER, 'target', GB(100)), day))).toBeUndefined();
    // Other countries and e-mail go on.
    await expect(send(h, US(1))).resolves.toMatchObject({ otpType: 'sms' });
    await expect(send(h, 'ada@example.com')).resolves.toMatchObject({ otpType: 'email' });
    // Still paused just before the end, not after it.
    h.clock.now += 898_000;
    await refusal(send(h, GB(101)));
    h.clock.now += 3000;
    await expect(send(h, GB(102))).resolves.toMatchObject({ otpType: 'sms' });
  });

  it('a country whose codes are verified never pauses (60 SMS, 60 verified)', async () => {
    const { h, lines } = await setUp();
    for (let n = 0; n < 60; n++) {
      h.clock.now += 5000;
      await sendAndVerify(h, US(n));
    }
    expect(lines).toEqual([]);
    await expect(send(h, US(99))).resolves.toMatchObject({ otpType: 'sms' });
  });

  it('a country converting above the minimum does not pause; below it, it does', async () => {
    // 3 of 5 verified (0.6 > 0.5) over 40 SMS: no trip.
    const good = await setUp();
    for (let n = 0; n < 40; n++) {
      good.h.clock.now += 5000;
      if (n % 5 < 3) await sendAndVerify(good.h, US(n));
      else await send(good.h, US(n));
    }
    expect(good.lines).toEqual([]);
    // 1 of 5 verified (0.2 < 0.5): trips.
    const bad = await setUp();
    let tripped = false;
    for (let n = 0; n < 40 && !tripped; n++) {
      bad.h.clock.now += 5000;
      // Any send may be the one that trips it, a verified one too.
      const sent = n % 5 === 0 ? await sendAndVerify(bad.h, US(n)) : await send(bad.h, US(n));
      tripped = sent.breakerTripped !== undefined;
    }
    expect(tripped).toBe(true);
  });

  it('nothing is judged before the oldest SMS counted could have been verified: a burst waits for the code lifetime', async () => {
    const { h, lines } = await setUp();
    for (let n = 0; n < 30; n++) {
      h.clock.now += 1000;
      expect((await send(h, GB(n))).breakerTripped).toBeUndefined();
    }
    // The first of them is a code lifetime old: one of the next few SMS trips it (the first whose
    // shard, a random sample of the window, holds enough of them to suggest it).
    h.clock.now = START + 1000 + GRACE_MS;
    let tripped;
    for (let n = 30; n < 40 && !tripped; n++) tripped = (await send(h, GB(n))).breakerTripped;
    expect(tripped).toMatchObject({ country: 'GB', mode: 'enforce' });
    expect(lines.map((l) => l.message)).toEqual(['country paused']);
  });

  it('sliding window: customers who take 30 s to type their code keep a busy country open across windows', async () => {
    // 10-minute windows, one SMS every 3 s for 25 minutes, each code entered 30 s after its SMS.
    const { h, lines } = await setUp({ OTP_BREAKER_WINDOW_SECONDS: '600', OTP_TTL_SECONDS: '120' });
    const pending: { at: number; target: string; code: string }[] = [];
    for (let n = 0; n < 500; n++) {
      h.clock.now = START + n * 3000;
      while (pending.length > 0 && (pending[0]?.at ?? Infinity) <= h.clock.now) {
        const due = pending.shift() as (typeof pending)[number];
        await verifyCode(h.deps, { target: due.target, code: due.code });
      }
      const result = await send(h, US(n));
      expect(result.breakerTripped).toBeUndefined();
      pending.push({ at: h.clock.now + 30_000, target: US(n), code: h.sender.lastCode() });
    }
    expect(lines).toEqual([]);
  });

  it('sliding window: a country pumped in one window is judged on it at the start of the next, and forgotten after', async () => {
    const { h } = await setUp();
    await sendUntilTrip(h, GB, 40);
    // The next window, the pause over: the last window's SMS still count, so a few new ones trip it again.
    h.clock.now = START + 3600_000 + 1000;
    expect(await sendUntilTrip(h, (n) => GB(200 + n), 15)).toBeLessThan(15);
    // A window later, with no SMS in the last one, it has its 20 SMS to judge again.
    h.clock.now = START + 3 * 3600_000;
    for (let n = 300; n < 315; n++) expect((await send(h, GB(n))).breakerTripped).toBeUndefined();
  });

  it('windows start at midnight UTC, the last of a day shorter when the size does not divide a day', async () => {
    const { h } = await setUp({
      OTP_BREAKER_MODE: 'monitor',
      OTP_BREAKER_MIN_SENDS: '2',
      OTP_BREAKER_WINDOW_SECONDS: '7000',
      OTP_COUNTER_SHARDS: '1',
      OTP_TTL_SECONDS: '1',
    });
    const midnight = Date.UTC(2036, 0, 2);
    h.clock.now = midnight - 1000;
    await send(h, GB(1));
    h.clock.now = midnight + 1000;
    await send(h, GB(2));
    const keys = (await items(h, 'breaker#GB#')).map((item) => String(item.pk));
    expect(keys).toHaveLength(2);
  });

  it('an SMS that could not be delivered does not count: a provider outage pauses no country', async () => {
    const { h, lines } = await setUp();
    h.sender.failWith = new Error('SNS throttled');
    for (let n = 0; n < 40; n++) {
      h.clock.now += 5000;
      await expect(send(h, GB(n))).rejects.toThrow();
    }
    h.sender.failWith = undefined;
    h.clock.now += 60_000;
    await expect(send(h, GB(100))).resolves.toMatchObject({ otpType: 'sms' });
    expect(lines.filter((l) => l.message !== 'code delivery failed')).toEqual([]);
    const shards = await items(h, 'breaker#GB#');
    expect(shards.reduce((sum, item) => sum + Number(item.sent ?? 0), 0)).toBe(1);
  });

  it('a country converting well pays no read on its sends, but the rare bad-looking sample (one read, then quiet for a minute)', async () => {
    const { h } = await setUp({ OTP_BREAKER_MIN_SENDS: '50', OTP_BREAKER_MIN_CONVERSION: '0.2' });
    let reads = 0;
    let judged = 0;
    for (let n = 0; n < 200; n++) {
      h.clock.now += 5000;
      const { commands } = await countRequests(h, () => send(h, US(n)));
      const batch = commands.filter((name) => name === 'BatchGetItemCommand').length;
      reads += batch + commands.filter((name) => name === 'GetItemCommand' || name === 'QueryCommand').length;
      judged += batch;
      if (n % 5 !== 0) await verifyCode(h.deps, { target: US(n), code: h.sender.lastCode() });
    }
    // Only batch reads of a judgement, and few: a shard that asked is quiet for a minute after.
    expect(reads).toBe(judged);
    expect(judged).toBeLessThanOrEqual(10);
  });

  it('monitor mode: logs and reports the trip once, refuses nothing', async () => {
    const { h, lines } = await setUp({ OTP_BREAKER_MODE: 'monitor' });
    const sent = await sendUntilTrip(h, GB, 40);
    expect(sent).toBeLessThanOrEqual(25);
    for (let n = 100; n < 110; n++) expect((await send(h, GB(n))).breakerTripped).toBeUndefined();
    expect(lines.filter((l) => l.message.startsWith('country would be paused'))).toHaveLength(1);
    expect(lines.filter((l) => l.message === 'country paused')).toHaveLength(0);
  });

  it('off: nothing counted, nothing judged', async () => {
    const { h, lines } = await setUp({ OTP_BREAKER_MODE: 'off' });
    for (let n = 0; n < 30; n++) await send(h, GB(n));
    expect(lines).toEqual([]);
    expect(await stateItem(h, 'breakertrip#GB')).toBeUndefined();
  });

  it('in parallel: 40 sends to a country that never verifies trip it once, and nothing is sent once it is paused', async () => {
    const { h, lines } = await setUp();
    await send(h, GB(1000));
    h.clock.now += GRACE_MS;
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, n) => send(h, GB(n))));
    const trips = results.filter((r) => r.status === 'fulfilled' && r.value.breakerTripped).length;
    expect(trips).toBe(1);
    expect(lines.filter((l) => l.message === 'country paused')).toHaveLength(1);
    await refusal(send(h, GB(500)));
  });

  it('the send handler reports SMS sent, refusals by reason and country, and the trip', async () => {
    const { h } = await setUp();
    const counts: { name: string; dimensions: Record<string, string> }[] = [];
    const metrics: UsageMetrics = { count: (name, dimensions) => counts.push({ name, dimensions }) };
    const handler = createSendOtpHandler(h.deps, createLogger(), metrics);
    let status = 200;
    for (let n = 0; n < 40 && status === 200; n++) {
      h.clock.now += 5000;
      status = (await call(handler, { body: { target: GB(n) } })).status;
    }
    expect(status).toBe(429);
    const named = (name: string) => counts.filter((c) => c.name === name).map((c) => c.dimensions);
    expect(named(SMS_METRICS.breakerTripped)).toEqual([{}, { country: 'GB', mode: 'enforce' }]);
    expect(named(SMS_METRICS.sent)).toContainEqual({ country: 'GB' });
    expect(named(SMS_METRICS.sent)).toContainEqual({ clientId: 'anonymous' });
    expect(named(SMS_METRICS.refused)).toEqual([
      { reason: 'country-paused' },
      { reason: 'country-paused', clientId: 'anonymous' },
      { reason: 'country-paused', country: 'GB' },
    ]);
  });
});
