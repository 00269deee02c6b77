import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  sign,
  verify,
} from 'node:crypto';

/**
 * The keys that sign access tokens (ES256 with EC P-256 keys, the contract of API.md; or, opted into
 * with OTP_ACCESS_TOKEN_ALGORITHM, RS256 with RSA 2048-bit keys), and how they rotate.
 *
 * A key set has three slots. `next` is published in the JWKS but signs nothing yet; `current` signs;
 * `previous` signed until the last rotation and stays published until the next one, so that the
 * tokens it signed verify until they expire. A rotation moves every key one slot on (previous ←
 * current, current ← next, next ← a new key), so a key is published for a whole rotation period
 * before anything signs with it (verifiers that cache the JWKS already hold it), and stays published
 * for a whole period after it stopped signing (far longer than an access token lives).
 *
 * A set records its algorithm: the one its new keys are made with. Changing the configured
 * algorithm changes nothing at once; the next due rotation makes `next` with the new algorithm and
 * the set takes it as its own, so the first key of the new algorithm is published for a whole period
 * before the rotation after that makes it sign, as every key is. A switch therefore goes through
 * mixed sets (current ES256, next RS256; then previous ES256, current and next RS256) and finishes
 * at the third rotation after the change, when the last key of the old algorithm is dropped; new
 * tokens carry the new algorithm from the second rotation, one to two periods after the change.
 * That is simpler and safer than replacing `next` early: no key ever signs without having been
 * published a period, and the rotation needs no special case. Each key therefore carries its own
 * `alg`, and a token is checked with the algorithm of the key its kid names.
 */

/** The algorithms a key set may sign with; the first is the default and the contract of API.md. */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'ES256';
/** NIST SP 800-57 and RFC 7518 3.3: RSA keys for RS256 are at least 2048 bits. */
export const RSA_MODULUS_BITS = 2048;

/** An EC P-256 private key as a JWK (RFC 7518 6.2), for ES256. */
export interface EcPrivateJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
  alg: 'ES256';
}

/** An RSA private key as a JWK (RFC 7518 6.3), for RS256. */
export interface RsaPrivateJwk {
  kty: 'RSA';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
  alg: 'RS256';
}

export type PrivateSigningJwk = EcPrivateJwk | RsaPrivateJwk;

/** The public part of a key as the JWKS publishes it. */
export type PublicSigningJwk = (
  { kty: 'EC'; crv: 'P-256'; x: string; y: string; alg: 'ES256' } | { kty: 'RSA'; n: string; e: string; alg: 'RS256' }
) & { kid: string; use: 'sig' };

export interface SigningKey<J extends PrivateSigningJwk = PrivateSigningJwk> {
  /** The RFC 7638 thumbprint of the public key: names the key in a token's header and in the JWKS. */
  kid: string;
  /** When the key was made (epoch ms); it is published from then on. */
  createdAt: number;
  /** Its `alg` is the only algorithm the key signs or verifies with. */
  jwk: J;
}

export interface SigningKeySet {
  /** The algorithm new keys are made with: `next` always has it; see above for a switch. */
  algorithm: SigningAlgorithm;
  /** When `current` started signing (epoch ms): the set rotates a period after it. */
  rotatedAt: number;
  current: SigningKey;
  next: SigningKey;
  /** Absent until the first rotation. */
  previous?: SigningKey;
}

/**
 * Names the format of the stored JSON, so that a later change can be told apart. The algorithm was
 * added without a new format: a set stored before it (no `algorithm`, no `alg`) is ES256, and code
 * from before it still reads an ES256 set written now (it ignores the members it does not know).
 */
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
export function jwkThumbprint(
  jwk: Pick<EcPrivateJwk, 'crv' | 'kty' | 'x' | 'y'> | Pick<RsaPrivateJwk, 'e' | 'kty' | 'n'>,
): string {
  const canonical =
    jwk.kty === 'EC'
      ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
      : JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

const RSA_PRIVATE_MEMBERS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const;

// Typed by the algorithm asked for, so that a caller of one algorithm reads its key's members.
export function generateSigningKey(now: number, algorithm?: 'ES256'): SigningKey<EcPrivateJwk>;
export function generateSigningKey(now: number, algorithm: 'RS256'): SigningKey<RsaPrivateJwk>;
export function generateSigningKey(now: number, algorithm: SigningAlgorithm): SigningKey;
export function generateSigningKey(now: number, algorithm: SigningAlgorithm = DEFAULT_SIGNING_ALGORITHM): SigningKey {
  let jwk: PrivateSigningJwk;
  if (algorithm === 'RS256') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: RSA_MODULUS_BITS });
    const exported = privateKey.export({ format: 'jwk' });
    const member = (name: (typeof RSA_PRIVATE_MEMBERS)[number]) => exported[name] as string;
    jwk = {
      kty: 'RSA',
      ...(Object.fromEntries(RSA_PRIVATE_MEMBERS.map((name) => [name, member(name)])) as Omit<
        RsaPrivateJwk,
        'kty' | 'alg'
      >),
      alg: 'RS256',
    };
  } else {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { x, y, d } = privateKey.export({ format: 'jwk' });
    jwk = { kty: 'EC', crv: 'P-256', x: x as string, y: y as string, d: d as string, alg: 'ES256' };
  }
  return { kid: jwkThumbprint(jwk), createdAt: now, jwk };
}

/** The first set of a deployment: a key that signs at once, and the next one already published. */
export function initialKeySet(now: number, algorithm: SigningAlgorithm = DEFAULT_SIGNING_ALGORITHM): SigningKeySet {
  return {
    algorithm,
    rotatedAt: now,
    current: generateSigningKey(now, algorithm),
    next: generateSigningKey(now, algorithm),
  };
}

export function rotationDue(set: SigningKeySet, now: number, periodMs: number): boolean {
  return now - set.rotatedAt >= periodMs;
}

/**
 * Every key one slot on; the old `previous` is dropped. The new `next` has `algorithm` (the
 * configured one), which is how a switch of algorithm starts (see above).
 */
export function rotatedKeySet(set: SigningKeySet, now: number, algorithm = set.algorithm): SigningKeySet {
  return {
    algorithm,
    rotatedAt: now,
    previous: set.current,
    current: set.next,
    next: generateSigningKey(now, algorithm),
  };
}

/** The keys a verifier must know: the JWKS, in the order previous, current, next. */
export function publishedKeys(set: SigningKeySet): SigningKey[] {
  return [...(set.previous ? [set.previous] : []), set.current, set.next];
}

export function publicJwk(key: SigningKey): PublicSigningJwk {
  const { jwk } = key;
  if (jwk.kty === 'RSA') return { kty: jwk.kty, n: jwk.n, e: jwk.e, kid: key.kid, alg: jwk.alg, use: 'sig' };
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: key.kid, alg: jwk.alg, use: 'sig' };
}

/** The distinct algorithms of the published keys, in the JWKS's order. */
export function publishedAlgorithms(set: SigningKeySet): SigningAlgorithm[] {
  return [...new Set(publishedKeys(set).map((key) => key.jwk.alg))];
}

export function serializeKeySet(set: SigningKeySet): string {
  const key = (k: SigningKey) => ({ kid: k.kid, createdAt: new Date(k.createdAt).toISOString(), jwk: k.jwk });
  return JSON.stringify({
    format: KEY_SET_FORMAT,
    algorithm: set.algorithm,
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

const isAlgorithm = (value: unknown): value is SigningAlgorithm =>
  (SIGNING_ALGORITHMS as readonly unknown[]).includes(value);

/** The members of a stored JWK, each required to be base64url. */
function base64urlMembers<M extends string>(jwk: Record<string, unknown>, members: readonly M[], slot: string) {
  const out = {} as Record<M, string>;
  for (const member of members) {
    const value = jwk[member];
    if (typeof value !== 'string' || !BASE64URL.test(value)) {
      throw new KeySetError(`${slot}.jwk.${member} must be base64url.`);
    }
    out[member] = value;
  }
  return out;
}

function signingKey(value: unknown, slot: string): SigningKey {
  if (!isRecord(value)) throw new KeySetError(`${slot} must be a key.`);
  const { jwk } = value;
  if (!isRecord(jwk)) throw new KeySetError(`${slot}.jwk must be a private key (JWK).`);
  // A key stored before keys had an algorithm is ES256, the only one there was.
  const alg = jwk.alg ?? 'ES256';
  if (!isAlgorithm(alg)) throw new KeySetError(`${slot}.jwk.alg must be one of ${SIGNING_ALGORITHMS.join(', ')}.`);
  let key: PrivateSigningJwk;
  if (alg === 'ES256') {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') {
      throw new KeySetError(`${slot}.jwk must be an EC P-256 private key (JWK).`);
    }
    key = { kty: 'EC', crv: 'P-256', ...base64urlMembers(jwk, ['x', 'y', 'd'], slot), alg };
  } else {
    if (jwk.kty !== 'RSA') throw new KeySetError(`${slot}.jwk must be an RSA private key (JWK), as RS256 needs.`);
    key = { kty: 'RSA', ...base64urlMembers(jwk, RSA_PRIVATE_MEMBERS, slot), alg };
  }
  // The public key is checked against the private one: a JWKS that published another key than the
  // one that signs would make every token fail elsewhere. A probe signed with the private key must
  // verify under the public members alone (x and y, or n and e). Not by comparing x and y with the
  // public key Node.js gives for the private JWK: that is the JWK's own x and y, not one derived
  // from d, so a d with another key's x and y would pass (found by mutation testing, bench/RESULTS.md).
  let matches: boolean;
  let modulusLength: number | undefined;
  try {
    const privateKey = createPrivateKey({ key: { ...key } as JsonWebKey, format: 'jwk' });
    modulusLength = privateKey.asymmetricKeyDetails?.modulusLength;
    const publicMembers =
      key.kty === 'EC' ? { kty: 'EC', crv: key.crv, x: key.x, y: key.y } : { kty: 'RSA', n: key.n, e: key.e };
    const publicKey = createPublicKey({ key: publicMembers, format: 'jwk' });
    const probe = Buffer.from(`otp-signing-keys:${slot}`);
    matches = verify('sha256', probe, publicKey, sign('sha256', probe, privateKey));
  } catch {
    throw new KeySetError(`${slot}.jwk is not a valid ${key.kty === 'EC' ? 'P-256' : 'RSA'} private key.`);
  }
  if (!matches) {
    throw new KeySetError(`${slot}.jwk: ${key.kty === 'EC' ? 'x and y are' : 'n and e are'} not the public part of d.`);
  }
  // A weaker RSA key would sign tokens that anyone able to factor it could forge.
  if (key.kty === 'RSA' && (modulusLength ?? 0) < RSA_MODULUS_BITS) {
    throw new KeySetError(`${slot}.jwk must be an RSA key of at least ${RSA_MODULUS_BITS} bits.`);
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
  // A set stored before sets had an algorithm is ES256, the only one there was.
  const algorithm = value.algorithm ?? 'ES256';
  if (!isAlgorithm(algorithm)) throw new KeySetError(`algorithm must be one of ${SIGNING_ALGORITHMS.join(', ')}.`);
  const set: SigningKeySet = {
    algorithm,
    rotatedAt: time(value.rotatedAt, 'rotatedAt'),
    current: signingKey(value.current, 'current'),
    next: signingKey(value.next, 'next'),
    ...(value.previous === undefined ? {} : { previous: signingKey(value.previous, 'previous') }),
  };
  const kids = publishedKeys(set).map((key) => key.kid);
  if (new Set(kids).size !== kids.length) throw new KeySetError('every key must be a different one.');
  // Every rotation makes `next` with the set's algorithm; another one means the set was edited.
  if (set.next.jwk.alg !== algorithm)
    throw new KeySetError(`next must be a key of the set's algorithm (${algorithm}).`);
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
 * New keys have `algorithm` (OTP_ACCESS_TOKEN_ALGORITHM): a set of another algorithm moves to it
 * through its normal rotations, never early (see above).
 */
export async function rotateSigningKeys(
  vault: SigningKeyVault,
  now: number,
  periodMs: number,
  algorithm: SigningAlgorithm = DEFAULT_SIGNING_ALGORITHM,
): Promise<KeyRotation> {
  const { keys, version } = await vault.read();
  if (keys !== undefined && !rotationDue(keys, now, periodMs)) return { action: 'kept', currentKid: keys.current.kid };
  const replacement = keys === undefined ? initialKeySet(now, algorithm) : rotatedKeySet(keys, now, algorithm);
  if (!(await vault.replace(replacement, version))) return { action: 'lost-race' };
  return { action: keys === undefined ? 'created' : 'rotated', currentKid: replacement.current.kid };
}
