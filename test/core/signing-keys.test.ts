import { generateKeyPairSync } from 'node:crypto';
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
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
    it.each([
      ['not JSON', '{', /must be JSON/],
      ['another format', JSON.stringify({ ...stored, format: 'x' }), /format/],
      ['a missing slot', JSON.stringify({ ...stored, next: undefined }), /next must be a key/],
      ['an RSA key', JSON.stringify({ ...stored, current: { ...stored.current, jwk: { kty: 'RSA' } } }), /EC P-256/],
      [
        'an ES256 key on another curve',
        JSON.stringify({
          ...stored,
          current: { ...stored.current, kid: jwkThumbprint(p384 as never), jwk: { ...p384, alg: 'ES256' } },
        }),
        /current\.jwk must be an EC P-256/,
      ],
      [
        'a public key that is not the private key’s',
        JSON.stringify({ ...stored, current: { ...stored.current, jwk: { ...stored.current.jwk, x: other.jwk.x } } }),
        /current\.jwk/,
      ],
      [
        'a valid public point that is not the private key’s',
        JSON.stringify({
          ...stored,
          current: { ...stored.current, jwk: { ...stored.current.jwk, x: other.jwk.x, y: other.jwk.y } },
        }),
        /current\.jwk: x and y are not the public part of d/,
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

describe('RS256 signing keys', () => {
  it('makes RSA 2048-bit keys named by their RFC 7638 thumbprint, with alg RS256', async () => {
    const key = generateSigningKey(T0, 'RS256');
    expect(key.jwk).toMatchObject({ kty: 'RSA', e: 'AQAB', alg: 'RS256' });
    // 2048 bits: 256 bytes of modulus, 342 base64url characters.
    expect(Buffer.from(key.jwk.n, 'base64url')).toHaveLength(256);
    expect(key.kid).toBe(await calculateJwkThumbprint(key.jwk, 'sha256'));
    expect(publicJwk(key)).toEqual({ kty: 'RSA', n: key.jwk.n, e: 'AQAB', kid: key.kid, alg: 'RS256', use: 'sig' });
    const published = JSON.stringify(publicJwk(key));
    for (const secret of [key.jwk.d, key.jwk.p, key.jwk.q]) expect(published).not.toContain(secret);
  });

  it('makes a set whose every key has its algorithm, and round-trips it through its stored JSON', () => {
    const set = rotatedKeySet(initialKeySet(T0, 'RS256'), T0 + PERIOD);
    expect(set.algorithm).toBe('RS256');
    expect(publishedKeys(set).map((key) => key.jwk.alg)).toEqual(['RS256', 'RS256', 'RS256']);
    expect(JSON.parse(serializeKeySet(set))).toMatchObject({ algorithm: 'RS256' });
    expect(parseKeySet(serializeKeySet(set))).toEqual(set);
  });

  it('reads a set stored before sets had an algorithm as ES256', () => {
    const set = rotatedKeySet(initialKeySet(T0), T0 + PERIOD);
    const stored = JSON.parse(serializeKeySet(set)) as Record<string, any>;
    delete stored.algorithm;
    for (const slot of ['previous', 'current', 'next']) delete stored[slot].jwk.alg;
    const text = JSON.stringify(stored);
    expect(text).not.toContain('ES256');
    expect(parseKeySet(text)).toEqual(set);
  });

  it('moves a set to another algorithm through its normal rotations, each new key published a period first', () => {
    const es = initialKeySet(T0);
    const algs = (set: SigningKeySet) => publishedKeys(set).map((key) => key.jwk.alg);
    const first = rotatedKeySet(es, T0 + PERIOD, 'RS256');
    expect(first.algorithm).toBe('RS256');
    expect(algs(first)).toEqual(['ES256', 'ES256', 'RS256']);
    expect(first.current).toEqual(es.next);
    const second = rotatedKeySet(first, T0 + 2 * PERIOD);
    expect(algs(second)).toEqual(['ES256', 'RS256', 'RS256']);
    // The first RS256 key signs only now, a whole period after it was published as `next`.
    expect(second.current).toEqual(first.next);
    expect(algs(rotatedKeySet(second, T0 + 3 * PERIOD))).toEqual(['RS256', 'RS256', 'RS256']);
    // A set in the middle of a switch is stored and read back as it is.
    expect(parseKeySet(serializeKeySet(first))).toEqual(first);
    expect(parseKeySet(serializeKeySet(second))).toEqual(second);
  });

  it('starts a switch only when a rotation is due, with the configured algorithm', async () => {
    const { vault, versions } = memoryVault(initialKeySet(T0));
    expect((await rotateSigningKeys(vault, T0 + PERIOD - 1, PERIOD, 'RS256')).action).toBe('kept');
    expect(versions).toHaveLength(1);
    expect((await rotateSigningKeys(vault, T0 + PERIOD, PERIOD, 'RS256')).action).toBe('rotated');
    const rotated = versions[1]?.keys as SigningKeySet;
    expect([rotated.algorithm, rotated.current.jwk.alg, rotated.next.jwk.alg]).toEqual(['RS256', 'ES256', 'RS256']);
    const { vault: empty, versions: made } = memoryVault();
    await rotateSigningKeys(empty, T0, PERIOD, 'RS256');
    expect(publishedKeys(made[1]?.keys as SigningKeySet).map((key) => key.jwk.alg)).toEqual(['RS256', 'RS256']);
  });

  describe('refuses a stored set whose algorithms do not hold', () => {
    const set = initialKeySet(T0, 'RS256');
    const stored = JSON.parse(serializeKeySet(set)) as Record<string, any>;
    const ec = JSON.parse(serializeKeySet(initialKeySet(T0))) as Record<string, any>;
    const { privateKey: weak } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weakJwk = { ...(weak.export({ format: 'jwk' }) as Record<string, string>), alg: 'RS256' };
    const weakKey = { createdAt: stored.current.createdAt, kid: jwkThumbprint(weakJwk as any), jwk: weakJwk };
    it.each([
      ['an unknown set algorithm', JSON.stringify({ ...stored, algorithm: 'none' }), /^algorithm must be/],
      [
        'a key algorithm of HMAC',
        JSON.stringify({ ...stored, current: { ...stored.current, jwk: { ...stored.current.jwk, alg: 'HS256' } } }),
        /current\.jwk\.alg/,
      ],
      [
        'an EC key marked RS256',
        JSON.stringify({ ...stored, current: { ...ec.current, jwk: { ...ec.current.jwk, alg: 'RS256' } } }),
        /current\.jwk must be an RSA/,
      ],
      [
        'an RSA key marked ES256',
        JSON.stringify({ ...stored, current: { ...stored.current, jwk: { ...stored.current.jwk, alg: 'ES256' } } }),
        /current\.jwk must be an EC P-256/,
      ],
      [
        'a next key of another algorithm than the set',
        JSON.stringify({ ...stored, next: ec.next }),
        /next must be a key of the set's algorithm/,
      ],
      ['an RSA key under 2048 bits', JSON.stringify({ ...stored, current: weakKey }), /at least 2048 bits/],
      [
        'an RSA modulus that is not the private key’s',
        JSON.stringify({
          ...stored,
          current: { ...stored.current, jwk: { ...stored.current.jwk, n: stored.next.jwk.n } },
        }),
        /current\.jwk/,
      ],
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
