import { loadConfig } from '../config.js';
import { otpRequired, stepUpSeconds } from '../core/client-policy.js';
import type { ApiDeps, StoreOf } from '../core/deps.js';
import { OtpRequiredError } from '../core/errors.js';
import type { AccessTokens } from '../core/access-tokens.js';
import { checkBearer, revokeAllSessions, revokeSession } from '../core/sessions.js';
import { actionFrom } from '../http/action.js';
import { clientIdentifier } from '../http/client-context.js';
import { ValidationError } from '../http/errors.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { isoTime, json, noContent } from '../http/responses.js';
import { tokenFromHeaders } from '../http/session-token.js';
import { createAccessTokens, createClientDirectory, createSessionStore, withSigningKeys } from '../wiring.js';

/** What GET and DELETE /v1/session read and write: the store of the use cases they call. */
export type SessionStore = StoreOf<typeof checkBearer> &
  StoreOf<typeof revokeSession> &
  StoreOf<typeof revokeAllSessions>;

export type SessionDeps = Omit<ApiDeps<SessionStore>, 'config'> & {
  config: Pick<ApiDeps['config'], 'requireApiKey' | 'stepUpTtlSeconds'>;
  /** Checks access tokens; without it, GET and DELETE /v1/session take session tokens only. */
  accessTokens?: AccessTokens;
};

/** `?all=true` of DELETE: absent, or exactly `true`. */
function allFrom(query: Record<string, string | undefined>): boolean {
  if (query.all === undefined) return false;
  if (query.all !== 'true') throw new ValidationError([{ path: 'all', message: 'Must be true when present.' }]);
  return true;
}

/**
 * GET checks a session token (or an access token, against its session) and, with `?action=`, whether
 * the calling client's policy lets it act on that session without a fresher OTP; DELETE, with either
 * kind of token, ends that session, or with `?all=true` every session of its customer.
 */
export function createSessionHandler(deps: SessionDeps, logger = createLogger()): ApiHandler {
  return httpHandler({
    logger,
    methods: ['GET', 'DELETE'],
    identify: clientIdentifier(deps, logger),
    handle: async ({ method, headers, query, client }) => {
      const token = tokenFromHeaders(headers);
      if (method === 'DELETE') {
        if (allFrom(query)) await revokeAllSessions(deps, token);
        else await revokeSession(deps, token);
        return noContent();
      }
      const action = actionFrom(query, false);
      const session = await checkBearer(deps, token);
      let decision = {};
      if (action !== undefined) {
        const required = otpRequired(client?.policy, action);
        const window = stepUpSeconds(deps.config, client?.policy) * 1000;
        if (required && deps.now() - session.authTime > window) throw new OtpRequiredError(action);
        decision = { action, otpRequired: required };
      }
      return json(200, {
        valid: true,
        customerId: session.customerId,
        target: session.target,
        otpType: session.channel,
        purpose: session.purpose,
        issuedAt: isoTime(session.issuedAt),
        expiresAt: isoTime(session.expiresAt),
        authTime: isoTime(session.authTime),
        clientId: session.origin.clientId ?? null,
        ...decision,
      });
    },
  });
}

const config = await withSigningKeys(loadConfig(process.env));
export const handler = createSessionHandler({
  config,
  accessTokens: createAccessTokens(config),
  store: createSessionStore(config),
  clients: createClientDirectory(config),
  now: Date.now,
});
