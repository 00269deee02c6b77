import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyRing, JwtAccessTokens, staticKeyRing } from '../../functions/adapters/jwt-access-tokens.js';
import type { AccessTokenSubject } from '../../functions/core/access-tokens.js';
import { initialKeySet, rotatedKeySet, type RsaPrivateJwk } from '../../functions/core/signing-keys.js';
import { DAY_MS } from '../../functions/core/windows.js';
import {
  createWellKnownHandler,
  DISCOVERY_CACHE_CONTROL,
  JWKS_CACHE_CONTROL,
} from '../../functions/handlers/well-known.js';
import type { ApiHandler } from '../../functions/http/http-handler.js';
import { createLocalServer, type Handlers } from '../../functions/local/server.js';
import { DISCOVERY_PATH, JWKS_PATH, ROUTES } from '../../functions/routes.js';
import { call } from '../kit.js';

const SUBJECT: AccessTokenSubject = {
  customerId: 'c-1',
  sid: 'fam-1',
  clientId: 'cli_abc',
  authTime: Date.now(),
  channel: 'sms',
  purpose: 'login',
  trustLevel: 'strong',
};
const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';

describe('the well-known handler', () => {
  const keys = initialKeySet(Date.now());
  let handler: ApiHandler;
  beforeAll(async () => {
    handler = createWellKnownHandler({ config: { issuer: ISSUER, keyRing: await staticKeyRing(keys) }, now: Date.now });
  });

  it('serves both routes of API.md, GET only', () => {
    expect(ROUTES.filter((route) => route.handler === 'well-known')).toEqual([
      { method: 'GET', path: JWKS_PATH, handler: 'well-known' },
      { method: 'GET', path: DISCOVERY_PATH, handler: 'well-known' },
    ]);
  });

  it('publishes the public keys, current and next, with kid, alg and use; never a private part', async () => {
    const answer = await call(handler, { method: 'GET', path: JWKS_PATH });
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe(JWKS_CACHE_CONTROL);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const body = answer.body as { success: boolean; keys: Record<string, unknown>[] };
    expect(body.success).toBe(true);
    expect(body.keys.map((key) => key.kid)).toEqual([keys.current.kid, keys.next.kid]);
    for (const key of body.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
    expect(answer.rawBody).not.toContain(keys.current.jwk.d);
    expect(answer.rawBody).not.toContain(keys.next.jwk.d);
  });

  it('describes the issuer and where its keys are', async () => {
    const answer = await call(handler, { method: 'GET', path: DISCOVERY_PATH });
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe(DISCOVERY_CACHE_CONTROL);
    expect(answer.body).toMatchObject({
      success: true,
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ['ES256'],
    });
  });

  it('publishes RSA keys with n and e only, and lists the algorithms of the published keys', async () => {
    const rsa = initialKeySet(Date.now(), 'RS256');
    const mixed = rotatedKeySet(initialKeySet(Date.now()), Date.now(), 'RS256');
    const served = async (set: typeof keys) =>
      createWellKnownHandler({ config: { issuer: ISSUER, keyRing: await staticKeyRing(set) }, now: Date.now });
    const jwks = await call(await served(rsa), { method: 'GET', path: JWKS_PATH });
    for (const key of (jwks.body as { keys: Record<string, unknown>[] }).keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    }
    for (const { jwk } of [rsa.current, rsa.next]) {
      for (const secret of [jwk.d, (jwk as RsaPrivateJwk).p, (jwk as RsaPrivateJwk).q]) {
        expect(jwks.rawBody).not.toContain(secret);
      }
    }
    const algorithms = async (set: typeof keys) =>
      ((await call(await served(set), { method: 'GET', path: DISCOVERY_PATH })).body as Record<string, unknown>)
        .id_token_signing_alg_values_supported;
    expect(await algorithms(rsa)).toEqual(['RS256']);
    // Half-way through a switch: the ES256 key signs, the RS256 one is published as next.
    expect(await algorithms(mixed)).toEqual(['ES256', 'RS256']);
  });

  it('needs no API key, and ignores a bad one', async () => {
    const answer = await call(handler, { method: 'GET', path: JWKS_PATH, headers: { 'X-API-Key': 'otpk_nonsense' } });
    expect(answer.status).toBe(200);
  });

  it('answers other methods 405', async () => {
    const answer = await call(handler, { method: 'POST', path: JWKS_PATH, body: {} });
    expect(answer.status).toBe(405);
    expect(answer.body).toMatchObject({ error: 'method-not-allowed' });
  });
});

describe('a standard verifier against the local server over HTTP', () => {
  let server: Server;
  let issuer: string;
  let ring: KeyRing;
  const before = initialKeySet(Date.now() - 31 * DAY_MS);
  /** What the server publishes; a test swaps it to show a rotation. */
  let served = before;

  beforeAll(async () => {
    const stub: ApiHandler = () => Promise.reject(new Error('not under test'));
    let wellKnown: ApiHandler = stub;
    const handlers: Handlers = {
      health: stub,
      'send-otp': stub,
      'verify-otp': stub,
      session: stub,
      sessions: stub,
      refresh: stub,
      policy: stub,
      'well-known': (event, context) => wellKnown(event, context),
      openapi: stub,
    };
    server = createLocalServer(handlers);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ring = {
      current: async () => (await staticKeyRing(served)).current(0),
      reloadForUnknownKey: async () => (await staticKeyRing(served)).current(0),
    };
    wellKnown = createWellKnownHandler({ config: { issuer, keyRing: ring }, now: Date.now });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** As a backend would: discovery from the issuer, then the JWKS it names, both fetched over HTTP. */
  async function discover() {
    const response = await fetch(`${issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as { issuer: string; jwks_uri: string };
    return { issuer: discovery.issuer, jwks: createRemoteJWKSet(new URL(discovery.jwks_uri)) };
  }

  it('verifies a token the service signed, by the published key and the discovered issuer', async () => {
    const { token } = await new JwtAccessTokens(ring, { issuer, ttlSeconds: 900 }).issue(SUBJECT, Date.now());
    const remote = await discover();
    expect(remote.issuer).toBe(issuer);
    const { payload, protectedHeader } = await jwtVerify(token, remote.jwks, {
      issuer: remote.issuer,
      audience: 'cli_abc',
      algorithms: ['ES256'],
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ sub: 'c-1', sid: 'fam-1', trust: 'strong', amr: ['otp', 'sms'] });
    expect(protectedHeader.kid).toBe(served.current.kid);
  });

  it('refuses a token signed by a key the service never published', async () => {
    const stranger = await staticKeyRing(initialKeySet(Date.now()));
    const { token } = await new JwtAccessTokens(stranger, { issuer, ttlSeconds: 900 }).issue(SUBJECT, Date.now());
    const remote = await discover();
    await expect(jwtVerify(token, remote.jwks, { issuer: remote.issuer })).rejects.toThrow(errors.JWKSNoMatchingKey);
  });

  it('lets an RS256-only verifier, as an HTTP API JWT authorizer is, accept an RS256 token', async () => {
    served = initialKeySet(Date.now(), 'RS256');
    const { token } = await new JwtAccessTokens(ring, { issuer, ttlSeconds: 900 }).issue(SUBJECT, Date.now());
    const remote = await discover();
    const { payload, protectedHeader } = await jwtVerify(token, remote.jwks, {
      issuer: remote.issuer,
      audience: 'cli_abc',
      algorithms: ['RS256'],
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ sub: 'c-1', sid: 'fam-1' });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: served.current.kid });
    // The same verifier refuses an ES256 token: the opt-in is what makes such a verifier work.
    served = before;
    const es = await new JwtAccessTokens(ring, { issuer, ttlSeconds: 900 }).issue(SUBJECT, Date.now());
    await expect(jwtVerify(es.token, remote.jwks, { algorithms: ['RS256'] })).rejects.toThrow();
  });

  it('keeps verifying a token signed before a rotation, and one signed after it, from one JWKS', async () => {
    const signer = () => new JwtAccessTokens(ring, { issuer, ttlSeconds: 900 });
    served = before;
    const old = await signer().issue(SUBJECT, Date.now());
    served = rotatedKeySet(before, Date.now());
    const fresh = await signer().issue(SUBJECT, Date.now());
    const remote = await discover();
    for (const { token } of [old, fresh]) {
      await expect(jwtVerify(token, remote.jwks, { issuer: remote.issuer })).resolves.toBeDefined();
    }
  });
});
