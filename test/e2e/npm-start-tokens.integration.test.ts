import { rmSync } from 'node:fs';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { JwtAccessTokens, staticKeyRing } from '../../functions/adapters/jwt-access-tokens.js';
import type { AccessTokenSubject } from '../../functions/core/access-tokens.js';
import { initialKeySet, serializeKeySet } from '../../functions/core/signing-keys.js';
import { type NpmStart, serveOnFreshTables, waitFor } from './npm-start-harness.js';

/**
 * `npm start` serves the discovery document and the JWKS of its signing keys, and a standard
 * verifier, finding both over HTTP, accepts the access token its verify route returns, and a token
 * signed with those keys, and no other. The server is given its keys (OTP_SIGNING_KEYS), so that
 * this test can sign with them too.
 */
const started: NpmStart[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const npm of started) npm.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const SUBJECT: AccessTokenSubject = {
  customerId: 'c-1',
  sid: 'fam-1',
  authTime: Date.now(),
  channel: 'email',
  purpose: 'login',
  trustLevel: 'verified',
};

async function serve(extraEnv: Record<string, string>) {
  const served = await serveOnFreshTables(extraEnv);
  started.push(served.npm);
  dirs.push(served.tmp);
  return served;
}

async function stop(npm: NpmStart) {
  npm.process.kill('SIGTERM');
  await npm.exited;
  await waitFor('the server to stop', async () => (npm.output().includes('Stopped.') ? true : undefined), 10_000);
}

describe('npm start and access tokens', () => {
  it('names its own URL as issuer, and a standard verifier checks its tokens over HTTP', async () => {
    const keys = initialKeySet(Date.now());
    const { npm, base } = await serve({ OTP_SIGNING_KEYS: serializeKeySet(keys) });
    expect(npm.output()).toContain(`tokens:    issuer ${base}, keys at ${base}/.well-known/jwks.json`);

    const response = await fetch(`${base}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as { issuer: string; jwks_uri: string };
    expect(discovery).toMatchObject({ issuer: base, jwks_uri: `${base}/.well-known/jwks.json` });

    const jwksText = await (await fetch(discovery.jwks_uri)).text();
    expect(jwksText).not.toContain(keys.current.jwk.d);
    expect(jwksText).not.toContain(keys.next.jwk.d);

    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const signer = new JwtAccessTokens(await staticKeyRing(keys), { issuer: discovery.issuer, ttlSeconds: 900 });
    const { token } = await signer.issue(SUBJECT, Date.now());
    const { payload } = await jwtVerify(token, jwks, {
      issuer: discovery.issuer,
      audience: 'otp-service',
      algorithms: ['ES256'],
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ sub: 'c-1', sid: 'fam-1', amr: ['otp', 'email'] });

    const stranger = new JwtAccessTokens(await staticKeyRing(initialKeySet(Date.now())), {
      issuer: discovery.issuer,
      ttlSeconds: 900,
    });
    const forged = await stranger.issue(SUBJECT, Date.now());
    await expect(jwtVerify(forged.token, jwks, { issuer: discovery.issuer })).rejects.toThrow(errors.JWKSNoMatchingKey);

    // The access token of a real login, checked the way a team's backend would.
    const post = async (path: string, body: unknown) => {
      const answer = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await answer.json()) as Record<string, any>;
    };
    const sent = await post('/v1/otp/send', { target: 'ada@example.com' });
    const verified = await post('/v1/otp/verify', { target: 'ada@example.com', code: sent.mockCode });
    expect(verified).toMatchObject({ success: true, tokenType: 'Bearer', accessExpiresIn: 900 });
    const login = await jwtVerify(verified.accessToken, jwks, {
      issuer: discovery.issuer,
      audience: 'otp-service',
      algorithms: ['ES256'],
      typ: 'at+jwt',
    });
    expect(login.payload).toMatchObject({
      sub: verified.identity.id,
      amr: ['otp', 'email'],
      purpose: 'login',
      trust: 'verified',
    });
    expect((login.payload.exp ?? 0) - (login.payload.iat ?? 0)).toBe(900);
    await stop(npm);
  }, 180_000);

  it('makes keys of its own when none are given, and says so', async () => {
    const { npm, base } = await serve({});
    expect(npm.output()).toContain('(generated for this run; set OTP_SIGNING_KEYS, or use --data-dir, to keep them)');
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys).toHaveLength(2);
    await stop(npm);
  }, 180_000);
});
