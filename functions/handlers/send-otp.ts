import { loadConfig } from '../config.js';
import type { SendDeps } from '../core/deps.js';
import { DEFAULT_PURPOSE } from '../core/purposes.js';
import { sendCode } from '../core/send-code.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { json } from '../http/responses.js';
import { sendBody } from '../http/schemas.js';
import { createSenders, createStore, withPepper } from '../wiring.js';

export function createSendOtpHandler(deps: Omit<SendDeps, 'log'>, logger = createLogger()): ApiHandler {
  return httpHandler({
    logger,
    methods: ['POST'],
    body: sendBody,
    handle: async ({ body, sourceIp }) => {
      const result = await sendCode(
        { ...deps, log: logger },
        { target: body.target, purpose: body.purpose ?? DEFAULT_PURPOSE, channel: body.channel, sourceIp },
      );
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
});
