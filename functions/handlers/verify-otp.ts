import { loadConfig } from '../config.js';
import { trustLevelOf } from '../core/customers.js';
import { subjectOf } from '../core/access-tokens.js';
import type { ApiDeps, StoreOf, TokenIssuingDeps } from '../core/deps.js';
import type { Customer } from '../core/ports.js';
import { verifyCode } from '../core/verify-code.js';
import { withCurrentPeppers } from '../core/peppers.js';
import { callDeps, clientIdentifier } from '../http/client-context.js';
import { ValidationError } from '../http/errors.js';
import { type ApiHandler, httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { accessTokenFields, isoTime, json } from '../http/responses.js';
import { verifyBody } from '../http/schemas.js';
import { tokenFromHeaders } from '../http/session-token.js';
import { SMS_METRICS } from '../metrics.js';
import { cloudWatchMetrics, type UsageMetrics } from '../usage-metrics.js';
import { createAccessTokens, createClientDirectory, createVerifyStore, withPepperAndSigningKeys } from '../wiring.js';

export function createVerifyOtpHandler(
  deps: ApiDeps<StoreOf<typeof verifyCode>> & TokenIssuingDeps,
  logger = createLogger(),
  metrics: UsageMetrics = cloudWatchMetrics(),
): ApiHandler {
  return httpHandler({
    logger,
    methods: ['POST'],
    identify: clientIdentifier(deps, logger),
    body: verifyBody,
    handle: async ({ body, client, sourceIp, headers }) => {
      // The peppers as they are now: a rotation reaches a warm container within minutes (wiring.ts).
      const call = callDeps(await withCurrentPeppers(deps), client, logger);
      // The length is the caller's client's, so it is checked once the client is known.
      const { codeLength } = call.config;
      if (!new RegExp(`^\\d{${codeLength}}$`).test(body.code)) {
        throw new ValidationError([{ path: 'code', message: `Must be exactly ${codeLength} digits.` }]);
      }
      const result = await verifyCode(call, {
        ...body,
        origin: { clientId: client?.id, sourceIp, platform: body.platform },
        // Read only for the purposes that need it: a login ignores whatever session headers came.
        sessionToken: () => tokenFromHeaders(headers),
      });
      const clientId = client?.id ?? 'anonymous';
      metrics.count(result.testTarget ? 'TestCodeVerified' : 'CodeVerified', { clientId, channel: result.otpType });
      if (result.otpType === 'sms' && !result.testTarget && result.country) {
        metrics.count(SMS_METRICS.verified, { country: result.country });
        metrics.count(SMS_METRICS.verified, { clientId });
      }
      const { customer } = result;
      const access = result.session
        ? await deps.accessTokens.issue(subjectOf(result.session, customer), result.now)
        : undefined;
      return json(200, {
        verifiedTarget: result.verifiedTarget,
        otpType: result.otpType,
        ...(result.session
          ? {
              sessionToken: result.sessionToken,
              expiresAt: isoTime(result.session.expiresAt),
              expiresIn: Math.round((result.session.expiresAt - result.now) / 1000),
            }
          : {}),
        ...(access ? accessTokenFields(access) : {}),
        ...(result.refresh
          ? { refreshToken: result.refresh.token, refreshExpiresAt: isoTime(result.refresh.expiresAt) }
          : {}),
        isNew: result.isNew,
        identity: identityOf(customer),
      });
    },
  });
}

/** The customer as verify answers it (API.md, Identity). */
export function identityOf(customer: Customer) {
  return {
    id: customer.id,
    email: customer.email,
    phone: customer.phone,
    name: customer.name,
    verified: true,
    verifiedAt: isoTime(customer.verifiedAt),
    trustLevel: trustLevelOf(customer),
    createdAt: isoTime(customer.createdAt),
    lastLoginAt: customer.lastLoginAt === undefined ? null : isoTime(customer.lastLoginAt),
    loginCount: customer.loginCount ?? null,
  };
}

const config = await withPepperAndSigningKeys(loadConfig(process.env));
export const handler = createVerifyOtpHandler({
  config,
  peppers: config.peppers,
  accessTokens: createAccessTokens(config),
  store: createVerifyStore(config),
  clients: createClientDirectory(config),
  now: Date.now,
});
