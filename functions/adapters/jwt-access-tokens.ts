import { importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import {
  ANONYMOUS_AUDIENCE,
  type AccessTokenClaims,
  type AccessTokens,
  type AccessTokenSubject,
  TRUST_LEVELS_OF_CUSTOMERS,
  type TrustLevel,
} from '../core/access-tokens.js';
import { CHANNELS, PURPOSES, type Purpose } from '../core/purposes.js';
import {
  type PublicSigningJwk,
  publicJwk,
  publishedKeys,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  type SigningKeySet,
} from '../core/signing-keys.js';

/** A key imported for the one algorithm it is for (its JWK's `alg`). */
export interface AlgorithmKey {
  alg: SigningAlgorithm;
  key: CryptoKey;
}

/** A key set ready to use: the signing key and every published key imported once. */
export interface LoadedKeys {
  set: SigningKeySet;
  signing: { kid: string } & AlgorithmKey;
  verifying: ReadonlyMap<string, AlgorithmKey>;
  /** The JWKS's keys: public parts only. */
  jwks: PublicSigningJwk[];
}

/**
 * Where a function gets its keys: inline (local runs, tests) or from Secrets Manager
 * (adapters/secret-signing-keys.ts), which a warm container re-reads now and then.
 */
export interface KeyRing {
  /** The keys to sign with and to publish. */
  current(now: number): Promise<LoadedKeys>;
  /**
   * A token named a key this container does not know: the keys as they are stored now (a rotation
   * may have happened since the container started), or the same keys if it asked too recently.
   */
  reloadForUnknownKey(now: number): Promise<LoadedKeys>;
}

/** RFC 9068: the type of a JWT access token. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Imported for the JWK's own `alg` only: the CryptoKey cannot then be used with another one. */
async function importKey(jwk: JWK & { alg: SigningAlgorithm }): Promise<AlgorithmKey> {
  const key = await importJWK(jwk, jwk.alg);
  // Only a symmetric JWK imports as bytes; the key set holds EC and RSA keys only.
  if (key instanceof Uint8Array) throw new Error('not an asymmetric key');
  return { alg: jwk.alg, key };
}

export async function loadKeys(set: SigningKeySet): Promise<LoadedKeys> {
  const keys = publishedKeys(set);
  const verifying = new Map<string, AlgorithmKey>();
  for (const key of keys) {
    verifying.set(key.kid, await importKey(publicJwk(key)));
  }
  const signing = await importKey({ ...set.current.jwk });
  return { set, signing: { kid: set.current.kid, ...signing }, verifying, jwks: keys.map(publicJwk) };
}

/** Keys that never change while the process lives (OTP_SIGNING_KEYS). */
export async function staticKeyRing(set: SigningKeySet): Promise<KeyRing> {
  const loaded = await loadKeys(set);
  return { current: () => Promise.resolve(loaded), reloadForUnknownKey: () => Promise.resolve(loaded) };
}

const seconds = (epochMs: number) => Math.floor(epochMs / 1000);

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The claims of API.md ("Access token claims"), or undefined when the payload is not one of ours. */
function claimsOf(payload: JWTPayload): AccessTokenClaims | undefined {
  const { iss, sub, aud, sid, iat, exp, auth_time: authTime, amr, purpose, trust } = payload;
  if (typeof iss !== 'string' || typeof sub !== 'string' || typeof aud !== 'string' || typeof sid !== 'string') {
    return undefined;
  }
  if (typeof iat !== 'number' || typeof exp !== 'number' || typeof authTime !== 'number') return undefined;
  if (!isStringArray(amr) || amr[0] !== 'otp' || !(CHANNELS as readonly string[]).includes(amr[1] ?? '')) {
    return undefined;
  }
  if (!(PURPOSES as readonly unknown[]).includes(purpose)) return undefined;
  if (!(TRUST_LEVELS_OF_CUSTOMERS as readonly unknown[]).includes(trust)) return undefined;
  return {
    iss,
    sub,
    aud,
    sid,
    iat,
    exp,
    auth_time: authTime,
    amr,
    purpose: purpose as Purpose,
    trust: trust as TrustLevel,
  };
}

/**
 * JWT access tokens (API.md, "Access token claims"), signed with the ring's current key in its
 * algorithm: ES256, or RS256 where the deployment opted into it (core/signing-keys.ts).
 */
export class JwtAccessTokens implements AccessTokens {
  constructor(
    private readonly keys: KeyRing,
    private readonly settings: { issuer: string; ttlSeconds: number },
  ) {}

  async issue(subject: AccessTokenSubject, now: number): Promise<{ token: string; expiresIn: number }> {
    const { signing } = await this.keys.current(now);
    const iat = seconds(now);
    // Never past the session's end: an offline verifier cannot ask whether the session still lives.
    const ttlSeconds =
      subject.sessionExpiresAt === undefined
        ? this.settings.ttlSeconds
        : Math.max(0, Math.min(this.settings.ttlSeconds, Math.floor(subject.sessionExpiresAt / 1000) - iat));
    const token = await new SignJWT({
      iss: this.settings.issuer,
      sub: subject.customerId,
      aud: subject.clientId ?? ANONYMOUS_AUDIENCE,
      sid: subject.sid,
      iat,
      exp: iat + ttlSeconds,
      auth_time: seconds(subject.authTime),
      amr: ['otp', subject.channel],
      purpose: subject.purpose,
      trust: subject.trustLevel,
    })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: ACCESS_TOKEN_TYPE })
      .sign(signing.key);
    return { token, expiresIn: ttlSeconds };
  }

  async verify(token: string, now: number): Promise<AccessTokenClaims | undefined> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) return undefined;
    try {
      const { payload } = await jwtVerify(
        token,
        async ({ kid, alg }) => {
          if (typeof kid !== 'string') throw new Error('no kid');
          const found =
            (await this.keys.current(now)).verifying.get(kid) ??
            (await this.keys.reloadForUnknownKey(now)).verifying.get(kid);
          if (!found) throw new Error('unknown kid');
          // Exactly the algorithm of the key the kid names: a token may not pick another algorithm
          // for a key (an RSA key under ES256, or under PS256, which the same key could verify).
          if (alg !== found.alg) throw new Error('algorithm of another key');
          return found.key;
        },
        {
          // `none`, and HS256 keyed with a public key, are refused before any key is looked up.
          algorithms: [...SIGNING_ALGORITHMS],
          typ: ACCESS_TOKEN_TYPE,
          issuer: this.settings.issuer,
          currentDate: new Date(now),
          requiredClaims: ['iss', 'sub', 'aud', 'sid', 'iat', 'exp', 'auth_time', 'amr', 'purpose', 'trust'],
        },
      );
      return claimsOf(payload);
    } catch {
      return undefined;
    }
  }
}
