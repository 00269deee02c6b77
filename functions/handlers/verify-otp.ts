import * as z from 'zod/mini';
import { loadConfig } from '../config.js';
import { type CoreDeps, verifyCode } from '../core/otp.js';
import { DEFAULT_PURPOSE, PURPOSES } from '../core/purposes.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { logger } from '../http/logger.js';
import { json } from '../http/responses.js';
import { createStore, withPepper } from '../wiring.js';

export function verifyBody(codeLength: number) {
  return z.object({
    target: z.string().check(z.minLength(1), z.maxLength(255)),
    code: z.string().check(z.regex(new RegExp(`^\\d{${codeLength}}$`), `Must be exactly ${codeLength} digits.`)),
    purpose: z.optional(z.enum(PURPOSES)),
    name: z.optional(z.string().check(z.maxLength(255))),
  });
}

export function createVerifyOtpHandler(deps: CoreDeps): ApiHandler {
  return httpHandler({
    methods: ['POST'],
    body: verifyBody(deps.config.codeLength),
    handle: async ({ body }) => {
      const result = await verifyCode(deps, { ...body, purpose: body.purpose ?? DEFAULT_PURPOSE });
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
export const handler = createVerifyOtpHandler({ config, store: createStore(config), now: Date.now, log: logger });
