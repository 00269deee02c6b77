import * as z from 'zod/mini';
import { loadConfig } from '../config.js';
import { type CoreDeps, sendCode } from '../core/otp.js';
import type { Senders } from '../core/ports.js';
import { CHANNELS, DEFAULT_PURPOSE, PURPOSES } from '../core/purposes.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { logger } from '../http/logger.js';
import { json } from '../http/responses.js';
import { createSenders, createStore, withPepper } from '../wiring.js';

export const sendBody = z.object({
  target: z.string().check(z.minLength(1), z.maxLength(255)),
  purpose: z.optional(z.enum(PURPOSES)),
  channel: z.optional(z.enum(CHANNELS)),
  locale: z.optional(z.string().check(z.maxLength(35))),
});

export function createSendOtpHandler(deps: CoreDeps & { senders: Senders }): ApiHandler {
  return httpHandler({
    methods: ['POST'],
    body: sendBody,
    handle: async ({ body, sourceIp }) => {
      const result = await sendCode(deps, {
        target: body.target,
        purpose: body.purpose ?? DEFAULT_PURPOSE,
        channel: body.channel,
        sourceIp,
      });
      return json(200, {
        ...result,
        message: result.otpType === 'sms' ? 'A code was sent by SMS.' : 'A code was sent by e-mail.',
      });
    },
  });
}

const config = await withPepper(loadConfig(process.env));
export const handler = createSendOtpHandler({
  config,
  store: createStore(config),
  senders: createSenders(config),
  now: Date.now,
  log: logger,
});
