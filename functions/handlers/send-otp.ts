import { loadConfig } from '../config.js';
import type { SendApiDeps, StoreOf } from '../core/deps.js';
import { RateLimitedError } from '../core/errors.js';
import { sendIdempotently } from '../core/idempotency.js';
import { DEFAULT_PURPOSE } from '../core/purposes.js';
import { type SendResult, sendCode } from '../core/send-code.js';
import { withCurrentPeppers } from '../core/peppers.js';
import { callDeps, clientIdentifier } from '../http/client-context.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { idempotencyKeyFrom, REPLAYED_HEADER } from '../http/idempotency-key.js';
import { createLogger } from '../http/logger.js';
import { json } from '../http/responses.js';
import { sendBody } from '../http/schemas.js';
import { tokenFromHeaders } from '../http/session-token.js';
import { SMS_METRICS } from '../metrics.js';
import { cloudWatchMetrics, type UsageMetrics } from '../usage-metrics.js';
import { createClientDirectory, createSenders, createSendStore, withPepper } from '../wiring.js';

/** What POST /v1/otp/send reads and writes: the store of the use cases it calls. */
export type SendOtpStore = StoreOf<typeof sendCode> & StoreOf<typeof sendIdempotently>;

export function createSendOtpHandler(
  deps: SendApiDeps<SendOtpStore>,
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
      // The peppers as they are now: a rotation reaches a warm container within minutes (wiring.ts).
      const call = callDeps(await withCurrentPeppers(deps), client, logger);
      const clientId = client?.id ?? 'anonymous';
      const request = {
        target: body.target,
        purpose: body.purpose ?? DEFAULT_PURPOSE,
        channel: body.channel,
        sourceIp,
        clientId: client?.id,
        sessionToken: () => tokenFromHeaders(headers),
        locale: body.locale,
      };
      const { result: sent, replayed } = await sendIdempotently(call, { key, request }, (request) =>
        sendCode(call, request),
      ).catch((error: unknown) => {
        if (error instanceof RateLimitedError) countRefusal(metrics, error, clientId);
        throw error;
      });
      const { testTarget, country, breakerTripped, ...result } = sent;
      // A replay sent nothing: the first answer counted its code.
      if (!replayed) countSent(metrics, { testTarget, country, breakerTripped, otpType: result.otpType }, clientId);
      return json(
        200,
        { ...result, message: result.otpType === 'sms' ? 'A code was sent by SMS.' : 'A code was sent by e-mail.' },
        replayed ? { [REPLAYED_HEADER]: 'true' } : {},
      );
    },
  });
}

/** A code sent, for the operator: per client and channel, and an SMS per country (functions/metrics.ts). */
function countSent(
  metrics: UsageMetrics,
  sent: Pick<SendResult, 'testTarget' | 'country' | 'breakerTripped' | 'otpType'>,
  clientId: string,
): void {
  metrics.count(sent.testTarget ? 'TestCodeIssued' : 'CodeSent', { clientId, channel: sent.otpType });
  if (sent.otpType === 'sms' && !sent.testTarget && sent.country) {
    metrics.count(SMS_METRICS.sent, { country: sent.country });
    metrics.count(SMS_METRICS.sent, { clientId });
  }
  const trip = sent.breakerTripped;
  if (trip) {
    metrics.count(SMS_METRICS.breakerTripped, {});
    metrics.count(SMS_METRICS.breakerTripped, { country: trip.country, mode: trip.mode });
  }
}

/** A send refused by a limit, by reason, for the operator (functions/metrics.ts, SMS_METRICS). */
function countRefusal(metrics: UsageMetrics, error: RateLimitedError, clientId: string): void {
  metrics.count(SMS_METRICS.refused, { reason: error.reason });
  metrics.count(SMS_METRICS.refused, { reason: error.reason, clientId });
  if (error.country) metrics.count(SMS_METRICS.refused, { reason: error.reason, country: error.country });
}

const config = await withPepper(loadConfig(process.env));
export const handler = createSendOtpHandler({
  config,
  peppers: config.peppers,
  store: createSendStore(config),
  clients: createClientDirectory(config),
  senders: createSenders(config),
  now: Date.now,
});
