import { loadConfig } from '../config.js';
import { otpRequired, stepUpSeconds } from '../core/client-policy.js';
import type { SessionDeps } from './session.js';
import { actionFrom } from '../http/action.js';
import { clientIdentifier } from '../http/client-context.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { json } from '../http/responses.js';
import { createClientDirectory } from '../wiring.js';

export type PolicyDeps = Pick<SessionDeps, 'config' | 'clients' | 'now'>;

/** GET /v1/otp/policy?action=NAME: what the calling client's policy says about an action. */
export function createPolicyHandler(deps: PolicyDeps, logger = createLogger()): ApiHandler {
  return httpHandler({
    logger,
    methods: ['GET'],
    identify: clientIdentifier(deps, logger),
    handle: ({ query, client }) => {
      const action = actionFrom(query, true);
      return Promise.resolve(
        json(200, {
          clientId: client?.id ?? null,
          action,
          otpRequired: otpRequired(client?.policy, action),
          stepUpSeconds: stepUpSeconds(deps.config, client?.policy),
        }),
      );
    },
  });
}

const config = loadConfig(process.env);
export const handler = createPolicyHandler({ config, clients: createClientDirectory(config), now: Date.now });
