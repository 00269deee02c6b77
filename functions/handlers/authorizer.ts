import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { loadConfig } from '../config.js';
import { SessionInvalidError } from '../core/errors.js';
import { type BearerDeps, checkBearer } from '../core/sessions.js';
import {
  allowPolicy,
  HEADERS_VARIABLE,
  type IdentityHeader,
  identityHeadersFrom,
  tokenOf,
  UNAUTHORIZED,
} from '../http/authorizer-policy.js';
import { createLogger } from '../http/logger.js';
import { traceInvocation } from '../http/tracer.js';
import { createAccessTokens, createBearerStore, withSigningKeys } from '../wiring.js';

export type AuthorizerDeps = BearerDeps & {
  /** The headers a token is read from (http/authorizer-policy.ts identityHeadersFrom). */
  headers: readonly IdentityHeader[];
};

export type AuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEvent,
  context: Context,
) => Promise<APIGatewayAuthorizerResult>;

/**
 * The Lambda REQUEST authorizer that teams put in front of their own REST APIs (lib/otp-authorizer.ts):
 * a session token or an access token, checked as GET /v1/session checks it (one read of the state
 * table), answers an Allow policy with the customer as principal. Every invalid, expired or revoked
 * token, and two headers that disagree, throw `Unauthorized` (API Gateway answers 401). Anything
 * else (the database unreachable, a malformed event) throws a fixed error: API Gateway answers 500.
 * Never an Allow, and not a Deny either: a policy is what API Gateway caches, and a passing outage
 * must not lock a customer out for the whole cache time.
 */
export function createAuthorizerHandler(deps: AuthorizerDeps, logger: Logger = createLogger()): AuthorizerHandler {
  const authorize = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    try {
      const session = await checkBearer(deps, tokenOf(event, deps.headers));
      return allowPolicy(session, event.methodArn);
    } catch (error) {
      if (error instanceof SessionInvalidError) throw new Error(UNAUTHORIZED, { cause: error });
      // The error only: no header, no token. A store error names the table, never a token (only
      // hashes and session ids reach the database).
      logger.error('authorizer failed; the request is refused', { error });
      throw new Error('Authorizer failure', { cause: error });
    }
  };
  // A refused token is the authorizer's answer, not a fault of it.
  return middy(authorize)
    .use(traceInvocation((error) => error instanceof Error && error.message === UNAUTHORIZED))
    .use(injectLambdaContext(logger));
}

const config = await withSigningKeys(loadConfig(process.env));
export const handler = createAuthorizerHandler({
  store: createBearerStore(config),
  accessTokens: createAccessTokens(config),
  now: Date.now,
  headers: identityHeadersFrom(process.env[HEADERS_VARIABLE]),
});
