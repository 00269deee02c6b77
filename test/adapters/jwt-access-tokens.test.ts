import { constants, createPrivateKey, createPublicKey, sign as cryptoSign } from 'node:crypto';
import { base64url, createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { JwtAccessTokens, loadKeys, staticKeyRing, type KeyRing } from '../../functions/adapters/jwt-access-tokens.js';
import type { AccessTokenSubject } from '../../functions/core/access-tokens.js';
import { initialKeySet, publishedKeys, rotatedKeySet, type SigningKeySet } from '../../functions/core/signing-keys.js';
import { DAY_MS } from '../../functions/core/windows.js';

const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
const T0 = Date.UTC(2036, 0, 1, 12, 0, 0);
const TTL = 900;
const SUBJECT: AccessTokenSubject = {
  customerId: 'c-1',
  sid: 'fam-1',
  clientId: 'cli_abc',
  authTime: T0 - 5000,
  channel: 'sms',
  purpose: 'login',
  trustLevel: 'verified',
};

async function tokens(set: SigningKeySet = initialKeySet(T0), issuer = ISSUER) {
  return new JwtAccessTokens(await staticKeyRing(set), { issuer, ttlSeconds: TTL });
}

const payloadOf = (token: string) =>
  JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1] ?? ''))) as Record<string, unknown>;

describe('JwtAccessTokens', () => {
  it('signs exactly the claims of API.md, with alg, kid and typ in the header', async () => {
    const set = initialKeySet(T0);
    const { token, expiresIn } = await (await tokens(set)).issue(SUBJECT, T0 + 999);
    expect(expiresIn).toBe(TTL);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: set.current.kid, typ: 'at+jwt' });
    const iat = Math.floor(T0 / 1000);
    expect(payloadOf(token)).toEqual({
      iss: ISSUER,
      sub: 'c-1',
      aud: 'cli_abc',
      sid: 'fam-1',
      iat,
      exp: iat + TTL,
      auth_time: Math.floor((T0 - 5000) / 1000),
      amr: ['otp', 'sms'],
      purpose: 'login',
      trust: 'verified',
    });
  });

  it('names the service as audience for a login without a client', async () => {
    const { token } = await (await tokens()).issue({ ...SUBJECT, clientId: undefined, channel: 'email' }, T0);
    expect(payloadOf(token)).toMatchObject({ aud: 'otp-service', amr: ['otp', 'email'] });
  });

  it('verifies its own tokens until they expire, and returns their claims', async () => {
    const at = await tokens();
    const { token } = await at.issue(SUBJECT, T0);
    expect(await at.verify(token, T0 + (TTL - 1) * 1000)).toEqual(payloadOf(token));
    expect(await at.verify(token, T0 + TTL * 1000)).toBeUndefined();
  });

  it('gives a standard verifier what it needs: the JWKS key by kid, ES256, the issuer', async () => {
    const set = initialKeySet(T0);
    const { token } = await (await tokens(set)).issue(SUBJECT, Date.now());
    const { jwks } = await loadKeys(set);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: jwks }), {
      issuer: ISSUER,
      audience: 'cli_abc',
      algorithms: ['ES256'],
      typ: 'at+jwt',
    });
    expect(payload.sub).toBe('c-1');
    expect(protectedHeader.kid).toBe(set.current.kid);
  });

  describe('refuses, without throwing', () => {
    const set = initialKeySet(T0);
    const now = T0 + 1000;
    const claims = async () => payloadOf((await (await tokens(set)).issue(SUBJECT, T0)).token);
    const privateKey = () => createPrivateKey({ key: { ...set.current.jwk }, format: 'jwk' });

    it.each([
      ['an empty string', ''],
      ['garbage', 'not.a.jwt'],
      ['three dots of base64', 'eyJ9.eyJ9.eyJ9'],
      ['a huge string', 'a'.repeat(100_000)],
    ])('%s', async (_name, token) => {
      expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
    });

    it('alg none', async () => {
      const token = new UnsecuredJWT(await claims()).encode();
      expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
    });

    it('HS256 keyed with the public key', async () => {
      const publicPem = createPublicKey(privateKey()).export({ format: 'pem', type: 'spki' });
      const forged = await new SignJWT(await claims())
        .setProtectedHeader({ alg: 'HS256', kid: set.current.kid, typ: 'at+jwt' })
        .sign(new TextEncoder().encode(String(publicPem)));
      expect(await (await tokens(set)).verify(forged, now)).toBeUndefined();
    });

    it('a token of another issuer, even signed with our key', async () => {
      const { token } = await (await tokens(set, 'https://elsewhere.example')).issue(SUBJECT, T0);
      expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
    });

    it('an expired token', async () => {
      const { token } = await (await tokens(set)).issue(SUBJECT, T0);
      expect(await (await tokens(set)).verify(token, T0 + TTL * 1000 + 1)).toBeUndefined();
    });

    it('a key this deployment never published', async () => {
      const { token } = await (await tokens(initialKeySet(T0))).issue(SUBJECT, T0);
      expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
    });

    it('a known kid with a signature of another key', async () => {
      const stranger = initialKeySet(T0);
      const forged = await new SignJWT(await claims())
        .setProtectedHeader({ alg: 'ES256', kid: set.current.kid, typ: 'at+jwt' })
        .sign(createPrivateKey({ key: { ...stranger.current.jwk }, format: 'jwk' }));
      expect(await (await tokens(set)).verify(forged, now)).toBeUndefined();
    });

    it('another typ, or none', async () => {
      for (const typ of ['JWT', undefined]) {
        const token = await new SignJWT(await claims())
          .setProtectedHeader({ alg: 'ES256', kid: set.current.kid, ...(typ ? { typ } : {}) })
          .sign(privateKey());
        expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
      }
    });

    it('a signed token that lacks a claim of ours', async () => {
      const rest = await claims();
      delete rest.sid;
      const token = await new SignJWT(rest)
        .setProtectedHeader({ alg: 'ES256', kid: set.current.kid, typ: 'at+jwt' })
        .sign(privateKey());
      expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
    });

    it('a signed token whose purpose or trust is not one of ours', async () => {
      for (const change of [{ purpose: 'admin' }, { trust: 'total' }, { amr: ['pwd'] }]) {
        const token = await new SignJWT({ ...(await claims()), ...change })
          .setProtectedHeader({ alg: 'ES256', kid: set.current.kid, typ: 'at+jwt' })
          .sign(privateKey());
        expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
      }
    });
  });

  describe('across a rotation', () => {
    it('verifies a token signed before the rotation after it, and signs with the new current key', async () => {
      const before = initialKeySet(T0);
      const after = rotatedKeySet(before, T0 + 30 * DAY_MS);
      const old = await (await tokens(before)).issue(SUBJECT, T0 + 30 * DAY_MS - 1000);
      const rotated = await tokens(after);
      expect(await rotated.verify(old.token, T0 + 30 * DAY_MS + 1000)).toMatchObject({ sub: 'c-1' });
      const fresh = await rotated.issue(SUBJECT, T0 + 30 * DAY_MS);
      expect(decodeProtectedHeader(fresh.token).kid).toBe(before.next.kid);
      // A verifier that still holds the set from before the rotation knows the new key already.
      expect(await (await tokens(before)).verify(fresh.token, T0 + 30 * DAY_MS + 1000)).toMatchObject({ sub: 'c-1' });
    });

    it('asks the ring to reload when a token names an unknown kid, and then knows it', async () => {
      const before = initialKeySet(T0);
      const muchLater = rotatedKeySet(rotatedKeySet(before, T0 + 1), T0 + 2);
      const stale = await loadKeys(before);
      const fresh = await loadKeys(muchLater);
      let reloads = 0;
      const ring: KeyRing = {
        current: () => Promise.resolve(reloads > 0 ? fresh : stale),
        reloadForUnknownKey: () => {
          reloads += 1;
          return Promise.resolve(fresh);
        },
      };
      const { token } = await (await tokens(muchLater)).issue(SUBJECT, T0);
      const verifier = new JwtAccessTokens(ring, { issuer: ISSUER, ttlSeconds: TTL });
      expect(await verifier.verify(token, T0 + 1000)).toMatchObject({ sub: 'c-1' });
      expect(reloads).toBe(1);
    });
  });
});

describe('JwtAccessTokens with RS256 keys', () => {
  const set = initialKeySet(T0, 'RS256');
  const now = T0 + 1000;
  const rsaPrivate = createPrivateKey({ key: { ...set.current.jwk }, format: 'jwk' });
  const segment = (value: unknown) => base64url.encode(JSON.stringify(value));
  /** A token signed by hand with the RSA key, whatever its header says, to forge what jose would not. */
  const handSigned = async (header: Record<string, unknown>, padding?: number) => {
    const claims = payloadOf((await (await tokens(set)).issue(SUBJECT, T0)).token);
    const input = `${segment(header)}.${segment(claims)}`;
    const signature = cryptoSign('sha256', Buffer.from(input), { key: rsaPrivate, padding });
    return `${input}.${base64url.encode(signature)}`;
  };

  it('signs with the current key’s algorithm, the same header members and claims as ES256', async () => {
    const { token } = await (await tokens(set)).issue(SUBJECT, T0 + 999);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: set.current.kid, typ: 'at+jwt' });
    const es = await (await tokens(initialKeySet(T0))).issue(SUBJECT, T0 + 999);
    expect(payloadOf(token)).toEqual(payloadOf(es.token));
    expect(await (await tokens(set)).verify(token, now)).toEqual(payloadOf(token));
  });

  it('gives a standard RS256-only verifier what it needs: the JWKS key by kid, the issuer', async () => {
    const { token } = await (await tokens(set)).issue(SUBJECT, Date.now());
    const { jwks } = await loadKeys(set);
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: jwks }), {
      issuer: ISSUER,
      audience: 'cli_abc',
      algorithms: ['RS256'],
      typ: 'at+jwt',
    });
    expect(payload.sub).toBe('c-1');
  });

  describe('refuses alg confusion, without throwing', () => {
    it('a hand-signed RS256 token verifies: the forgeries below differ only in what they name', async () => {
      const token = await handSigned({ alg: 'RS256', kid: set.current.kid, typ: 'at+jwt' });
      expect(await (await tokens(set)).verify(token, now)).toMatchObject({ sub: 'c-1' });
    });

    it('an RS256 signature under header alg ES256', async () => {
      const token = await handSigned({ alg: 'ES256', kid: set.current.kid, typ: 'at+jwt' });
      expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
    });

    it('PS256, which the same RSA key could verify', async () => {
      const token = await handSigned(
        { alg: 'PS256', kid: set.current.kid, typ: 'at+jwt' },
        constants.RSA_PKCS1_PSS_PADDING,
      );
      expect(await (await tokens(set)).verify(token, now)).toBeUndefined();
    });

    it('HS256 keyed with the RSA public key, as PEM or as its JWK', async () => {
      const claims = payloadOf((await (await tokens(set)).issue(SUBJECT, T0)).token);
      const publicPem = String(createPublicKey(rsaPrivate).export({ format: 'pem', type: 'spki' }));
      for (const secret of [publicPem, JSON.stringify((await loadKeys(set)).jwks[0])]) {
        const forged = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid: set.current.kid, typ: 'at+jwt' })
          .sign(new TextEncoder().encode(secret));
        expect(await (await tokens(set)).verify(forged, now)).toBeUndefined();
      }
    });

    it('alg none', async () => {
      const claims = payloadOf((await (await tokens(set)).issue(SUBJECT, T0)).token);
      expect(await (await tokens(set)).verify(new UnsecuredJWT(claims).encode(), now)).toBeUndefined();
    });

    it('an ES256 token naming an RSA key', async () => {
      const ec = initialKeySet(T0);
      const claims = payloadOf((await (await tokens(set)).issue(SUBJECT, T0)).token);
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: set.current.kid, typ: 'at+jwt' })
        .sign(createPrivateKey({ key: { ...ec.current.jwk }, format: 'jwk' }));
      expect(await (await tokens(set)).verify(forged, now)).toBeUndefined();
    });
  });

  it('switches ES256 → RS256 across rotations: every token verifies while its key is published', async () => {
    const at = (period: number) => T0 + period * 30 * DAY_MS;
    const s0 = initialKeySet(at(0));
    const s1 = rotatedKeySet(s0, at(1), 'RS256');
    const s2 = rotatedKeySet(s1, at(2));
    const s3 = rotatedKeySet(s2, at(3));
    const sets = [s0, s1, s2, s3];
    // The token each set signs, shortly before the next rotation.
    const signed = await Promise.all(
      sets.map(async (set, i) => (await tokens(set)).issue(SUBJECT, at(i + 1) - 60_000)),
    );
    expect(signed.map(({ token }) => decodeProtectedHeader(token).alg)).toEqual(['ES256', 'ES256', 'RS256', 'RS256']);
    for (const [i, { token }] of signed.entries()) {
      const kid = decodeProtectedHeader(token).kid as string;
      for (const [j, set] of sets.entries()) {
        const published = publishedKeys(set).some((key) => key.kid === kid);
        // Each token checked a minute after it was signed, by a verifier holding set j.
        const claims = await (await tokens(set)).verify(token, at(i + 1) - 1000);
        expect(claims === undefined ? 'refused' : 'verified', `token ${i}, set ${j}`).toBe(
          published ? 'verified' : 'refused',
        );
      }
    }
    // Each RS256 key was published a whole period before it signed: the set before knows it.
    expect(publishedKeys(s1).map((key) => key.kid)).toContain(decodeProtectedHeader(signed[2]?.token ?? '').kid);
  });
});
