import { loadConfig } from '../config.js';
import type { CoreDeps } from '../core/deps.js';
import { DEFAULT_PURPOSE } from '../core/purposes.js';
import { verifyCode } from '../core/verify-code.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { json } from '../http/responses.js';
import { verifyBody } from '../http/schemas.js';
import { createStore, withPepper } from '../wiring.js';

export function createVerifyOtpHandler(deps: Omit<CoreDeps, 'log'>, logger = createLogger()): ApiHandler {
  return httpHandler({
    logger,
    methods: ['POST'],
    body: verifyBody(deps.config.codeLength),
    handle: async ({ body }) => {
      const result = await verifyCode({ ...deps, log: logger }, { ...body, purpose: body.purpose ?? DEFAULT_PURPOSE });
      const { customer } = result;
      return json(200, {
        verifiedTarget: result.verifiedTarget,
        otpType: result.otpType,
        sessionToken: result.sessionToken,
        expiresAt: new Date(result.expiresAt).toISOString(),
        expiresIn: deps.config.sessionTtlSeconds,
        isNew: result.isNew,
        identity: {
          id: customer.id,
          email: customer.channel === 'email' ? customer.target : null,
          phone: customer.channel === 'sms' ? customer.target : null,
          name: customer.name,
          verified: true,
          verifiedAt: new Date(result.verifiedAt).toISOString(),
          trustLevel: 'verified',
        },
      });
    },
  });
}

const config = await withPepper(loadConfig(process.env));
export const handler = createVerifyOtpHandler({ config, store: createStore(config), now: Date.now });
