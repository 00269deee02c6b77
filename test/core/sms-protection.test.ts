import { describe, expect, it } from 'vitest';
import {
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
});
