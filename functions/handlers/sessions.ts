import { loadConfig } from '../config.js';
import type { StoreOf } from '../core/deps.js';
import { listSessions } from '../core/list-sessions.js';
import { clientIdentifier } from '../http/client-context.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { isoTime, json } from '../http/responses.js';
import { tokenFromHeaders } from '../http/session-token.js';
import { createAccessTokens, createClientDirectory, createSessionListStore, withSigningKeys } from '../wiring.js';
import type { SessionDeps } from './session.js';

export type SessionsDeps = Pick<SessionDeps, 'config' | 'clients' | 'now' | 'accessTokens'> & {
  store: StoreOf<typeof listSessions>;
};

/** GET /v1/sessions: the live sessions of the token's customer, with the caller's marked `current`. */
export function createSessionsHandler(deps: SessionsDeps, logger = createLogger()): ApiHandler {
  return httpHandler({
    logger,
    methods: ['GET'],
    identify: clientIdentifier(deps, logger),
    handle: async ({ headers }) => {
      const sessions = await listSessions(deps, tokenFromHeaders(headers));
      return json(200, {
        sessions: sessions.map((session) => ({
          id: session.id,
          current: session.current,
          clientId: session.clientId ?? null,
          platform: session.platform ?? null,
          issuedAt: isoTime(session.issuedAt),
          lastUsedAt: isoTime(session.lastUsedAt),
          expiresAt: isoTime(session.expiresAt),
        })),
      });
    },
  });
}

const config = await withSigningKeys(loadConfig(process.env));
export const handler = createSessionsHandler({
  config,
  accessTokens: createAccessTokens(config),
  store: createSessionListStore(config),
  clients: createClientDirectory(config),
  now: Date.now,
});
