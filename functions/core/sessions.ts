import { createHash, randomBytes } from 'node:crypto';
import type { CoreDeps } from './deps.js';
import { SessionInvalidError } from './errors.js';
import type { SessionRecord } from './ports.js';

const TOKEN_BYTES = 32;
/** 32 bytes in unpadded base64url. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** A session's public id (`sid`): names its refresh family, never grants anything by itself. */
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

type SessionDeps = Pick<CoreDeps, 'store' | 'now'>;

/** Valid only while unexpired and unrevoked; every failure looks the same to the caller. */
export async function checkSession(deps: SessionDeps, token: string | undefined): Promise<SessionRecord> {
  if (!token || !isWellFormedToken(token)) throw new SessionInvalidError();
  const session = await deps.store.getSession(hashSessionToken(token));
  if (!session || session.revokedAt !== undefined || session.expiresAt <= deps.now()) {
    throw new SessionInvalidError();
  }
  return session;
}

export async function revokeSession(deps: SessionDeps, token: string | undefined): Promise<void> {
  if (!token || !isWellFormedToken(token)) throw new SessionInvalidError();
  const revoked = await deps.store.revokeSession(hashSessionToken(token), deps.now());
  if (!revoked) throw new SessionInvalidError();
}
