import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { stateKey } from '../../functions/adapters/dynamo/keys.js';
import { effectiveConfig } from '../../functions/core/client-policy.js';
import { opaqueKey } from '../../functions/core/codes.js';
import { RateLimitedError } from '../../functions/core/errors.js';
import { sendCode } from '../../functions/core/send-code.js';
import { DAY_MS, HOUR_MS, windowOf } from '../../functions/core/windows.js';
import { type Harness, harness, PEPPER, sendTo, stateItem } from '../support.js';

/**
 * The caps on SMS spend (API.md, send 429 reasons country-hourly, prefix-hourly, sms-hourly): on
 * DynamoDB Local, each refuses without counting anything, the sharded ones let exactly their limit
 * through, and a client's policy adds caps of its own.
 */

const AREAS = [201, 212, 213, 305, 312, 415, 510, 617, 646, 650, 702, 718, 786, 917];
/** A US mobile number of its own number block (+1 AREA 555 D...: the block is all but the last three digits). */
const usNumber = (n: number) =>
  `+1${AREAS[n % AREAS.length]}555${Math.floor(n / AREAS.length) % 10}${String(n).padStart(3, '0').slice(-3)}`;
/** The n-th number of one block. */
const sameBlock = (n: number) => `+1415555012${n}`.slice(0, 12);
const GB = (n: number) => `+447911${String(n).padStart(6, '0')}`;

/** No per-target, per-IP or breaker limit in the way: only the caps under test. */
const ONLY_CAPS = {
  OTP_RESEND_COOLDOWN_SECONDS: '0',
  OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0',
  OTP_BREAKER_MODE: 'off',
  OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0',
  OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '0',
  OTP_SMS_LIMIT_PER_HOUR: '0',
};

async function refusal(send: Promise<unknown>): Promise<RateLimitedError> {
  const error = await send.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RateLimitedError);
  return error as RateLimitedError;
}

/** The state items whose key starts with `prefix`, read consistently. */
async function items(h: Harness, prefix: string) {
  const { Items } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable, ConsistentRead: true }));
  return (Items ?? []).map((item) => unmarshall(item)).filter((item) => String(item.pk).startsWith(prefix));
}

const sumOf = (list: Record<string, any>[]) => list.reduce((sum, item) => sum + Number(item.sends ?? 0), 0);
const TEN_AM = Date.UTC(2036, 0, 1, 10, 0, 0);

describe('SMS caps', () => {
  it('the numbers of the tests are valid, and each usNumber is a block of its own', () => {
    const blocks = new Set(Array.from({ length: 60 }, (_, n) => usNumber(n).slice(0, -3)));
    expect(blocks.size).toBe(60);
    expect(new Set(Array.from({ length: 10 }, (_, n) => sameBlock(n).slice(0, -3))).size).toBe(1);
  });

  it('prefix-hourly: 10 SMS per number block per hour by default, then 429 until the hour ends; other blocks go on', async () => {
    const h = await harness({ ...ONLY_CAPS, OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '10' });
    h.clock.now = TEN_AM + 20 * 60_000;
    for (let n = 0; n < 10; n++) await sendTo(h, sameBlock(n));
    const refused = await refusal(sendTo(h, '+14155550199'));
    expect(refused).toMatchObject({ reason: 'prefix-hourly', retryAfterSeconds: 40 * 60, country: 'US' });
    await expect(sendTo(h, usNumber(3))).resolves.toMatchObject({ otpType: 'sms' });
    expect(h.sender.sent).toHaveLength(11);
    // Refused, counted by nothing: the number's own counter and the block's count stayed as they were.
    expect(
      await stateItem(
        h,
        stateKey.sendCounter(opaqueKey(PEPPER, 'target', '+14155550199'), windowOf(h.clock.now, DAY_MS).index),
      ),
    ).toBeUndefined();
    const block = await stateItem(
      h,
      stateKey.smsBlock(opaqueKey(PEPPER, 'block', '+14155550'), windowOf(h.clock.now, HOUR_MS).index),
    );
    expect(block?.sends).toBe(10);
    h.clock.now = TEN_AM + HOUR_MS;
    await expect(sendTo(h, '+14155550199')).resolves.toMatchObject({ otpType: 'sms' });
  });

  it('no key holds a number block in plain', async () => {
    const h = await harness({ ...ONLY_CAPS, OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '10' });
    await sendTo(h, sameBlock(1));
    const all = await items(h, '');
    expect(all.length).toBeGreaterThan(0);
    for (const item of all) expect(String(item.pk)).not.toContain('4155550');
  });

  it('country-hourly: exactly the limit per country, spread over shards, refused only when all are full; other countries go on', async () => {
    const h = await harness({ ...ONLY_CAPS, OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '23', OTP_COUNTER_SHARDS: '10' });
    h.clock.now = TEN_AM;
    for (let n = 0; n < 23; n++) await sendTo(h, usNumber(n));
    expect(await refusal(sendTo(h, usNumber(23)))).toMatchObject({ reason: 'country-hourly', country: 'US' });
    const shards = await items(h, 'smscountry#US#');
    expect(shards.length).toBe(10);
    expect(sumOf(shards)).toBe(23);
    // The shares add up to the limit: 3 shards of 3, 7 of 2, each full.
    expect(shards.map((item) => item.sends).sort()).toEqual([2, 2, 2, 2, 2, 2, 2, 3, 3, 3]);
    await expect(sendTo(h, GB(1))).resolves.toMatchObject({ otpType: 'sms' });
    // E-mail is never an SMS.
    await expect(sendTo(h, 'ada@example.com')).resolves.toMatchObject({ otpType: 'email' });
  });

  it('sms-hourly: the deployment cap holds, e-mail goes on', async () => {
    const h = await harness({ ...ONLY_CAPS, OTP_SMS_LIMIT_PER_HOUR: '4' });
    h.clock.now = TEN_AM;
    await sendTo(h, usNumber(1));
    await sendTo(h, GB(1));
    await sendTo(h, usNumber(2));
    await sendTo(h, GB(2));
    expect(await refusal(sendTo(h, GB(3)))).toMatchObject({ reason: 'sms-hourly', country: 'GB' });
    await expect(sendTo(h, 'ada@example.com')).resolves.toMatchObject({ otpType: 'email' });
    expect(h.sender.sent.filter((m) => m.channel === 'sms')).toHaveLength(4);
  });

  it('the default caps: 500 per country, 10 per block, 2000 per deployment per hour', async () => {
    const h = await harness();
    expect(h.deps.config).toMatchObject({
      smsLimitPerCountryPerHour: 500,
      smsLimitPerPrefixPerHour: 10,
      smsLimitPerHour: 2000,
      counterShards: 10,
    });
  });

  it('in parallel: 60 SMS against a country cap of 25 and a deployment cap of 40 send at most 25, and the counters hold exactly what was sent', async () => {
    const h = await harness({
      ...ONLY_CAPS,
      OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '25',
      OTP_SMS_LIMIT_PER_HOUR: '40',
    });
    h.clock.now = TEN_AM;
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, n) => sendTo(h, usNumber(n))));
    const passed = results.filter((r) => r.status === 'fulfilled').length;
    const reasons = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as RateLimitedError).reason] : []));
    expect(passed).toBeLessThanOrEqual(25);
    expect(passed + reasons.length).toBe(60);
    // Only the country cap, or contention between the parallel sends (answered as a cooldown), refused.
    expect(new Set(reasons)).toSatisfy((set: Set<string>) =>
      [...set].every((r) => ['country-hourly', 'cooldown'].includes(r)),
    );
    expect(h.sender.sent).toHaveLength(passed);
    expect(sumOf(await items(h, 'smscountry#US#'))).toBe(passed);
    expect(sumOf(await items(h, 'smsall#'))).toBe(passed);
    // Whatever contention refused, the cap still lets exactly 25 through in the hour.
    for (let n = 60; passed + (n - 60) < 25; n++) await sendTo(h, usNumber(n));
    expect(await refusal(sendTo(h, usNumber(99)))).toMatchObject({ reason: 'country-hourly' });
    expect(sumOf(await items(h, 'smscountry#US#'))).toBe(25);
  });

  it("a client's policy adds caps of its own and lowers the block's, for its calls only", async () => {
    const h = await harness({ ...ONLY_CAPS, OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '10' });
    h.clock.now = TEN_AM;
    const small = {
      ...h.deps,
      config: effectiveConfig(h.deps.config, {
        smsLimitPerHour: 3,
        smsLimitPerCountryPerHour: 2,
        smsLimitPerPrefixPerHour: 2,
      }),
    };
    const asSmall = (target: string) => sendCode(small, { target, purpose: 'login', clientId: 'small-app' });
    await asSmall(sameBlock(1));
    await asSmall(sameBlock(2));
    expect(await refusal(asSmall(sameBlock(3)))).toMatchObject({ reason: 'prefix-hourly' });
    // Anyone else still has the deployment's 10 for that block.
    await expect(sendTo(h, sameBlock(3))).resolves.toBeDefined();
    const countryCap = await refusal(asSmall(usNumber(20)));
    expect(countryCap).toMatchObject({ reason: 'country-hourly' });
    expect(countryCap.message).toMatch(/this app/i);
    await asSmall(GB(1));
    const hourCap = await refusal(asSmall(GB(2)));
    expect(hourCap).toMatchObject({ reason: 'sms-hourly' });
    expect(hourCap.message).toMatch(/this app/i);
    // Its own counters, under its id; others are untouched.
    expect(sumOf(await items(h, 'smsclient#small-app#'))).toBe(3);
    await expect(sendTo(h, GB(2))).resolves.toBeDefined();
  });

  it("a client's test identity is not an SMS: no cap counts it", async () => {
    const h = await harness({ ...ONLY_CAPS, OTP_SMS_LIMIT_PER_HOUR: '1' });
    const review = {
      ...h.deps,
      config: effectiveConfig(h.deps.config, { testTargets: [{ target: usNumber(5), code: '730291' }] }),
    };
    for (let i = 0; i < 3; i++) await sendCode(review, { target: usNumber(5), purpose: 'login', clientId: 'review' });
    await expect(sendTo(h, usNumber(6))).resolves.toBeDefined();
    expect(await refusal(sendTo(h, usNumber(7)))).toMatchObject({ reason: 'sms-hourly' });
  });
});
