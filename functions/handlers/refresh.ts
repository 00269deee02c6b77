import { loadConfig } from '../config.js';
import type { PolicyScope } from '../core/client-policy.js';
import { subjectOf } from '../core/access-tokens.js';
import type { ApiDeps, StoreOf, TokenIssuingDeps } from '../core/deps.js';
import { refreshSession } from '../core/refresh-session.js';
import { callDeps, clientIdentifier } from '../http/client-context.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { accessTokenFields, isoTime, json } from '../http/responses.js';
import { refreshBody } from '../http/schemas.js';
import { createAccessTokens, createClientDirectory, createRefreshStore, withSigningKeys } from '../wiring.js';

/** POST /v1/session/refresh: a new session token and refresh token for a live refresh token. */
/** The refresh function holds no pepper: it hashes only tokens, with SHA-256. */
export type RefreshHandlerDeps = Omit<ApiDeps<StoreOf<typeof refreshSession>>, 'config'> & {
  config: PolicyScope;
} & TokenIssuingDeps;

export function createRefreshHandler(deps: RefreshHandlerDeps, logger = createLogger()): ApiHandler {
  return httpHandler({
    logger,
    methods: ['POST'],
    identify: clientIdentifier(deps, logger),
    body: refreshBody,
    handle: async ({ body, client }) => {
      const call = callDeps(deps, client, logger);
      const result = await refreshSession(call, body.refreshToken, client?.id);
      // The customer as it is now: a verify-phone since the login makes the new token's trust strong.
      const access = await deps.accessTokens.issue(subjectOf(result.session, result.customer), deps.now());
      return json(200, {
        sessionToken: result.sessionToken,
        expiresAt: isoTime(result.session.expiresAt),
        expiresIn: Math.round((result.session.expiresAt - result.session.issuedAt) / 1000),
        refreshToken: result.refreshToken,
        refreshExpiresAt: isoTime(result.refreshExpiresAt),
        ...accessTokenFields(access),
      });
    },
  });
}

const config = await withSigningKeys(loadConfig(process.env));
export const handler = createRefreshHandler({
  config,
  accessTokens: createAccessTokens(config),
  store: createRefreshStore(config),
  clients: createClientDirectory(config),
  now: Date.now,
});
