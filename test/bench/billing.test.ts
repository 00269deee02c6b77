import { describe, expect, it } from 'vitest';
import { billedWriteUnits, indexWrites, type Item } from '../../bench/billing.js';

/** A state item with string and number attributes, as the bench reads them back. */
function item(attributes: Record<string, string | number>): Item {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      typeof value === 'number' ? { N: String(value) } : { S: value },
    ]),
  );
}

const session = { pk: 'session#abc', expiresAt: 10 };
const due = { dueBucket: 'due#1#0', dueAt: 10 };
const family = { pk: 'family#abc', sessionsOf: 'customer-1', absoluteExpiresAt: 99, lastUsedAt: 1 };

describe('write units as AWS bills them (bench/billing.ts)', () => {
  it('an item under 1 KB: 1 unit, 2 in a transaction; a refused write is billed its size and writes no index', () => {
    expect(billedWriteUnits({ after: item(session), transactional: false })).toBe(1);
    expect(billedWriteUnits({ after: item(session), transactional: true })).toBe(2);
    expect(billedWriteUnits({ before: item({ ...session, ...due }), transactional: true }, true)).toBe(2);
  });

  it('every started KB counts: an item of 1025 bytes is 2 units, 4 in a transaction', () => {
    const big = item({ pk: 'x', blob: 'y'.repeat(1025 - 'pk'.length - 'x'.length - 'blob'.length) });
    expect(billedWriteUnits({ after: big, transactional: false })).toBe(2);
    expect(billedWriteUnits({ after: big, transactional: true })).toBe(4);
  });

  it('the due index: 1 per entry added or removed, 2 when moved, none when left as it was', () => {
    expect(indexWrites(undefined, item({ ...session, ...due }))).toBe(1);
    expect(indexWrites(item({ ...session, ...due }), undefined)).toBe(1);
    expect(indexWrites(item({ ...session, ...due }), item({ ...session, ...due, dueAt: 20 }))).toBe(2);
    expect(indexWrites(item({ ...session, ...due }), item({ ...session, ...due, revokedAt: 5 }))).toBe(0);
    // Without the expiry sweep no item carries the index's attributes: no index write at all.
    expect(indexWrites(undefined, item(session))).toBe(0);
  });

  it('the sessions index: a family added costs 1, and an update of an attribute it copies 1 more', () => {
    expect(indexWrites(undefined, item(family))).toBe(1);
    expect(billedWriteUnits({ after: item(family), transactional: true })).toBe(3);
    expect(indexWrites(item(family), item({ ...family, lastUsedAt: 2 }))).toBe(1);
    // An attribute the index does not copy (a token hash): no index write.
    expect(indexWrites(item(family), item({ ...family, currentSessionHash: 'h' }))).toBe(0);
    // Out of the index (a logout removes sessionsOf): 1.
    const unlisted = { pk: family.pk, absoluteExpiresAt: family.absoluteExpiresAt, lastUsedAt: family.lastUsedAt };
    expect(indexWrites(item(family), item(unlisted))).toBe(1);
  });
});
