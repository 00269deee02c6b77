/**
 * The bodies of the API (API.md, README "API") as an app sees them. Written by hand so that the
 * client carries no schema library; test/client/types.test.ts checks each one against the zod
 * schemas the OpenAPI document is generated from (functions/openapi/responses.ts), so they cannot drift.
 */

export type Channel = 'sms' | 'email';

export type Purpose =
  | 'login'
  | 'register'
  | 'step-up'
  | 'reset-password'
  | 'verify-email'
  | 'verify-phone'
  | 'update-email'
  | 'update-phone';

export type Platform = 'ios' | 'android' | 'web' | 'other';

export type TrustLevel = 'verified' | 'strong';

/** Every time the API returns: ISO 8601 in UTC. */
export type IsoTime = string;

export interface HealthResponse {
  success: true;
  status: 'ok';
}

export interface SendRequest {
  /** An e-mail address or a phone number (E.164 or as people type it, with the country code). */
  target: string;
  purpose?: Purpose;
  channel?: Channel;
  /** BCP 47, like `pt-BR`: the language of the SMS or e-mail. */
  locale?: string;
}

export interface SendResponse {
  success: true;
  otpType: Channel;
  expiresIn: number;
  resendAfter: number;
  message: string;
  /** The handle of this code: give it to verify in place of (or with) the target. */
  otpToken: string;
  /** Only from a server in dev mode (`npm start`), never from a production stage. */
  mockCode?: string;
}

export interface VerifyRequest {
  target?: string;
  otpToken?: string;
  code: string;
  purpose?: Purpose;
  /** Stored only when the customer is created. */
  name?: string;
  platform?: Platform;
}

export interface Identity {
  id: string;
  email: string | null;
  phone: string | null;
  name: string | null;
  verified: true;
  verifiedAt: IsoTime;
  trustLevel: TrustLevel;
  createdAt: IsoTime;
  lastLoginAt: IsoTime | null;
  loginCount: number | null;
}

export interface SessionTokens {
  sessionToken: string;
  expiresAt: IsoTime;
  expiresIn: number;
  accessToken: string;
  accessExpiresIn: number;
  tokenType: 'Bearer';
}

export interface RefreshTokens {
  refreshToken: string;
  refreshExpiresAt: IsoTime;
}

/**
 * login and register get every token; step-up and reset-password no refresh token; verify-* and
 * update-* none at all.
 */
export interface VerifyResponse extends Partial<SessionTokens>, Partial<RefreshTokens> {
  success: true;
  verifiedTarget: string;
  otpType: Channel;
  isNew: boolean;
  identity: Identity;
}

export interface RefreshResponse extends SessionTokens, RefreshTokens {
  success: true;
}

export interface SessionResponse {
  success: true;
  valid: true;
  customerId: string;
  target: string;
  otpType: Channel;
  purpose: Purpose;
  issuedAt: IsoTime;
  expiresAt: IsoTime;
  /** The last OTP verification of this session. */
  authTime: IsoTime;
  clientId: string | null;
  /** With `action`: the action asked about, and whether the client's policy wants an OTP for it. */
  action?: string;
  otpRequired?: boolean;
}

export interface SessionSummary {
  id: string;
  current: boolean;
  clientId: string | null;
  platform: Platform | null;
  issuedAt: IsoTime;
  lastUsedAt: IsoTime;
  expiresAt: IsoTime;
}

export interface SessionsResponse {
  success: true;
  sessions: SessionSummary[];
}

export interface PolicyResponse {
  success: true;
  clientId: string | null;
  action: string;
  otpRequired: boolean;
  stepUpSeconds: number;
}

/** A public key as RFC 7517 writes it; the other members depend on the key type. */
export interface Jwk {
  kty: string;
  kid: string;
  alg: string;
  use?: string;
  [member: string]: unknown;
}

export interface JwksResponse {
  success: true;
  keys: Jwk[];
}

export interface DiscoveryResponse {
  success: true;
  issuer: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported: string[];
  subject_types_supported: string[];
  claims_supported: string[];
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; [member: string]: unknown };
  paths: Record<string, unknown>;
  [member: string]: unknown;
}
