/** Fixed UTC windows for send counters. All times are epoch milliseconds. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface Window {
  /** Index of the window since the epoch; part of the counter's key. */
  index: number;
  start: number;
  end: number;
}

export function windowOf(now: number, size: number): Window {
  const index = Math.floor(now / size);
  return { index, start: index * size, end: (index + 1) * size };
}

/** Whole seconds until `until`, at least 1, as Retry-After wants. */
export function secondsUntil(now: number, until: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}
