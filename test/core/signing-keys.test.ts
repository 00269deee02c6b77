import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_KEY_SET,
  generateSigningKey,
  initialKeySet,
  jwkThumbprint,
  KeySetError,
  parseKeySet,
  publicJwk,
  publishedKeys,
  rotatedKeySet,
  rotateSigningKeys,
  rotationDue,
  serializeKeySet,
  type SigningKeySet,
  type SigningKeyVault,
} from '../../functions/core/signing-keys.js';
import { DAY_MS } from '../../functions/core/windows.js';

const T0 = Date.UTC(2036, 0, 1);
const PERIOD = 30 * DAY_MS;

/** A vault in memory with Secrets Manager's rule: one replacement per version read. */
function memoryVault(initial?: SigningKeySet) {
  const versions: { keys: SigningKeySet | undefined; version: string }[] = [{ keys: initial, version: 'v0' }];
  const vault: SigningKeyVault = {
    read: () => Promise.resolve(versions.at(-1) as { keys: SigningKeySet | undefined; version: string }),
    replace: (keys, version) => {
      if (versions.at(-1)?.version !== version) return Promise.resolve(false);
      versions.push({ keys, version: `v${versions.length}` });
      return Promise.resolve(true);
    },
  };
  return { vault, versions };
}

describe('signing keys', () => {
  it('names a key by its RFC 7638 thumbprint', async () => {
    const key = generateSigningKey(T0);
    expect(key.kid).toBe(jwkThumbprint(key.jwk));
    // jose's own implementation of RFC 7638 agrees.
    expect(key.kid).toBe(await calculateJwkThumbprint(key.jwk, 'sha256'));
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateSigningKey(T0).kid).not.toBe(key.kid);
  });

  it('publishes only the public part, with kid, alg and use', () => {
    const key = generateSigningKey(T0);
    expect(publicJwk(key)).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: key.jwk.x,
      y: key.jwk.y,
      kid: key.kid,
      alg: 'ES256',
      use: 'sig',
    });
    expect(JSON.stringify(publicJwk(key))).not.toContain(key.jwk.d);
  });

  it('round-trips a set through its stored JSON', () => {
    const set = rotatedKeySet(initialKeySet(T0), T0 + PERIOD);
    expect(parseKeySet(serializeKeySet(set))).toEqual(set);
  });

  it('reads the empty placeholder as no keys yet', () => {
    expect(parseKeySet(EMPTY_KEY_SET)).toBeUndefined();
  });

  it('rotates every key one slot on: the new current key was published one rotation earlier', () => {
    const first = initialKeySet(T0);
    expect(publishedKeys(first).map((key) => key.kid)).toEqual([first.current.kid, first.next.kid]);
    const second = rotatedKeySet(first, T0 + PERIOD);
    expect(second.previous).toEqual(first.current);
    expect(second.current).toEqual(first.next);
    expect(second.rotatedAt).toBe(T0 + PERIOD);
    const third = rotatedKeySet(second, T0 + 2 * PERIOD);
    expect(third.previous).toEqual(first.next);
    expect(publishedKeys(third).map((key) => key.kid)).not.toContain(first.current.kid);
  });

  it('is due once the current key has signed for a whole period', () => {
    const set = initialKeySet(T0);
    expect(rotationDue(set, T0 + PERIOD - 1, PERIOD)).toBe(false);
    expect(rotationDue(set, T0 + PERIOD, PERIOD)).toBe(true);
  });

  describe('refuses a stored set it cannot trust, without key material in the message', () => {
    const set = initialKeySet(T0);
    const stored = JSON.parse(serializeKeySet(set)) as Record<string, any>;
    const other = generateSigningKey(T0);
    it.each([
      ['not JSON', '{', /must be JSON/],
      ['another format', JSON.stringify({ ...stored, format: 'x' }), /format/],
      ['a missing slot', JSON.stringify({ ...stored, next: undefined }), /next must be a key/],
      ['an RSA key', JSON.stringify({ ...stored, current: { ...stored.current, jwk: { kty: 'RSA' } } }), /EC P-256/],
      [
        'a public key that is not the private key’s',
        JSON.stringify({ ...stored, current: { ...stored.current, jwk: { ...stored.current.jwk, x: other.jwk.x } } }),
        /current\.jwk/,
      ],
      ['a kid that is not the thumbprint', JSON.stringify({ ...stored, next: { ...stored.next, kid: 'k1' } }), /kid/],
      ['one key in two slots', JSON.stringify({ ...stored, next: stored.current }), /different/],
      ['a bad time', JSON.stringify({ ...stored, rotatedAt: 'yesterday' }), /rotatedAt/],
    ])('%s', (_name, text, message) => {
      expect(() => parseKeySet(text)).toThrow(KeySetError);
      expect(() => parseKeySet(text)).toThrow(message);
      try {
        parseKeySet(text);
      } catch (error) {
        for (const key of publishedKeys(set)) expect((error as Error).message).not.toContain(key.jwk.d);
      }
    });
  });
});

describe('rotateSigningKeys', () => {
  it('makes the first set, then keeps it until a period has passed, then rotates', async () => {
    const { vault, versions } = memoryVault();
    const created = await rotateSigningKeys(vault, T0, PERIOD);
    const first = versions[1]?.keys as SigningKeySet;
    expect(created).toEqual({ action: 'created', currentKid: first.current.kid });
    expect(await rotateSigningKeys(vault, T0 + PERIOD - 1, PERIOD)).toEqual({
      action: 'kept',
      currentKid: first.current.kid,
    });
    expect(await rotateSigningKeys(vault, T0 + PERIOD, PERIOD)).toEqual({
      action: 'rotated',
      currentKid: first.next.kid,
    });
    expect(versions).toHaveLength(3);
  });

  it('stores one rotation when two runs overlap', async () => {
    const { vault, versions } = memoryVault(initialKeySet(T0));
    const results = await Promise.all([
      rotateSigningKeys(vault, T0 + PERIOD, PERIOD),
      rotateSigningKeys(vault, T0 + PERIOD, PERIOD),
    ]);
    expect(results.map((result) => result.action).sort()).toEqual(['lost-race', 'rotated']);
    expect(versions).toHaveLength(2);
  });
});
