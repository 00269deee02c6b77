import { loadConfig } from '../config.js';
import type { SendApiDeps } from '../core/deps.js';
import { sendIdempotently } from '../core/idempotency.js';
import { DEFAULT_PURPOSE } from '../core/purposes.js';
import { sendCode } from '../core/send-code.js';
import { callDeps, clientIdentifier } from '../http/client-context.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { idempotencyKeyFrom, REPLAYED_HEADER } from '../http/idempotency-key.js';
import { createLogger } from '../http/logger.js';
import { json } from '../http/responses.js';
import { sendBody } from '../http/schemas.js';
import { tokenFromHeaders } from '../http/session-token.js';
import { cloudWatchMetrics, type UsageMetrics } from '../usage-metrics.js';
import { createClientDirectory, createSenders, createStore, withPepper } from '../wiring.js';

export function createSendOtpHandler(
  deps: SendApiDeps,
  logger = createLogger(),
  metrics: UsageMetrics = cloudWatchMetrics(),
): ApiHandler {
  return httpHandler({
    logger,
    methods: ['POST'],
    identify: clientIdentifier(deps, logger),
    body: sendBody,
    handle: async ({ body, sourceIp, client, headers }) => {
      const key = idempotencyKeyFrom(headers);
      const call = callDeps(deps, client, logger);
      const request = {
        target: body.target,
        purpose: body.purpose ?? DEFAULT_PURPOSE,
        channel: body.channel,
        sourceIp,
        clientId: client?.id,
        sessionToken: () => tokenFromHeaders(headers),
      };
      const {
        result: { testTarget, ...result },
        replayed,
      } = await sendIdempotently(call, { key, request, locale: body.locale }, (request) => sendCode(call, request));
      const clientId = client?.id ?? 'anonymous';
      // A replay sent nothing: the first answer counted its code.
      if (!replayed) metrics.count(testTarget ? 'TestCodeIssued' : 'CodeSent', { clientId, channel: result.otpType });
      return json(
        200,
        { ...result, message: result.otpType === 'sms' ? 'A code was sent by SMS.' : 'A code was sent by e-mail.' },
        replayed ? { [REPLAYED_HEADER]: 'true' } : {},
      );
    },
  });
}

const config = await withPepper(loadConfig(process.env));
export const handler = createSendOtpHandler({
  config,
  store: createStore(config),
  clients: createClientDirectory(config),
  senders: createSenders(config),
  now: Date.now,
});
