import type { OtpStore, SessionSummary } from './ports.js';
import { type BearerDeps, checkBearer, isLiveSession, sessionEnd } from './sessions.js';

/**
 * At most this many sessions are read and listed per call, so that a customer with hundreds of
 * logins cannot make one call unbounded; those that end last come first.
 */
export const SESSION_LIST_LIMIT = 100;

export interface ListedSession {
  id: string;
  /** The session of the token the listing was asked with. */
  current: boolean;
  clientId?: string;
  platform?: string;
  /** The login. */
  issuedAt: number;
  /** The login or the last refresh. */
  lastUsedAt: number;
  /** When the session ends if it is not refreshed again (core/sessions.ts, sessionEnd). */
  expiresAt: number;
}

/** GET /v1/sessions: the live sessions of the token's customer, most recently used first. */
export async function listSessions(
  deps: BearerDeps & { store: Pick<OtpStore, 'listSessions'> },
  token: string | undefined,
): Promise<ListedSession[]> {
  const caller = await checkBearer(deps, token);
  const now = deps.now();
  const families = await deps.store.listSessions(caller.customerId, now, SESSION_LIST_LIMIT);
  return families
    .filter((family) => isLiveSession(family, now))
    .sort((a, b) => b.lastUsedAt - a.lastUsedAt)
    .map((family: SessionSummary) => ({
      id: family.sid,
      current: family.sid === caller.sid,
      clientId: family.origin.clientId,
      platform: family.origin.platform,
      issuedAt: family.loginAt,
      lastUsedAt: family.lastUsedAt,
      expiresAt: sessionEnd(family),
    }));
}
