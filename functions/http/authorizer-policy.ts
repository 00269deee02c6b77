import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { ConfigError } from '../config.js';
import { SessionInvalidError } from '../core/errors.js';
import type { SessionView } from '../core/sessions.js';
import { isoTime } from './responses.js';
import { tokenFromHeaders } from './session-token.js';

/**
 * What the Lambda REQUEST authorizer (handlers/authorizer.ts) reads from API Gateway's event and
 * answers in its policy: no AWS call, no database, so that every rule here is tested on its own.
 */

/** The headers a token may come in, lower-cased (http/session-token.ts reads them so). */
export const IDENTITY_HEADERS = ['authorization', 'x-otp-session'] as const;
export type IdentityHeader = (typeof IDENTITY_HEADERS)[number];

/**
 * The error message API Gateway answers with 401 for a REST API Lambda authorizer. Any other error
 * answers 500, and a Deny policy 403.
 */
export const UNAUTHORIZED = 'Unauthorized';

/** The variable that names the headers the authorizer reads (lib/otp-authorizer.ts sets it). */
export const HEADERS_VARIABLE = 'OTP_AUTHORIZER_HEADERS';

/**
 * OTP_AUTHORIZER_HEADERS: a comma-separated list of the identity headers to read, both by default.
 * A cached authorizer reads only the header that is its cache key, so that a cached answer never
 * stands for a request the function would have judged differently (lib/otp-authorizer.ts).
 */
export function identityHeadersFrom(value: string | undefined): IdentityHeader[] {
  if (value === undefined || value.trim() === '') return [...IDENTITY_HEADERS];
  const names = value.split(',').map((name) => name.trim().toLowerCase());
  for (const name of names) {
    if (!(IDENTITY_HEADERS as readonly string[]).includes(name)) {
      throw new ConfigError(
        HEADERS_VARIABLE,
        `must be a comma-separated list of Authorization, X-OTP-Session (got "${name}").`,
      );
    }
  }
  return [...new Set(names)] as IdentityHeader[];
}

/**
 * The identity headers of the event, by lower-cased name, as tokenFromHeaders reads them. Only
 * `names` are read. API Gateway passes header names as the client sent them, and a header that
 * came twice in `multiValueHeaders`: a header that carries two different values (twice, or in two
 * spellings of its name) is refused, as two different tokens are.
 */
export function identityHeaders(
  event: Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'multiValueHeaders'>,
  names: readonly IdentityHeader[],
): Record<string, string | undefined> {
  const values = new Map<string, Set<string>>();
  const add = (name: string, value: string | undefined) => {
    const lower = name.toLowerCase();
    if (value === undefined || !(names as readonly string[]).includes(lower)) return;
    const seen = values.get(lower) ?? new Set<string>();
    seen.add(value);
    values.set(lower, seen);
  };
  for (const [name, value] of Object.entries(event.headers ?? {})) add(name, value);
  for (const [name, list] of Object.entries(event.multiValueHeaders ?? {})) {
    for (const value of list ?? []) add(name, value);
  }
  const headers: Record<string, string | undefined> = {};
  for (const [name, seen] of values) {
    if (seen.size > 1) throw new SessionInvalidError();
    headers[name] = [...seen][0];
  }
  return headers;
}

/** The token of the request, by the rules of GET /v1/session (http/session-token.ts). */
export function tokenOf(
  event: Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'multiValueHeaders'>,
  names: readonly IdentityHeader[],
): string | undefined {
  return tokenFromHeaders(identityHeaders(event, names));
}

/** `arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{path…}` */
const METHOD_ARN = /^(arn:[a-z-]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+)\/([^/]+)\/[^/]+\/.*$/;

/**
 * What the policy allows: every method and path of the called API's stage, not the method ARN.
 * The decision depends on the token alone, never on the route; and with caching on, API Gateway
 * applies the cached policy to the same token's calls of other methods and paths, which a policy
 * naming one method ARN would refuse (403) until the cache expires. The API and stage stay
 * named: the policy grants nothing on another API or stage.
 */
export function allowedResource(methodArn: string): string {
  const match = METHOD_ARN.exec(methodArn);
  // Not a token problem: a malformed event is an error (500), never an Allow.
  if (!match) throw new Error('The event has no method ARN of an API Gateway REST API.');
  return `${match[1]}/${match[2]}/*/*`;
}

/**
 * What the authorizer hands the integration (`$context.authorizer.*`, or `requestContext.authorizer`
 * of a Lambda proxy integration): `customerId`; `sessionId`, the session's id (`sid` of its access
 * tokens), absent for a session older than ids; `clientId`, absent for a login without an API key;
 * `purpose`; `channel`; `authTime`, ISO-8601, the OTP verification the session stands on, as in
 * GET /v1/session. API Gateway takes strings, numbers and booleans only. No target: an e-mail
 * address or phone number would land in access logs and in every backend; the customer id finds it
 * where it is needed.
 */
export function authorizerContext(session: SessionView): Record<string, string> {
  return {
    customerId: session.customerId,
    ...(session.sid ? { sessionId: session.sid } : {}),
    ...(session.origin.clientId ? { clientId: session.origin.clientId } : {}),
    purpose: session.purpose,
    channel: session.channel,
    authTime: isoTime(session.authTime),
  };
}

/** The answer for a live session: Allow on the API's stage, the customer as principal. */
export function allowPolicy(session: SessionView, methodArn: string): APIGatewayAuthorizerResult {
  return {
    principalId: session.customerId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: allowedResource(methodArn) }],
    },
    context: authorizerContext(session),
  };
}
