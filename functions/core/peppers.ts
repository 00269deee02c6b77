import { opaqueKey } from './codes.js';
import type { TargetRef } from './ports.js';
import type { Channel } from './purposes.js';

/**
 * The peppers a function holds. Outside a rotation only `pepper`; during one (README, "Rotating the
 * pepper") also the pepper before it or the one coming, so that nothing keyed with the other is lost:
 * a code sent under it is still found by verify, a customer whose lookup item is keyed with it is
 * still found by login (never created a second time), and a new customer is created only when
 * neither key holds the target.
 */
export interface Peppers {
  /** What everything new is keyed and hashed with. */
  pepper: string;
  /** The pepper a rotation replaced (Secrets Manager's AWSPREVIOUS): its lookup items are re-keyed when met. */
  previousPepper?: string;
  /** The pepper a rotation is about to make current (AWSPENDING): found, never re-keyed to. */
  nextPepper?: string;
}

/** The peppers other than the current one, previous first; none outside a rotation. */
export function otherPeppers(peppers: Peppers): string[] {
  const others = [peppers.previousPepper, peppers.nextPepper].filter(
    (other): other is string => other !== undefined && other !== peppers.pepper,
  );
  return [...new Set(others)];
}

/** A normalised target with its key under the current pepper and, during a rotation, under the others. */
export function targetRef(peppers: Peppers, target: { address: string; channel: Channel }): TargetRef {
  const ref: TargetRef = {
    targetKey: opaqueKey(peppers.pepper, 'target', target.address),
    address: target.address,
    channel: target.channel,
  };
  const { previousPepper, nextPepper } = peppers;
  if (previousPepper !== undefined && previousPepper !== peppers.pepper) {
    ref.previousKey = opaqueKey(previousPepper, 'target', target.address);
  }
  if (nextPepper !== undefined && nextPepper !== peppers.pepper && nextPepper !== previousPepper) {
    ref.nextKey = opaqueKey(nextPepper, 'target', target.address);
  }
  return ref;
}

/** The keys other than the current one that may hold the target's lookup item during a rotation. */
export function otherKeys(target: TargetRef): string[] {
  return [target.previousKey, target.nextKey].filter((key): key is string => key !== undefined);
}

/** The peppers as they are now: fixed where they come from the environment, re-read from a secret. */
export type PepperSource = (now: number) => Promise<Peppers>;

/** The deps with the peppers their source holds now (handlers call this per request). */
export async function withCurrentPeppers<D extends { config: object; now: () => number; peppers?: PepperSource }>(
  deps: D,
): Promise<D> {
  if (!deps.peppers) return deps;
  const peppers = await deps.peppers(deps.now());
  // Only the three fields: a pepper a rotation dropped must not linger from the config before.
  return {
    ...deps,
    config: {
      ...deps.config,
      pepper: peppers.pepper,
      previousPepper: peppers.previousPepper,
      nextPepper: peppers.nextPepper,
    },
  };
}
