import { loadConfig, type OtpConfig } from '../config.js';
import type { KeyRing } from '../adapters/jwt-access-tokens.js';
import { publishedAlgorithms } from '../core/signing-keys.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { json } from '../http/responses.js';
import { DISCOVERY_PATH, JWKS_PATH } from '../routes.js';
import { withSigningKeys } from '../wiring.js';

/**
 * How long a verifier may keep the answers. A key is published a whole rotation period before it
 * signs (core/signing-keys.ts), so a cached JWKS never lacks a key that signs; ten minutes bounds how
 * long a key removed by hand (a leaked key) stays trusted by caches.
 */
export const JWKS_CACHE_CONTROL = 'public, max-age=600';
/**
 * The discovery document changes with a deploy, and its algorithms when a switch of algorithm
 * rotates in a key of another one; that key is published a whole rotation period before it signs.
 */
export const DISCOVERY_CACHE_CONTROL = 'public, max-age=3600';

export interface WellKnownDeps {
  config: Pick<OtpConfig, 'issuer'> & { keyRing: KeyRing };
  now: () => number;
}

/**
 * GET /.well-known/jwks.json and /.well-known/openid-configuration: what a backend, or an API Gateway
 * REST API JWT authorizer (an HTTP API one takes RSA keys only: README, Protect your own API, and
 * OTP_ACCESS_TOKEN_ALGORITHM=RS256), needs
 * to check access tokens offline. No API key: these are public, and the function never reads the
 * clients table.
 *
 * Both bodies carry `success: true`, as every success of this API does (API.md, Conventions): RFC
 * 7517 (section 5) and OpenID Connect Discovery (section 3) tell readers to ignore members they do
 * not know, so standard verifiers read them as they are.
 */
export function createWellKnownHandler(deps: WellKnownDeps, logger = createLogger()): ApiHandler {
  const { issuer } = deps.config;
  return httpHandler({
    logger,
    methods: ['GET'],
    handle: async ({ resource }) => {
      if (resource === JWKS_PATH) {
        const { jwks } = await deps.config.keyRing.current(deps.now());
        return json(200, { keys: jwks }, { 'Cache-Control': JWKS_CACHE_CONTROL });
      }
      if (resource !== DISCOVERY_PATH) throw new Error(`well-known has no route ${resource}`);
      // No authorization or token endpoint: tokens come from POST /v1/otp/verify. The members are
      // those a verifier reads (issuer, jwks_uri, the algorithms) and what the tokens carry. The
      // algorithms are those of the published keys: two of them while a switch is under way.
      const { set } = await deps.config.keyRing.current(deps.now());
      return json(
        200,
        {
          issuer,
          jwks_uri: `${issuer}${JWKS_PATH}`,
          id_token_signing_alg_values_supported: publishedAlgorithms(set),
          subject_types_supported: ['public'],
          claims_supported: ['iss', 'sub', 'aud', 'sid', 'iat', 'exp', 'auth_time', 'amr', 'purpose', 'trust'],
        },
        { 'Cache-Control': DISCOVERY_CACHE_CONTROL },
      );
    },
  });
}

const config = await withSigningKeys(loadConfig(process.env));
export const handler = createWellKnownHandler({ config, now: Date.now });
