import type { CoreConfig } from './deps.js';

/**
 * The number block of a phone number: all its digits but the last three. Pumping rents ranges of
 * consecutive numbers, so a cap per block stops a run through one range after a few SMS, where a
 * cap per number would let every number of it through.
 */
export function numberBlockOf(e164: string): string {
  return e164.slice(0, -3);
}

/**
 * A limit spread over shards (DESIGN.md, Data: a counter every send touches is write-sharded): shard
 * `index` of `limit` counts at most its share, the shares adding up to the limit exactly, so the
 * shards together never pass it. A limit smaller than the shard count uses only `limit` shards,
 * each with a share of one.
 */
export function shardShare(limit: number, shards: number, index: number): number {
  const used = usedShards(limit, shards);
  return Math.floor(limit / used) + (index < limit % used ? 1 : 0);
}

/** How many shards a limit is spread over: never more than the limit, so that every share is at least one. */
export function usedShards(limit: number, shards: number): number {
  return Math.max(1, Math.min(shards, limit));
}

/**
 * Shards in the order a send tries them: from a random one on, so that sends spread over them. A
 * send refused by a full shard tries the next, so a cap refuses only when every shard is full.
 */
export function shardOrder(limit: number, shards: number, random: () => number = Math.random): number[] {
  const used = usedShards(limit, shards);
  const first = Math.floor(random() * used);
  return Array.from({ length: used }, (_, step) => (first + step) % used);
}

/** SMS sent to a country, and how many of their codes were verified, within one breaker window. */
export interface Conversion {
  sent: number;
  verified: number;
}

type BreakerSettings = Pick<CoreConfig, 'breakerMinSends' | 'breakerMinConversion'>;

/**
 * Whether a country's conversion over its window trips the breaker: enough SMS to judge, and too few
 * of their codes verified. Pumped numbers never enter a code; real customers mostly do.
 */
export function breakerTrips(window: Conversion, config: BreakerSettings): boolean {
  return window.sent >= config.breakerMinSends && window.verified < config.breakerMinConversion * window.sent;
}

/**
 * Whether one shard of the window, a random sample of its SMS, suggests that the whole window trips:
 * then (and only then) the send reads every shard to judge the exact counts, so that a send to a
 * country that converts well never pays a read.
 */
export function sampleSuggestsTrip(sample: Conversion, shards: number, config: BreakerSettings): boolean {
  return breakerTrips({ sent: sample.sent * shards, verified: sample.verified * shards }, config);
}
