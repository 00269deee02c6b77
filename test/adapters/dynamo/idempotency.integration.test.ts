import { describe, expect, it } from 'vitest';
import { stateKey, TTL } from '../../../functions/adapters/dynamo/keys.js';
import type { IdempotencyClaim } from '../../../functions/core/ports.js';
import { type Harness, harness, stateItem } from '../../support.js';

/** The Idempotency-Key records on DynamoDB Local: who takes a key, and what the others learn. */

const LEASE_MS = 30_000;
const TTL_MS = 300_000;

function claim(h: Harness, fields: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
  const now = h.clock.now;
  return {
    recordKey: 'record-key-0123456789abcdefghijk',
    fingerprint: 'fingerprint-a',
    attempt: 'attempt-1',
    now,
    leaseUntil: now + LEASE_MS,
    expiresAt: now + TTL_MS,
    ...fields,
  };
}

const recordOf = (h: Harness, recordKey = claim(h).recordKey) => stateItem(h, stateKey.idempotency(recordKey));

describe('Idempotency-Key records', () => {
  it('20 parallel takes of one key: exactly one takes it, 19 learn it is pending, with its fingerprint', async () => {
    const h = await harness();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.store.takeIdempotencyKey(claim(h, { attempt: `attempt-${i}` }))),
    );
    expect(outcomes.filter((outcome) => outcome === undefined)).toHaveLength(1);
    const held = outcomes.filter((outcome) => outcome !== undefined);
    expect(held).toHaveLength(19);
    for (const record of held) {
      expect(record).toEqual({ state: 'pending', fingerprint: 'fingerprint-a', leaseUntil: h.clock.now + LEASE_MS });
    }
  });

  it('a completed record is handed over with its sealed answer; only its own attempt completes it', async () => {
    const h = await harness();
    expect(await h.store.takeIdempotencyKey(claim(h))).toBeUndefined();
    const completion = { recordKey: claim(h).recordKey, sealed: 'sealed-answer', expiresAt: h.clock.now + TTL_MS };
    expect(await h.store.completeIdempotencyKey({ ...completion, attempt: 'attempt-2' })).toBe(false);
    expect(await h.store.completeIdempotencyKey({ ...completion, attempt: 'attempt-1' })).toBe(true);
    expect(await h.store.takeIdempotencyKey(claim(h, { attempt: 'attempt-3', fingerprint: 'other' }))).toEqual({
      state: 'done',
      fingerprint: 'fingerprint-a',
      sealed: 'sealed-answer',
      expiresAt: h.clock.now + TTL_MS,
    });
    const item = await recordOf(h);
    expect(item).toMatchObject({ state: 'done', [TTL]: Math.ceil((h.clock.now + TTL_MS) / 1000) });
    expect(item).not.toHaveProperty('leaseUntil');
  });

  it('a release frees the key for the next take; another attempt cannot release it, nor a done record', async () => {
    const h = await harness();
    await h.store.takeIdempotencyKey(claim(h));
    await h.store.releaseIdempotencyKey(claim(h).recordKey, 'attempt-2');
    expect(await recordOf(h)).toMatchObject({ state: 'pending', attempt: 'attempt-1' });
    await h.store.releaseIdempotencyKey(claim(h).recordKey, 'attempt-1');
    expect(await recordOf(h)).toBeUndefined();

    expect(await h.store.takeIdempotencyKey(claim(h, { attempt: 'attempt-2' }))).toBeUndefined();
    await h.store.completeIdempotencyKey({
      recordKey: claim(h).recordKey,
      attempt: 'attempt-2',
      sealed: 'sealed-answer',
      expiresAt: h.clock.now + TTL_MS,
    });
    await h.store.releaseIdempotencyKey(claim(h).recordKey, 'attempt-2');
    expect(await recordOf(h)).toMatchObject({ state: 'done' });
  });

  it('a pending record is taken over once its lease has run out, and not a moment before', async () => {
    const h = await harness();
    await h.store.takeIdempotencyKey(claim(h));
    h.clock.now += LEASE_MS - 1;
    expect(await h.store.takeIdempotencyKey(claim(h, { attempt: 'attempt-2' }))).toMatchObject({ state: 'pending' });
    h.clock.now += 1;
    expect(await h.store.takeIdempotencyKey(claim(h, { attempt: 'attempt-2' }))).toBeUndefined();
    expect(await recordOf(h)).toMatchObject({ attempt: 'attempt-2' });
    // The first attempt, back late, neither completes nor releases what is no longer its own.
    const late = { recordKey: claim(h).recordKey, attempt: 'attempt-1', sealed: 'late', expiresAt: h.clock.now };
    expect(await h.store.completeIdempotencyKey(late)).toBe(false);
    await h.store.releaseIdempotencyKey(claim(h).recordKey, 'attempt-1');
    expect(await recordOf(h)).toMatchObject({ state: 'pending', attempt: 'attempt-2' });
  });

  it('a done record is taken afresh once it expires, whatever TTL has not removed yet', async () => {
    const h = await harness();
    await h.store.takeIdempotencyKey(claim(h));
    const expiresAt = h.clock.now + TTL_MS;
    await h.store.completeIdempotencyKey({
      recordKey: claim(h).recordKey,
      attempt: 'attempt-1',
      sealed: 's',
      expiresAt,
    });
    h.clock.now = expiresAt - 1;
    expect(await h.store.takeIdempotencyKey(claim(h, { attempt: 'attempt-2' }))).toMatchObject({ state: 'done' });
    h.clock.now = expiresAt;
    expect(await h.store.takeIdempotencyKey(claim(h, { attempt: 'attempt-2' }))).toBeUndefined();
  });

  it('the cleanup removes an expired record that TTL has not removed yet (with the expiry sweep)', async () => {
    const h = await harness({ OTP_EXPIRY_SWEEP: 'true' });
    await h.store.takeIdempotencyKey(claim(h));
    expect(await h.store.removeExpired(h.clock.now + TTL_MS - 1, 100, 2)).toEqual({});
    expect(await h.store.removeExpired(h.clock.now + TTL_MS, 100, 2)).toEqual({ idem: 1 });
    expect(await recordOf(h)).toBeUndefined();
  });
});
