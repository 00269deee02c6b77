import type { CoreDeps } from './deps.js';
import { SessionInvalidError } from './errors.js';
import type { Customer, OtpStore, SessionRecord } from './ports.js';
import { hashSessionToken, isWellFormedToken, newSessionToken } from './sessions.js';

export interface RefreshResult {
  sessionToken: string;
  refreshToken: string;
  session: SessionRecord;
  /** The family's absolute end: a refresh never extends it. */
  refreshExpiresAt: number;
  /** The session's customer as it is now (its trust level may have grown since the login). */
  customer?: Customer;
}

export type RefreshDeps = Pick<
  CoreDeps<Pick<OtpStore, 'findRefresh' | 'rotateRefresh' | 'getCustomer'>>,
  'store' | 'now' | 'log'
> & {
  config: Pick<CoreDeps['config'], 'sessionTtlSeconds' | 'refreshIdleSeconds'>;
};

/**
 * Trades a refresh token for a new session token and a new refresh token. Every failure answers
 * alike (401 session-invalid); a used token presented again also ends the whole session, since
 * either the app or a thief holds a copy and nobody can tell which. `clientId` is the caller's: a
 * refresh token works only for the client that logged in (or only
 * without a key, for a login without one), so a token leaked from one app is no use to another.
 */
export async function refreshSession(
  deps: RefreshDeps,
  token: string | undefined,
  clientId: string | undefined,
): Promise<RefreshResult> {
  if (!token || !isWellFormedToken(token)) throw new SessionInvalidError();
  const { config, store } = deps;
  const now = deps.now();
  const presented = await store.findRefresh(hashSessionToken(token));
  if (!presented || presented.absoluteExpiresAt <= now) throw new SessionInvalidError();
  if (presented.session.origin.clientId !== clientId) {
    deps.log.warn('refresh token of another client refused', { sid: presented.sid });
    throw new SessionInvalidError();
  }

  const sessionToken = newSessionToken();
  const refreshToken = newSessionToken();
  const session: SessionRecord = {
    ...presented.session,
    tokenHash: hashSessionToken(sessionToken),
    issuedAt: now,
    // The lifetime of the client that logged in, whoever refreshes; never past the family's end.
    expiresAt: Math.min(
      now + (presented.sessionTtlSeconds ?? config.sessionTtlSeconds) * 1000,
      presented.absoluteExpiresAt,
    ),
    revokedAt: undefined,
  };
  // The customer is read beside the rotation: a refresh stays two round trips.
  const [rotated, read] = await Promise.allSettled([
    store.rotateRefresh({
      presented,
      newRefreshHash: hashSessionToken(refreshToken),
      newSession: session,
      now,
      idleUntil: now + config.refreshIdleSeconds * 1000,
    }),
    store.getCustomer(session.customerId),
  ]);
  if (rotated.status === 'rejected') throw rotated.reason;
  const outcome = rotated.value;
  // Once rotated, the presented token is used: an error now would send the app back with it, and
  // that retry would read as reuse and end the session. The tokens go out without the profile (the
  // access token's trust is then the session's own, access-tokens.ts subjectOf).
  const customer: Customer | undefined = read.status === 'fulfilled' ? read.value : undefined;
  if (read.status === 'rejected' && outcome === 'rotated') {
    deps.log.warn('customer not read for a refresh', {
      sid: presented.sid,
      reason: read.reason instanceof Error ? read.reason.name : 'unknown',
    });
  }
  if (outcome === 'reused') deps.log.warn('refresh token used twice: session revoked', { sid: presented.sid });
  if (outcome !== 'rotated') throw new SessionInvalidError();
  return { sessionToken, refreshToken, session, refreshExpiresAt: presented.absoluteExpiresAt, customer };
}
