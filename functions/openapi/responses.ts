import * as z from 'zod/mini';
import { TRUST_LEVELS_OF_CUSTOMERS } from '../core/access-tokens.js';
import { NEW_CODE_REQUIRED, RATE_LIMIT_REASONS } from '../core/errors.js';
import { PLATFORMS } from '../core/ports.js';
import { CHANNELS, PURPOSES } from '../core/purposes.js';

/**
 * The success bodies of the API (API.md, README "API") as zod/mini schemas: the OpenAPI document
 * (document.ts) describes them through `z.toJSONSchema`, and test/openapi/ parses real answers of the
 * handlers with them, so that the document cannot drift from what the handlers say. Only the
 * generator and the tests import this module; no handler bundle carries it.
 */

const success = z.literal(true);
/** Every time of the API: epoch milliseconds as ISO 8601 in UTC (http/responses.ts isoTime). */
const time = z.iso.datetime();
const seconds = z.int().check(z.minimum(0));
const channel = z.enum(CHANNELS);

export const healthResponse = z.object({ success, status: z.literal('ok') });

export const sendResponse = z.object({
  success,
  otpType: channel,
  expiresIn: seconds,
  resendAfter: seconds,
  message: z.string(),
  otpToken: z.string(),
  mockCode: z.optional(z.string().check(z.regex(/^\d+$/))),
});

export const identity = z.object({
  id: z.string(),
  email: z.nullable(z.string()),
  phone: z.nullable(z.string()),
  name: z.nullable(z.string()),
  verified: z.literal(true),
  verifiedAt: time,
  trustLevel: z.enum(TRUST_LEVELS_OF_CUSTOMERS),
  createdAt: time,
  lastLoginAt: z.nullable(time),
  loginCount: z.nullable(seconds),
});

/** The tokens of a login, register, step-up or reset-password; verify-* and update-* get none. */
const sessionTokens = {
  sessionToken: z.string(),
  expiresAt: time,
  expiresIn: seconds,
  accessToken: z.string(),
  accessExpiresIn: seconds,
  tokenType: z.literal('Bearer'),
};
const refreshTokens = { refreshToken: z.string(), refreshExpiresAt: time };

export const verifyResponse = z.object({
  success,
  verifiedTarget: z.string(),
  otpType: channel,
  isNew: z.boolean(),
  identity,
  sessionToken: z.optional(sessionTokens.sessionToken),
  expiresAt: z.optional(time),
  expiresIn: z.optional(seconds),
  accessToken: z.optional(sessionTokens.accessToken),
  accessExpiresIn: z.optional(seconds),
  tokenType: z.optional(sessionTokens.tokenType),
  refreshToken: z.optional(refreshTokens.refreshToken),
  refreshExpiresAt: z.optional(time),
});

export const refreshResponse = z.object({ success, ...sessionTokens, ...refreshTokens });

export const sessionResponse = z.object({
  success,
  valid: z.literal(true),
  customerId: z.string(),
  target: z.string(),
  otpType: channel,
  purpose: z.enum(PURPOSES),
  issuedAt: time,
  expiresAt: time,
  authTime: time,
  clientId: z.nullable(z.string()),
  action: z.optional(z.string()),
  otpRequired: z.optional(z.boolean()),
});

export const sessionsResponse = z.object({
  success,
  sessions: z.array(
    z.object({
      id: z.string(),
      current: z.boolean(),
      clientId: z.nullable(z.string()),
      platform: z.nullable(z.enum(PLATFORMS)),
      issuedAt: time,
      lastUsedAt: time,
      expiresAt: time,
    }),
  ),
});

export const policyResponse = z.object({
  success,
  clientId: z.nullable(z.string()),
  action: z.string(),
  otpRequired: z.boolean(),
  stepUpSeconds: seconds,
});

/** A public key as RFC 7517 writes it; the members depend on the key type (EC or RSA). */
const jwk = z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.optional(z.string()) });

export const jwksResponse = z.object({ success, keys: z.array(jwk) });

export const discoveryResponse = z.object({
  success,
  issuer: z.string(),
  jwks_uri: z.string(),
  id_token_signing_alg_values_supported: z.array(z.string()),
  subject_types_supported: z.array(z.string()),
  claims_supported: z.array(z.string()),
});

/** GET /openapi.json: an OpenAPI document as it is, without `success` (handlers/openapi.ts says why). */
export const openApiResponse = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

/** RFC 9457 problem details with this API's members (http/problem.ts problemBody). */
export const problemResponse = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  success: z.literal(false),
  error: z.string(),
  errors: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
  retryAfter: z.optional(seconds),
  reason: z.optional(z.enum([...RATE_LIMIT_REASONS, NEW_CODE_REQUIRED])),
});
