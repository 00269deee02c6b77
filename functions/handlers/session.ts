import { loadConfig } from '../config.js';
import type { CoreDeps } from '../core/deps.js';
import { checkSession, revokeSession } from '../core/sessions.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { json, noContent } from '../http/responses.js';
import { tokenFromHeaders } from '../http/session-token.js';
import { createStore } from '../wiring.js';

/** GET checks a session token, DELETE revokes it. */
export function createSessionHandler(deps: Pick<CoreDeps, 'store' | 'now'>, logger = createLogger()): ApiHandler {
  return httpHandler({
    logger,
    methods: ['GET', 'DELETE'],
    handle: async ({ method, headers }) => {
      const token = tokenFromHeaders(headers);
      if (method === 'DELETE') {
        await revokeSession(deps, token);
        return noContent();
      }
      const session = await checkSession(deps, token);
      return json(200, {
        valid: true,
        customerId: session.customerId,
        target: session.target,
        otpType: session.channel,
        purpose: session.purpose,
        issuedAt: new Date(session.issuedAt).toISOString(),
        expiresAt: new Date(session.expiresAt).toISOString(),
      });
    },
  });
}

const config = loadConfig(process.env);
export const handler = createSessionHandler({ store: createStore(config), now: Date.now });
