import { describe, expect, it } from 'vitest';
import { opaqueKey } from '../../functions/core/codes.js';
import { otherKeys, otherPeppers, targetRef, withCurrentPeppers } from '../../functions/core/peppers.js';

const CURRENT = 'c'.repeat(32);
const PREVIOUS = 'p'.repeat(32);
const NEXT = 'n'.repeat(32);
const TARGET = { address: '+14155550123', channel: 'sms' as const };

describe('otherPeppers', () => {
  it('is empty outside a rotation', () => {
    expect(otherPeppers({ pepper: CURRENT })).toEqual([]);
  });

  it('gives the previous pepper before the next one', () => {
    expect(otherPeppers({ pepper: CURRENT, previousPepper: PREVIOUS, nextPepper: NEXT })).toEqual([PREVIOUS, NEXT]);
    expect(otherPeppers({ pepper: CURRENT, nextPepper: NEXT })).toEqual([NEXT]);
  });

  it('leaves out a pepper equal to the current one, and gives a repeated one once', () => {
    expect(otherPeppers({ pepper: CURRENT, previousPepper: CURRENT, nextPepper: NEXT })).toEqual([NEXT]);
    expect(otherPeppers({ pepper: CURRENT, previousPepper: PREVIOUS, nextPepper: PREVIOUS })).toEqual([PREVIOUS]);
  });
});

describe('targetRef', () => {
  it('keys the target with the current pepper only, outside a rotation', () => {
    expect(targetRef({ pepper: CURRENT }, TARGET)).toEqual({
      targetKey: opaqueKey(CURRENT, 'target', TARGET.address),
      address: TARGET.address,
      channel: 'sms',
    });
  });

  it('adds the keys under the previous and the next pepper during a rotation', () => {
    const ref = targetRef({ pepper: CURRENT, previousPepper: PREVIOUS, nextPepper: NEXT }, TARGET);
    expect(ref.previousKey).toBe(opaqueKey(PREVIOUS, 'target', TARGET.address));
    expect(ref.nextKey).toBe(opaqueKey(NEXT, 'target', TARGET.address));
    expect(otherKeys(ref)).toEqual([ref.previousKey, ref.nextKey]);
  });

  it('adds no second key for a pepper equal to the current one or to the previous one', () => {
    const sameAsCurrent = targetRef({ pepper: CURRENT, previousPepper: CURRENT, nextPepper: CURRENT }, TARGET);
    expect(sameAsCurrent).not.toHaveProperty('previousKey');
    expect(sameAsCurrent).not.toHaveProperty('nextKey');
    expect(otherKeys(sameAsCurrent)).toEqual([]);
    const nextIsPrevious = targetRef({ pepper: CURRENT, previousPepper: PREVIOUS, nextPepper: PREVIOUS }, TARGET);
    expect(nextIsPrevious.previousKey).toBe(opaqueKey(PREVIOUS, 'target', TARGET.address));
    expect(nextIsPrevious).not.toHaveProperty('nextKey');
  });

  it('adds no next key for a next pepper that is already current', () => {
    const ref = targetRef({ pepper: CURRENT, previousPepper: PREVIOUS, nextPepper: CURRENT }, TARGET);
    expect(ref.previousKey).toBe(opaqueKey(PREVIOUS, 'target', TARGET.address));
    expect(ref).not.toHaveProperty('nextKey');
  });
});

describe('withCurrentPeppers', () => {
  it('gives the deps as they are when the peppers are fixed', async () => {
    const deps = { config: { pepper: CURRENT }, now: () => 5 };
    expect(await withCurrentPeppers(deps)).toBe(deps);
  });

  it('puts the peppers the source holds now into the config, dropping one a rotation dropped', async () => {
    const asked: number[] = [];
    const deps = {
      config: { pepper: PREVIOUS, nextPepper: CURRENT, codeLength: 6 },
      now: () => 42,
      peppers: (now: number) => {
        asked.push(now);
        return Promise.resolve({ pepper: CURRENT, previousPepper: PREVIOUS });
      },
    };
    const current = await withCurrentPeppers(deps);
    expect(asked).toEqual([42]);
    expect(current.config).toEqual({ pepper: CURRENT, previousPepper: PREVIOUS, nextPepper: undefined, codeLength: 6 });
    expect(current.now).toBe(deps.now);
    expect(deps.config.pepper).toBe(PREVIOUS);
  });
});
