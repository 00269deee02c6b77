import { describe, expect, it } from 'vitest';
import { CLEANUP_LOOKBACK_HOURS, removeExpiredItems } from '../../functions/core/cleanup.js';

describe('removeExpiredItems', () => {
  it('asks the store for items expired by now, within the limit and the lookback, and sums what it removed', async () => {
    const calls: unknown[][] = [];
    const result = await removeExpiredItems(
      {
        store: {
          removeExpired: (...args: unknown[]) => {
            calls.push(args);
            return Promise.resolve({ code: 3, send: 2, session: 0 });
          },
        },
        now: () => 1_000,
      },
      25,
    );
    expect(calls).toEqual([[1_000, 25, CLEANUP_LOOKBACK_HOURS]]);
    expect(result).toEqual({ removed: { code: 3, send: 2, session: 0 }, total: 5 });
  });

  it('counts zero when nothing was removed', async () => {
    const result = await removeExpiredItems({ store: { removeExpired: () => Promise.resolve({}) }, now: () => 0 }, 1);
    expect(result.total).toBe(0);
  });
});
