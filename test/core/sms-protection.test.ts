import { describe, expect, it } from 'vitest';
import {
  breakerVerdict,
  breakerWindowOf,
  breakerTrips,
  numberBlockOf,
  sampleSuggestsTrip,
  shardOrder,
  shardShare,
  usedShards,
} from '../../functions/core/sms-protection.js';

const SETTINGS = { breakerMinSends: 50, breakerMinConversion: 0.2 };

describe('SMS cost protection rules', () => {
  it('a number block is the number without its last three digits', () => {
    expect(numberBlockOf('+14155550123')).toBe('+14155550');
    expect(numberBlockOf('+447911123456')).toBe('+447911123');
  });

  it.each([
    [500, 10],
    [23, 10],
    [7, 10],
    [1, 10],
    [10, 1],
    [1001, 7],
  ])('the shares of %i over %i shards add up to the limit exactly, each at least one', (limit, shards) => {
    const used = usedShards(limit, shards);
    expect(used).toBe(Math.min(limit, shards));
    const shares = Array.from({ length: used }, (_, index) => shardShare(limit, shards, index));
    expect(shares.reduce((sum, share) => sum + share, 0)).toBe(limit);
    expect(Math.min(...shares)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
  });

  it('a send tries every used shard once, from a random one on', () => {
    expect(shardOrder(500, 10, () => 0.35)).toEqual([3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
    expect(shardOrder(3, 10, () => 0.99)).toEqual([2, 0, 1]);
    expect(new Set(shardOrder(40, 10)).size).toBe(10);
  });

  it('the breaker trips on enough SMS and too few verified, not before', () => {
    expect(breakerTrips({ sent: 49, verified: 0 }, SETTINGS)).toBe(false);
    expect(breakerTrips({ sent: 50, verified: 9 }, SETTINGS)).toBe(true);
    expect(breakerTrips({ sent: 50, verified: 10 }, SETTINGS)).toBe(false);
    expect(breakerTrips({ sent: 1000, verified: 199 }, SETTINGS)).toBe(true);
    expect(breakerTrips({ sent: 1000, verified: 0 }, { ...SETTINGS, breakerMinConversion: 0 })).toBe(false);
  });

  it('a shard suggests a trip as the whole window would, scaled by the shard count', () => {
    expect(sampleSuggestsTrip({ sent: 4, verified: 0 }, 10, SETTINGS)).toBe(false);
    expect(sampleSuggestsTrip({ sent: 5, verified: 0 }, 10, SETTINGS)).toBe(true);
    expect(sampleSuggestsTrip({ sent: 5, verified: 1 }, 10, SETTINGS)).toBe(false);
  });

  it('breaker windows start at midnight UTC; a size that does not divide a day ends the day with a shorter one', () => {
    const midnight = Date.UTC(2036, 0, 2);
    const hour = breakerWindowOf(midnight + 90 * 60_000, 3600_000);
    expect(hour).toMatchObject({ start: midnight + 3600_000, end: midnight + 7200_000 });
    const last = breakerWindowOf(midnight - 1000, 7000_000);
    expect(last.end).toBe(midnight);
    expect(last.end - last.start).toBe(86_400_000 - 12 * 7000_000);
    const first = breakerWindowOf(midnight + 1000, 7000_000);
    expect(first.start).toBe(midnight);
    expect(first.index).toBe(last.index + 1);
  });

  it('the verdict blends the previous window by what a window ending now still holds of it', () => {
    const window = { index: 10, start: 3600_000, end: 7200_000 };
    const previous = { sent: 100, verified: 0, firstAt: 0 };
    // A quarter into the window: three quarters of the previous one still count.
    const verdict = breakerVerdict(
      4500_000,
      window,
      { current: { sent: 10, verified: 10, firstAt: 3700_000 }, previous },
      60_000,
      SETTINGS,
    );
    expect(verdict.judged).toEqual({ sent: 85, verified: 10 });
    expect(verdict.trips).toBe(true);
    // At the window's end the previous one no longer counts.
    const late = breakerVerdict(
      7199_999,
      window,
      { current: { sent: 60, verified: 30, firstAt: 3700_000 }, previous },
      60_000,
      SETTINGS,
    );
    expect(late).toMatchObject({ trips: false, cleared: true });
    // Too few SMS to judge is no verdict that holds.
    const few = breakerVerdict(
      7199_999,
      window,
      { current: { sent: 10, verified: 0, firstAt: 3700_000 }, previous },
      60_000,
      SETTINGS,
    );
    expect(few.trips).toBe(false);
    expect(few.cleared).toBeUndefined();
  });

  it("the previous window's verified codes are blended like its SMS", () => {
    const window = { index: 10, start: 3600_000, end: 7200_000 };
    const verdict = breakerVerdict(
      4500_000,
      window,
      { current: { sent: 10, verified: 2, firstAt: 3700_000 }, previous: { sent: 100, verified: 40, firstAt: 0 } },
      60_000,
      SETTINGS,
    );
    expect(verdict.judged).toEqual({ sent: 85, verified: 32 });
  });

  it('the oldest SMS counted is that of the previous window while it still counts', () => {
    const window = { index: 10, start: 3600_000, end: 7200_000 };
    // The current window's first SMS is seconds old, but the previous window's are old enough.
    const counts = {
      current: { sent: 1, verified: 0, firstAt: 3650_000 },
      previous: { sent: 100, verified: 0, firstAt: 0 },
    };
    expect(breakerVerdict(3660_000, window, counts, 60_000, SETTINGS)).toMatchObject({ trips: true });
  });

  it('with no SMS counted yet, judges nothing until a code lifetime from now', () => {
    const window = { index: 10, start: 3600_000, end: 7200_000 };
    const none = { sent: 0, verified: 0 };
    expect(breakerVerdict(4000_000, window, { current: none, previous: none }, 60_000, SETTINGS)).toEqual({
      trips: false,
      judged: { sent: 0, verified: 0 },
      judgeableAt: 4060_000,
    });
  });

  it('a window of exactly the minimum SMS that converts is cleared', () => {
    const window = { index: 10, start: 3600_000, end: 7200_000 };
    const counts = { current: { sent: 50, verified: 25, firstAt: 3600_000 }, previous: { sent: 0, verified: 0 } };
    expect(breakerVerdict(7199_999, window, counts, 60_000, SETTINGS)).toMatchObject({ trips: false, cleared: true });
  });

  it('nothing is judged before the oldest SMS counted is a code lifetime old, and the verdict says when it can be', () => {
    const window = { index: 10, start: 3600_000, end: 7200_000 };
    const counts = { current: { sent: 100, verified: 0, firstAt: 3600_000 }, previous: { sent: 0, verified: 0 } };
    expect(breakerVerdict(3659_999, window, counts, 60_000, SETTINGS)).toMatchObject({
      trips: false,
      judgeableAt: 3660_000,
    });
    expect(breakerVerdict(3660_000, window, counts, 60_000, SETTINGS)).toMatchObject({ trips: true });
  });
});
