import type { OtpStore } from './ports.js';

/** How far back the cleanup looks: TTL deletes expired items, usually within two days. */
export const CLEANUP_LOOKBACK_HOURS = 72;

export interface CleanupResult {
  /** Items removed, by kind: code, send, ip, session, fails. */
  removed: Record<string, number>;
  total: number;
}

/** Removes expired items that TTL has not deleted yet, at most `limit` in one run. */
export async function removeExpiredItems(
  deps: { store: Pick<OtpStore, 'removeExpired'>; now: () => number },
  limit: number,
): Promise<CleanupResult> {
  const removed = await deps.store.removeExpired(deps.now(), limit, CLEANUP_LOOKBACK_HOURS);
  return { removed, total: Object.values(removed).reduce((sum, count) => sum + count, 0) };
}
