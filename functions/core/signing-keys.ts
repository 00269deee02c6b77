import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';

/**
 * The keys that sign access tokens (ES256, EC P-256), and how they rotate.
 *
 * A key set has three slots. `next` is published in the JWKS but signs nothing yet; `current` signs;
 * `previous` signed until the last rotation and stays published until the next one, so that the
 * tokens it signed verify until they expire. A rotation moves every key one slot on (previous ←
 * current, current ← next, next ← a new key), so a key is published for a whole rotation period
 * before anything signs with it (verifiers that cache the JWKS already hold it), and stays published
 * for a whole period after it stopped signing (far longer than an access token lives).
 */

/** An EC P-256 private key as a JWK (RFC 7518 6.2). */
export interface EcPrivateJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
}

/** The public part of a key as the JWKS publishes it. */
export interface PublicSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

export interface SigningKey {
  /** The RFC 7638 thumbprint of the public key: names the key in a token's header and in the JWKS. */
  kid: string;
  /** When the key was made (epoch ms); it is published from then on. */
  createdAt: number;
  jwk: EcPrivateJwk;
}

export interface SigningKeySet {
  /** When `current` started signing (epoch ms): the set rotates a period after it. */
  rotatedAt: number;
  current: SigningKey;
  next: SigningKey;
  /** Absent until the first rotation. */
  previous?: SigningKey;
}

/** Names the format of the stored JSON, so that a later change can be told apart. */
export const KEY_SET_FORMAT = 'otp-signing-keys/1';

/**
 * What the AWS stack stores in the secret before the first key set exists (lib/otp-signing-keys.ts):
 * the scheduled function replaces it with one on deploy. Public on purpose: it holds no key.
 */
export const EMPTY_KEY_SET = JSON.stringify({ format: KEY_SET_FORMAT, empty: true });

/** A stored key set that cannot be used; the message never contains key material. */
export class KeySetError extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = 'KeySetError';
  }
}

/** RFC 7638: SHA-256 of the required members of the public key, in lexical order, base64url. */
export function jwkThumbprint(jwk: Pick<EcPrivateJwk, 'crv' | 'kty' | 'x' | 'y'>): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function generateSigningKey(now: number): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { x, y, d } = privateKey.export({ format: 'jwk' });
  const jwk: EcPrivateJwk = { kty: 'EC', crv: 'P-256', x: x as string, y: y as string, d: d as string };
  return { kid: jwkThumbprint(jwk), createdAt: now, jwk };
}

/** The first set of a deployment: a key that signs at once, and the next one already published. */
export function initialKeySet(now: number): SigningKeySet {
  return { rotatedAt: now, current: generateSigningKey(now), next: generateSigningKey(now) };
}

export function rotationDue(set: SigningKeySet, now: number, periodMs: number): boolean {
  return now - set.rotatedAt >= periodMs;
}

/** Every key one slot on; the old `previous` is dropped. */
export function rotatedKeySet(set: SigningKeySet, now: number): SigningKeySet {
  return { rotatedAt: now, previous: set.current, current: set.next, next: generateSigningKey(now) };
}

/** The keys a verifier must know: the JWKS, in the order previous, current, next. */
export function publishedKeys(set: SigningKeySet): SigningKey[] {
  return [...(set.previous ? [set.previous] : []), set.current, set.next];
}

export function publicJwk(key: SigningKey): PublicSigningJwk {
  const { kty, crv, x, y } = key.jwk;
  return { kty, crv, x, y, kid: key.kid, alg: 'ES256', use: 'sig' };
}

export function serializeKeySet(set: SigningKeySet): string {
  const key = (k: SigningKey) => ({ kid: k.kid, createdAt: new Date(k.createdAt).toISOString(), jwk: k.jwk });
  return JSON.stringify({
    format: KEY_SET_FORMAT,
    rotatedAt: new Date(set.rotatedAt).toISOString(),
    current: key(set.current),
    next: key(set.next),
    ...(set.previous ? { previous: key(set.previous) } : {}),
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function time(value: unknown, where: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new KeySetError(`${where} must be an ISO 8601 time.`);
  return ms;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function signingKey(value: unknown, slot: string): SigningKey {
  if (!isRecord(value)) throw new KeySetError(`${slot} must be a key.`);
  const { jwk } = value;
  if (!isRecord(jwk) || jwk.kty !== 'EC' || jwk.crv !== 'P-256') {
    throw new KeySetError(`${slot}.jwk must be an EC P-256 private key (JWK).`);
  }
  for (const member of ['x', 'y', 'd'] as const) {
    if (typeof jwk[member] !== 'string' || !BASE64URL.test(jwk[member])) {
      throw new KeySetError(`${slot}.jwk.${member} must be base64url.`);
    }
  }
  const key: EcPrivateJwk = { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string, d: jwk.d as string };
  // The public key is derived from the private one and compared: a JWKS that published another key
  // than the one that signs would make every token fail elsewhere.
  let derived: { x?: string; y?: string };
  try {
    derived = createPublicKey(createPrivateKey({ key: { ...key } as JsonWebKey, format: 'jwk' })).export({
      format: 'jwk',
    });
  } catch {
    throw new KeySetError(`${slot}.jwk is not a valid P-256 private key.`);
  }
  if (derived.x !== key.x || derived.y !== key.y) {
    throw new KeySetError(`${slot}.jwk: x and y are not the public part of d.`);
  }
  if (value.kid !== jwkThumbprint(key)) throw new KeySetError(`${slot}.kid must be the JWK thumbprint of its key.`);
  return { kid: value.kid, createdAt: time(value.createdAt, `${slot}.createdAt`), jwk: key };
}

/**
 * The key set stored as JSON (serializeKeySet), or undefined for EMPTY_KEY_SET (none made yet).
 * Throws KeySetError saying what is wrong, never with key material in it.
 */
export function parseKeySet(text: string): SigningKeySet | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeySetError('must be JSON (a key set as the scheduled function writes it).');
  }
  if (!isRecord(value) || value.format !== KEY_SET_FORMAT) {
    throw new KeySetError(`must be a key set of format ${KEY_SET_FORMAT}.`);
  }
  if (value.empty === true) return undefined;
  const set: SigningKeySet = {
    rotatedAt: time(value.rotatedAt, 'rotatedAt'),
    current: signingKey(value.current, 'current'),
    next: signingKey(value.next, 'next'),
    ...(value.previous === undefined ? {} : { previous: signingKey(value.previous, 'previous') }),
  };
  const kids = publishedKeys(set).map((key) => key.kid);
  if (new Set(kids).size !== kids.length) throw new KeySetError('every key must be a different one.');
  return set;
}

/** Where the rotating function reads and writes the key set (Secrets Manager in AWS). */
export interface SigningKeyVault {
  /** The stored set (undefined before the first), and the version it was read at. */
  read(): Promise<{ keys: SigningKeySet | undefined; version: string }>;
  /**
   * Stores `keys` in place of `version`. False when another run replaced that version first:
   * then its set stands and this one is dropped, so that two runs never rotate twice.
   */
  replace(keys: SigningKeySet, version: string): Promise<boolean>;
}

export type KeyRotation = { action: 'created' | 'rotated' | 'kept'; currentKid: string } | { action: 'lost-race' };

/**
 * Makes the first key set, or rotates the stored one once its current key has signed for a period.
 * Safe when two runs overlap: both read the same version and only one replacement of it is stored.
 */
export async function rotateSigningKeys(vault: SigningKeyVault, now: number, periodMs: number): Promise<KeyRotation> {
  const { keys, version } = await vault.read();
  if (keys !== undefined && !rotationDue(keys, now, periodMs)) return { action: 'kept', currentKid: keys.current.kid };
  const replacement = keys === undefined ? initialKeySet(now) : rotatedKeySet(keys, now);
  if (!(await vault.replace(replacement, version))) return { action: 'lost-race' };
  return { action: keys === undefined ? 'created' : 'rotated', currentKid: replacement.current.kid };
}
