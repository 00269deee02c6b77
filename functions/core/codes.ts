import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Purpose } from './purposes.js';

/** A uniformly random numeric code of `length` digits from the CSPRNG. */
export function generateCode(length: number): string {
  // randomInt's range must stay below 2^48; 10 digits (10^10) is well inside it.
  return randomInt(0, 10 ** length)
    .toString()
    .padStart(length, '0');
}

/** The only form in which a code is stored: bound to its target and purpose by the MAC input. */
export function hashCode(pepper: string, target: string, purpose: Purpose, code: string): string {
  return createHmac('sha256', pepper).update(`${target}|${purpose}|${code}`).digest('base64url');
}

/** Constant-time comparison of two hashes produced by `hashCode`. */
export function hashesMatch(a: string, b: string): boolean {
  const left = Buffer.from(a, 'base64url');
  const right = Buffer.from(b, 'base64url');
  // Both are SHA-256 digests; a length mismatch means a corrupt item, never a match.
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Keyed, non-reversible database key for a normalised target or source IP, so that keys cannot be
 * guessed from outside and carry no PII into logs or metrics. The label separates the key spaces.
 */
export function opaqueKey(pepper: string, label: 'target' | 'ip' | 'block', value: string): string {
  return createHmac('sha256', pepper).update(`${label}\0${value}`).digest('base64url').slice(0, 32);
}
