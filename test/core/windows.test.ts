import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, secondsUntil, windowOf } from '../../functions/core/windows.js';

const NOON = Date.UTC(2036, 0, 1, 12, 0, 0);

describe('windowOf', () => {
  it('gives the UTC hour a time falls in, its start included and its end excluded', () => {
    const window = windowOf(NOON + 59 * 60_000, HOUR_MS);
    expect(window).toEqual({ index: NOON / HOUR_MS, start: NOON, end: NOON + HOUR_MS });
    expect(windowOf(NOON, HOUR_MS).index).toBe(window.index);
    expect(windowOf(NOON + HOUR_MS, HOUR_MS).index).toBe(window.index + 1);
    expect(windowOf(NOON - 1, HOUR_MS)).toEqual({ index: window.index - 1, start: NOON - HOUR_MS, end: NOON });
  });

  it('gives the UTC day for a day-sized window', () => {
    const midnight = Date.UTC(2036, 0, 1);
    expect(windowOf(NOON, DAY_MS)).toEqual({ index: midnight / DAY_MS, start: midnight, end: midnight + DAY_MS });
  });
});

describe('secondsUntil', () => {
  it('rounds a part of a second up: a client that waits that long is not refused again', () => {
    expect(secondsUntil(NOON, NOON + 1_001)).toBe(2);
    expect(secondsUntil(NOON, NOON + 1_000)).toBe(1);
    expect(secondsUntil(NOON, NOON + 90_000)).toBe(90);
  });

  it('is at least one second, also for a time already past', () => {
    expect(secondsUntil(NOON, NOON + 1)).toBe(1);
    expect(secondsUntil(NOON, NOON)).toBe(1);
    expect(secondsUntil(NOON, NOON - 5_000)).toBe(1);
  });
});
