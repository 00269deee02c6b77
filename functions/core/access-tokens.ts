import { trustLevelOf } from './customers.js';
import type { Customer, SessionRecord } from './ports.js';
import type { Channel, Purpose } from './purposes.js';

/** How well the customer's identity is established: one channel verified, or e-mail and phone both. */
export const TRUST_LEVELS_OF_CUSTOMERS = ['verified', 'strong'] as const;
export type TrustLevel = (typeof TRUST_LEVELS_OF_CUSTOMERS)[number];

/** What an access token says about its session (API.md, "Access token claims"). */
export interface AccessTokenSubject {
  customerId: string;
  /** The session id (its family): GET /v1/session checks an access token against it. */
  sid: string;
  /** The client that logged in; undefined for a login without a key (audience `otp-service`). */
  clientId?: string;
  /** The OTP verification the session stands on (epoch ms). */
  authTime: number;
  channel: Channel;
  purpose: Purpose;
  trustLevel: TrustLevel;
  /** When the session ends (epoch ms): a token never outlives it. */
  sessionExpiresAt?: number;
}

/** The claims of a verified access token, as the JWT carries them (times in epoch seconds). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  sid: string;
  iat: number;
  exp: number;
  auth_time: number;
  amr: string[];
  purpose: Purpose;
  trust: TrustLevel;
}

/** The audience of a token issued to a call without a client key. */
export const ANONYMOUS_AUDIENCE = 'otp-service';

/**
 * Signs and checks access tokens (ES256 JWTs). The implementation holds the signing keys; the use
 * cases only say whom a token is for.
 */
export interface AccessTokens {
  /** A signed token for this session, and its lifetime in seconds. */
  issue(subject: AccessTokenSubject, now: number): Promise<{ token: string; expiresIn: number }>;
  /**
   * The claims of a token this deployment signed (any of its published keys), unexpired at `now`,
   * with this deployment's issuer; undefined for anything else (never throws for a bad token).
   */
  verify(token: string, now: number): Promise<AccessTokenClaims | undefined>;
}

/**
 * What the access token of a session says. `customer` is the customer as just read or written;
 * undefined for one stored under its target by a release before customers were keyed by id, which
 * has one identifier.
 */
export function subjectOf(
  session: SessionRecord,
  customer: Pick<Customer, 'email' | 'phone'> | undefined,
): AccessTokenSubject {
  // Every session verify or refresh opens has an id (its family): the token is checked against it.
  if (!session.sid) throw new Error('an access token needs the session id of its family');
  return {
    customerId: session.customerId,
    sid: session.sid,
    clientId: session.origin.clientId,
    authTime: session.authTime,
    channel: session.channel,
    purpose: session.purpose,
    trustLevel: customer ? trustLevelOf(customer) : 'verified',
    sessionExpiresAt: session.expiresAt,
  };
}
