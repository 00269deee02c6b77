import type { CoreConfig } from './deps.js';
import { DAY_MS, type Window } from './windows.js';

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

/** A breaker window's counts, and when its first SMS was sent (undefined: none yet). */
export interface WindowCounts extends Conversion {
  firstAt?: number;
}

type BreakerSettings = Pick<CoreConfig, 'breakerMinSends' | 'breakerMinConversion'>;

/**
 * The breaker window `at` falls in: fixed windows from midnight UTC, the last one of a day shorter
 * when the size does not divide a day. `index` numbers them, for the counters' keys.
 */
export function breakerWindowOf(at: number, windowMs: number): Window {
  const day = Math.floor(at / DAY_MS);
  const perDay = Math.ceil(DAY_MS / windowMs);
  const slot = Math.floor((at - day * DAY_MS) / windowMs);
  const start = day * DAY_MS + slot * windowMs;
  return { index: day * perDay + slot, start, end: Math.min(start + windowMs, (day + 1) * DAY_MS) };
}

/**
 * Whether a country's conversion trips the breaker: enough SMS to judge, and too few of their codes
 * verified. Pumped numbers never enter a code; real customers mostly do.
 */
export function breakerTrips(window: Conversion, config: BreakerSettings): boolean {
  return window.sent >= config.breakerMinSends && window.verified < config.breakerMinConversion * window.sent;
}

/**
 * Whether one shard of the window, a random sample of its SMS, suggests that the window trips: then
 * (and only then) the send reads every shard to judge the exact counts.
 */
export function sampleSuggestsTrip(sample: Conversion, shards: number, config: BreakerSettings): boolean {
  return breakerTrips({ sent: sample.sent * shards, verified: sample.verified * shards }, config);
}

export interface BreakerVerdict {
  trips: boolean;
  /** Too soon to judge: when the oldest SMS counted will have had its code lifetime. */
  judgeableAt?: number;
  /** Judged on enough SMS, and they convert: a verdict that holds a while. */
  cleared?: boolean;
  /** The counts judged: the current window and the part of the previous one still in reach. */
  judged: Conversion;
}

/**
 * The breaker's judgement at `now`, over a sliding window: the current fixed window plus the
 * previous one, weighted by how much of it a window ending now would still hold. So a country's
 * conversion does not start from nothing at every window's start (when the codes of its first SMS
 * have not been entered yet), and a country pumped in the last window is judged on it at once.
 * Nothing is judged until the oldest SMS counted could have been verified (`graceMs`, the code
 * lifetime): real customers take their time to type a code, pumped numbers never will.
 */
export function breakerVerdict(
  now: number,
  window: Window,
  counts: { current: WindowCounts; previous: WindowCounts },
  graceMs: number,
  config: BreakerSettings,
): BreakerVerdict {
  const { current, previous } = counts;
  const weight = Math.max(0, 1 - (now - window.start) / (window.end - window.start));
  const judged = {
    sent: current.sent + previous.sent * weight,
    verified: current.verified + previous.verified * weight,
  };
  const firstAt = previous.sent * weight > 0 ? previous.firstAt : current.firstAt;
  if (firstAt === undefined || now - firstAt < graceMs) {
    return { trips: false, judged, judgeableAt: (firstAt ?? now) + graceMs };
  }
  const trips = breakerTrips(judged, config);
  return { trips, judged, ...(!trips && judged.sent >= config.breakerMinSends ? { cleared: true } : {}) };
}
