import { createHash, randomBytes } from 'node:crypto';
import { ANONYMOUS_AUDIENCE, type AccessTokens } from './access-tokens.js';
import type { CoreDeps } from './deps.js';
import { SessionInvalidError } from './errors.js';
import type { OtpStore, SessionFamily, SessionRecord, SessionSummary } from './ports.js';

const TOKEN_BYTES = 32;
/** 32 bytes in unpadded base64url. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** A session's public id (`sid`): names its family item, never grants anything by itself. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** Only this hash is stored, so a leaked table does not yield usable tokens. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** Three base64url parts: a JWT in compact form, never a session token (which has no dots). */
const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Far above any access token this service signs; longer ones are not worth verifying. */
const MAX_JWT_LENGTH = 4096;

export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_JWT_LENGTH && JWT_PATTERN.test(token);
}

type SessionDeps<Store> = Pick<CoreDeps<Store>, 'store' | 'now'>;

/** What the session routes read about the session a token stands for, whichever kind of token it is. */
export type SessionView = Pick<
  SessionRecord,
  'customerId' | 'target' | 'channel' | 'purpose' | 'sid' | 'issuedAt' | 'authTime' | 'expiresAt' | 'origin'
>;

/**
 * When a session ends if nothing more happens: its current session token's end, or, for a family
 * with a refresh token, the last moment that token can still be rotated (idle or absolute end,
 * whichever comes first), whichever is later.
 */
export function sessionEnd(session: SessionSummary): number {
  const tokenEnd = Math.min(session.sessionExpiresAt, session.absoluteExpiresAt);
  if (session.idleUntil === undefined) return tokenEnd;
  return Math.max(tokenEnd, Math.min(session.idleUntil, session.absoluteExpiresAt));
}

/** Not revoked and not past its end. */
export function isLiveSession(session: SessionSummary, now: number): boolean {
  return session.revokedAt === undefined && sessionEnd(session) > now;
}

/** Valid only while unexpired and unrevoked; every failure looks the same to the caller. */
export async function checkSession(
  deps: SessionDeps<Pick<OtpStore, 'getSession'>>,
  token: string | undefined,
): Promise<SessionRecord> {
  if (!token || !isWellFormedToken(token)) throw new SessionInvalidError();
  const session = await deps.store.getSession(hashSessionToken(token));
  if (!session || session.revokedAt !== undefined || session.expiresAt <= deps.now()) {
    throw new SessionInvalidError();
  }
  return session;
}

export type BearerDeps = SessionDeps<Pick<OtpStore, 'getSession' | 'findSession'>> & {
  /** Without it, an access token is just an invalid token. */
  accessTokens?: AccessTokens;
};

/**
 * Checks an access token against its session: the signature, expiry and issuer by `accessTokens`,
 * then the family its `sid` names, with one read. The family must belong to the token's subject and
 * audience, and be live: a revoked or ended session's access tokens fail here at once, although an
 * offline verifier accepts them until they expire. For an access token, `issuedAt` and `expiresAt`
 * are those of the login it belongs to (the family's start and end).
 */
export async function checkAccessToken(deps: BearerDeps, token: string): Promise<SessionView & { sid: string }> {
  const now = deps.now();
  const claims = deps.accessTokens ? await deps.accessTokens.verify(token, now) : undefined;
  if (!claims) throw new SessionInvalidError();
  const family: SessionFamily | undefined = await deps.store.findSession(claims.sid);
  if (
    !family ||
    family.customerId !== claims.sub ||
    (family.origin.clientId ?? ANONYMOUS_AUDIENCE) !== claims.aud ||
    !isLiveSession(family, now)
  ) {
    throw new SessionInvalidError();
  }
  return {
    sid: family.sid,
    customerId: family.customerId,
    target: family.target,
    channel: family.channel,
    purpose: family.purpose,
    issuedAt: family.loginAt,
    authTime: family.authTime,
    expiresAt: sessionEnd(family),
    origin: family.origin,
  };
}

/** A session token, or (when the deployment checks them) an access token; one 401 for every failure. */
export function checkBearer(deps: BearerDeps, token: string | undefined): Promise<SessionView> {
  if (token && looksLikeJwt(token)) return checkAccessToken(deps, token);
  return checkSession(deps, token);
}

/**
 * Logs out (DELETE /v1/session) with either kind of token, as GET takes them. A session token ends
 * its session with its family: its refresh token and its access tokens. One that no longer validates
 * but is still stored (expired, or rotated away by a refresh, which keeps it as a tombstone) ends its
 * family and the family's current session all the same, and answers 401 as the token is no longer
 * valid. An access token, checked as GET checks it, ends the session its `sid` names: the family
 * first, then its current session token; 401 when that session had ended already.
 */
export async function revokeSession(
  deps: BearerDeps & { store: Pick<OtpStore, 'revokeSession'> },
  token: string | undefined,
): Promise<void> {
  if (token && looksLikeJwt(token)) {
    const session = await checkAccessToken(deps, token);
    if (!(await deps.store.revokeSession({ sid: session.sid }, deps.now()))) throw new SessionInvalidError();
    return;
  }
  if (!token || !isWellFormedToken(token)) throw new SessionInvalidError();
  const revoked = await deps.store.revokeSession(hashSessionToken(token), deps.now());
  if (!revoked) throw new SessionInvalidError();
}

/**
 * Ends every session of the token's customer (ASVS 7.4, "log out of all devices"): the caller's own
 * first (so that a session stored before sessions had families ends too), then every session the
 * customer's family listing finds. A login that completes after the listing was read is not
 * revoked: it began after the request, like a login a moment after it. The token may be an access
 * token, checked as GET checks it. A session token that no longer validates speaks for no other
 * session, but its own still ends, as with a single logout (revokeSession).
 */
export async function revokeAllSessions(
  deps: BearerDeps & { store: Pick<OtpStore, 'revokeSession' | 'revokeCustomerSessions'> },
  token: string | undefined,
): Promise<void> {
  const now = deps.now();
  if (token && looksLikeJwt(token)) {
    const session = await checkAccessToken(deps, token);
    await deps.store.revokeSession({ sid: session.sid }, now);
    await deps.store.revokeCustomerSessions(session.customerId, now);
    return;
  }
  if (!token || !isWellFormedToken(token)) throw new SessionInvalidError();
  const tokenHash = hashSessionToken(token);
  const session = await deps.store.getSession(tokenHash);
  if (!session || session.revokedAt !== undefined || session.expiresAt <= now) {
    if (session?.sid) await deps.store.revokeSession({ sid: session.sid }, now);
    throw new SessionInvalidError();
  }
  await deps.store.revokeSession(tokenHash, now);
  await deps.store.revokeCustomerSessions(session.customerId, now);
}
