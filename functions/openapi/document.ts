import * as z from 'zod/mini';
import {
  ChannelNotAllowedError,
  ClientDisabledError,
  DeliveryFailedError,
  IdempotencyKeyReusedError,
  IdentifierExistsError,
  InvalidApiKeyError,
  InvalidCodeError,
  InvalidTargetError,
  OtpRequiredError,
  RateLimitedError,
  RequestInProgressError,
  ServiceUnavailableError,
  SessionInvalidError,
  TargetInUseError,
  TooManyAttemptsError,
} from '../core/errors.js';
import {
  MalformedJsonError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../http/errors.js';
import { IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER } from '../http/idempotency-key.js';
import { MAX_BODY_BYTES } from '../http/json-body.js';
import { INTERNAL_ERROR } from '../http/problem.js';
import { refreshBody, sendBody, verifyBody } from '../http/schemas.js';
import { DISCOVERY_PATH, JWKS_PATH, OPENAPI_PATH, ROUTES } from '../routes.js';
import * as responses from './responses.js';

/**
 * The OpenAPI 3.1 document of the API (API.md, README "API"), built from the zod schemas that
 * validate requests (http/schemas.ts) and the response schemas that the tests check real answers
 * against (responses.ts), and the problems from the error classes themselves (core/errors.ts,
 * http/errors.ts). `npm run openapi` (main.ts) writes it to openapi.json; handlers/openapi.ts serves
 * that file. Pure: the same code gives the same document, key for key.
 */

type Schema = Record<string, unknown>;

/** The named schemas of `components.schemas`, by the zod schema they come from (the tests parse answers with them). */
export const SCHEMAS: Record<string, z.ZodMiniType> = {
  SendRequest: sendBody,
  VerifyRequest: verifyBody,
  RefreshRequest: refreshBody,
  HealthResponse: responses.healthResponse,
  SendResponse: responses.sendResponse,
  Identity: responses.identity,
  VerifyResponse: responses.verifyResponse,
  RefreshResponse: responses.refreshResponse,
  SessionResponse: responses.sessionResponse,
  SessionsResponse: responses.sessionsResponse,
  PolicyResponse: responses.policyResponse,
  JwksResponse: responses.jwksResponse,
  DiscoveryResponse: responses.discoveryResponse,
  OpenApiResponse: responses.openApiResponse,
  Problem: responses.problemResponse,
};

const ref = (name: keyof typeof SCHEMAS) => ({ $ref: `#/components/schemas/${name}` });

/** A problem an operation may answer, and when. */
interface ProblemUse {
  problem: { status: number; slug: string; title: string };
  when: string;
}

const use = (problem: ProblemUse['problem'], when: string): ProblemUse => ({ problem, when });

/** The answers of every body route (http/json-body.ts, http/http-handler.ts). */
const BODY_PROBLEMS: ProblemUse[] = [
  use(new ValidationError([]), 'The body does not fit the schema; `errors` names each field.'),
  use(new MalformedJsonError(), 'The body is not JSON.'),
  use(new PayloadTooLargeError(MAX_BODY_BYTES), `The body is larger than ${MAX_BODY_BYTES} bytes.`),
  use(new UnsupportedMediaTypeError(), 'The body is not sent as application/json.'),
];

const KEY_PROBLEMS: ProblemUse[] = [
  use(
    new InvalidApiKeyError(),
    'An unknown, malformed, empty or revoked `X-API-Key`, or none where the deployment requires one.',
  ),
  use(new ClientDisabledError(), 'The client of the `X-API-Key` is disabled.'),
];

const SESSION_INVALID = use(
  new SessionInvalidError(),
  'The session token or access token is missing, malformed, unknown, expired or revoked, or `Authorization` and `X-OTP-Session` name different tokens.',
);

/** Every route that reads or writes the database (http/unavailable.ts). */
const UNAVAILABLE = use(
  new ServiceUnavailableError(),
  'The database is throttled or unreachable (after the service’s own retries). Nothing was left half-done: send the same request again after `Retry-After` seconds.',
);

const ALWAYS: ProblemUse[] = [
  use(new MethodNotAllowedError('PUT', []), 'Another method than those of this path (`Allow` lists them).'),
  use(INTERNAL_ERROR, 'A failure on the service side; never with a stack trace.'),
];

type Security = 'none' | 'key' | 'key, session optional' | 'key, session';

interface Operation {
  operationId: string;
  summary: string;
  description: string;
  security: Security;
  parameters?: Schema[];
  body?: keyof typeof SCHEMAS;
  ok: { status: number; description: string; schema?: keyof typeof SCHEMAS; headers?: Record<string, Schema> };
  problems: ProblemUse[];
}

const RETRY_AFTER = { $ref: '#/components/headers/Retry-After' };

const ACTION = (required: boolean, description: string): Schema => ({
  name: 'action',
  in: 'query',
  required,
  description,
  schema: { type: 'string', pattern: '^[a-z0-9._-]{1,64}$' },
});

/** Each route of functions/routes.ts, by `METHOD path`: the generator refuses a route missing here. */
const OPERATIONS: Record<string, Operation> = {
  'GET /v1/health': {
    operationId: 'health',
    summary: 'Liveness',
    description: 'Answers without touching the database. Needs no API key.',
    security: 'none',
    ok: { status: 200, description: 'The service runs.', schema: 'HealthResponse' },
    problems: [],
  },
  'POST /v1/otp/send': {
    operationId: 'sendOtp',
    summary: 'Send a code',
    description:
      'Sends a code to an e-mail address or SMS-capable phone number, replacing the previous code for that target and purpose. `verify-email`, `verify-phone`, `update-email` and `update-phone` need the customer’s own session (`Authorization: Bearer` or `X-OTP-Session`). With an `Idempotency-Key`, the same key with the same body and API key, within the code’s lifetime, answers the first 200 again (header `Idempotent-Replayed: true`) and sends nothing.',
    security: 'key, session optional',
    parameters: [{ $ref: '#/components/parameters/Idempotency-Key' }],
    body: 'SendRequest',
    ok: {
      status: 200,
      description:
        'The code was handed to the provider. `mockCode` only in dev mode, never in a production stage. `otpToken` may replace the target at verify.',
      schema: 'SendResponse',
      headers: { [REPLAYED_HEADER]: { $ref: `#/components/headers/${REPLAYED_HEADER}` } },
    },
    problems: [
      use(
        new InvalidTargetError(),
        'Not a valid e-mail address or SMS-capable phone number, or the channel or purpose does not fit it.',
      ),
      use(new ValidationError([]), `A malformed \`${IDEMPOTENCY_KEY_HEADER}\` (path \`${IDEMPOTENCY_KEY_HEADER}\`).`),
      use(new SessionInvalidError(), 'A purpose that needs a session came without a valid one.'),
      use(new ChannelNotAllowedError(), 'The channel, or the phone number’s country, is not allowed by policy.'),
      use(
        new IdentifierExistsError('email'),
        '`verify-email` (`verify-phone`) for a customer who already has an e-mail (a phone): use `update-email` (`update-phone`).',
      ),
      use(
        new RequestInProgressError(),
        'A send with the same `Idempotency-Key` is still running: retry with the same key (`Retry-After: 1`).',
      ),
      use(new IdempotencyKeyReusedError(), 'The `Idempotency-Key` came before with another body or API key.'),
      use(
        new RateLimitedError('cooldown', '', 1),
        'A send limit is reached: `reason` says which, `Retry-After` and `retryAfter` when to try again. (The deployed gateway’s own throttling answers this slug too, without `reason`.)',
      ),
      use(
        new DeliveryFailedError(),
        'The SMS or e-mail could not be handed to the provider in time; the code is void.',
      ),
    ],
  },
  'POST /v1/otp/verify': {
    operationId: 'verifyOtp',
    summary: 'Verify a code',
    description:
      'Consumes the code and finds or creates the customer. `login` and `register` answer a session token, an access token and a refresh token; `step-up` and `reset-password` a short session without a refresh token; `verify-*` and `update-*` (with the customer’s own session) give the target to that customer and answer no tokens. Send `target`, the `otpToken` of the send, or both.',
    security: 'key, session optional',
    body: 'VerifyRequest',
    ok: { status: 200, description: 'The code was right.', schema: 'VerifyResponse' },
    problems: [
      use(
        new InvalidCodeError(),
        'A wrong, expired or used code, no code sent, or an `otpToken` that does not match: one answer for all.',
      ),
      use(new ValidationError([]), '`code` is not exactly the client’s number of digits.'),
      use(new InvalidTargetError(), 'Not a valid target, or one that does not fit the purpose.'),
      use(new SessionInvalidError(), 'A purpose that needs a session came without a valid one.'),
      use(new TargetInUseError(), '`verify-*` / `update-*` for a target that belongs to another customer.'),
      use(new IdentifierExistsError('email'), '`verify-email` (`verify-phone`) for a customer who already has one.'),
      use(
        new TooManyAttemptsError(),
        'The code has had its attempts; or the target has had too many wrong codes lately (then with `Retry-After` and `retryAfter`, and `reason: new-code-required` when a new code verified with its `otpToken` at the first try is accepted at once).',
      ),
    ],
  },
  'GET /v1/session': {
    operationId: 'getSession',
    summary: 'Check a session',
    description:
      'Checks a session token (`Authorization: Bearer` or `X-OTP-Session`) or an access token (`Authorization: Bearer`) against its session. With `action`, also whether the calling client’s policy wants a fresher OTP for it.',
    security: 'key, session',
    parameters: [
      ACTION(
        false,
        'An action of the client’s policy: the answer adds `action` and `otpRequired`, or is 403 `otp-required`.',
      ),
    ],
    ok: { status: 200, description: 'The session is live.', schema: 'SessionResponse' },
    problems: [
      SESSION_INVALID,
      use(new ValidationError([]), 'A malformed `action`.'),
      use(
        new OtpRequiredError('ACTION'),
        'The policy requires an OTP for the action and the session’s last one is older than the step-up window.',
      ),
    ],
  },
  'DELETE /v1/session': {
    operationId: 'deleteSession',
    summary: 'Revoke a session',
    description:
      'Ends the session of the token, with its access and refresh tokens; with `all=true`, every session of its customer.',
    security: 'key, session',
    parameters: [
      {
        name: 'all',
        in: 'query',
        required: false,
        description: '`true` ends every session of the token’s customer.',
        schema: { type: 'string', enum: ['true'] },
      },
    ],
    ok: { status: 204, description: 'Revoked.' },
    problems: [SESSION_INVALID, use(new ValidationError([]), '`all` other than `true`.')],
  },
  'POST /v1/session/refresh': {
    operationId: 'refreshSession',
    summary: 'Rotate a refresh token',
    description:
      'A new session token, access token and refresh token for a live refresh token, which never works again. A used one presented again revokes its whole session. It works only with the API key of the client that logged in.',
    security: 'key',
    body: 'RefreshRequest',
    ok: { status: 200, description: 'New tokens.', schema: 'RefreshResponse' },
    problems: [use(new SessionInvalidError(), 'An unknown, used, revoked or expired refresh token.')],
  },
  'GET /v1/sessions': {
    operationId: 'listSessions',
    summary: 'List the customer’s sessions',
    description:
      'The live sessions of the token’s customer (at most 100), most recently used first, the caller’s marked `current`.',
    security: 'key, session',
    ok: { status: 200, description: 'The sessions.', schema: 'SessionsResponse' },
    problems: [SESSION_INVALID],
  },
  'GET /v1/otp/policy': {
    operationId: 'getPolicy',
    summary: 'What the client’s policy says about an action',
    description: 'Whether the calling client’s policy requires an OTP for an action, and its step-up window.',
    security: 'key',
    parameters: [ACTION(true, 'The action to ask about.')],
    ok: { status: 200, description: 'The policy’s answer.', schema: 'PolicyResponse' },
    problems: [use(new ValidationError([]), 'A missing or malformed `action`.')],
  },
  [`GET ${JWKS_PATH}`]: {
    operationId: 'getJwks',
    summary: 'The public keys of access tokens',
    description: 'A JWK Set: the key that signs access tokens now, and the previous one during a rotation.',
    security: 'none',
    ok: { status: 200, description: 'The keys.', schema: 'JwksResponse' },
    problems: [],
  },
  [`GET ${DISCOVERY_PATH}`]: {
    operationId: 'getOpenIdConfiguration',
    summary: 'Discovery document',
    description: '`issuer` and `jwks_uri`, for verifiers (an API Gateway JWT authorizer) that check access tokens.',
    security: 'none',
    ok: { status: 200, description: 'The discovery document.', schema: 'DiscoveryResponse' },
    problems: [],
  },
  [`GET ${OPENAPI_PATH}`]: {
    operationId: 'getOpenApi',
    summary: 'This document',
    description:
      'The OpenAPI 3.1 document of this API, with `servers` set to the URL the API is reached at. Unlike every other success body it has no `success` member: it is an OpenAPI document as the specification defines it.',
    security: 'none',
    ok: { status: 200, description: 'The document.', schema: 'OpenApiResponse' },
    problems: [],
  },
};

/** The security requirements: any one of them satisfies the operation (OpenAPI, Security Requirement). */
function securityOf(security: Security): Record<string, string[]>[] {
  // Where keys are optional (OTP_REQUIRE_API_KEY=false), a call without one is allowed.
  const keys: Record<string, string[]>[] = [{ apiKey: [] }, {}];
  const sessions: Record<string, string[]>[] = [{ bearer: [] }, { otpSession: [] }];
  switch (security) {
    case 'none':
      return [];
    case 'key':
      return keys;
    case 'key, session':
      return keys.flatMap((key) => sessions.map((session) => ({ ...key, ...session })));
    case 'key, session optional':
      return [...keys, ...keys.flatMap((key) => sessions.map((session) => ({ ...key, ...session })))];
  }
}

function problemsOf(operation: Operation): ProblemUse[] {
  return [
    ...(operation.security === 'none' ? [] : KEY_PROBLEMS),
    ...(operation.body ? BODY_PROBLEMS : []),
    ...operation.problems,
    ...ALWAYS,
    // The routes that need no key are the ones that never touch the database.
    ...(operation.security === 'none' ? [] : [UNAVAILABLE]),
  ];
}

/** One response per status, its problems' slugs as the enum of `error`. */
function problemResponses(uses: ProblemUse[]): Record<string, Schema> {
  const byStatus = new Map<number, ProblemUse[]>();
  for (const entry of uses) byStatus.set(entry.problem.status, [...(byStatus.get(entry.problem.status) ?? []), entry]);
  const answers: Record<string, Schema> = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const entries = byStatus.get(status) ?? [];
    const slugs = [...new Set(entries.map((entry) => entry.problem.slug))];
    const headers: Record<string, Schema> = {};
    if (status === 429 || status === 503 || slugs.includes('request-in-progress')) headers['Retry-After'] = RETRY_AFTER;
    if (slugs.includes('session-invalid'))
      headers['WWW-Authenticate'] = { $ref: '#/components/headers/WWW-Authenticate' };
    if (slugs.includes('method-not-allowed')) headers.Allow = { $ref: '#/components/headers/Allow' };
    answers[String(status)] = {
      description: entries
        .map((entry) => `\`${entry.problem.slug}\` (${entry.problem.title}): ${entry.when}`)
        .join('\n\n'),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        'application/problem+json': {
          schema: {
            allOf: [ref('Problem'), { properties: { status: { const: status }, error: { enum: slugs } } }],
          },
        },
      },
    };
  }
  return answers;
}

function operationObject(operation: Operation): Schema {
  const { ok } = operation;
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    description: operation.description,
    security: securityOf(operation.security),
    ...(operation.parameters ? { parameters: operation.parameters } : {}),
    ...(operation.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: ref(operation.body) } } } }
      : {}),
    responses: {
      [String(ok.status)]: {
        description: ok.description,
        ...(ok.headers ? { headers: ok.headers } : {}),
        ...(ok.schema ? { content: { 'application/json': { schema: ref(ok.schema) } } } : {}),
      },
      ...problemResponses(problemsOf(operation)),
    },
  };
}

/**
 * JSON Schema as zod writes it, made readable: an ISO time is `format: date-time` (zod adds its
 * validating pattern), and an integer's bounds are the ones the API has, not JavaScript's.
 */
function tidy(schema: Record<string, unknown>): void {
  if (schema.format === 'date-time') delete schema.pattern;
  if (schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum;
  if (schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum;
}

function componentSchemas(): Record<string, Schema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(SCHEMAS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    // Requests as clients write them; responses have no transforms, so input and output agree.
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
    // Refinements (a BCP 47 locale, safe text) are checked by the handlers and told in descriptions.
    unrepresentable: 'any',
    override: ({ jsonSchema }) => tidy(jsonSchema as Record<string, unknown>),
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      // The document is the schemas' resource; each needs no dialect or id of its own.
      const rest: Schema = { ...schema };
      delete rest.$schema;
      delete rest.$id;
      return [id, rest];
    }),
  );
}

/** Paths in the order of ROUTES, methods in the order they come there. */
export function openApiDocument(version: string): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of ROUTES) {
    const operation = OPERATIONS[`${route.method} ${route.path}`];
    if (!operation) throw new Error(`openapi/document.ts describes no ${route.method} ${route.path}`);
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase()] = operationObject(operation);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'OTP service',
      version,
      description:
        'One-time passwords by SMS and e-mail, sessions and access tokens. Every error is RFC 9457 `application/problem+json` with `success: false` and an `error` slug; `type` ends in the slug. Every success body has `success: true` (but this document’s own). Any path also answers 404 `not-found`; a deployed stage’s gateway may answer 403 `forbidden` (firewall), 429 `rate-limited` (throttling, `Retry-After: 1`) and 504 `timeout`. Responses carry `Cache-Control: no-store` unless they are public (the keys, this document).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // What `npm start` serves; GET /openapi.json puts the URL the API is reached at in its place.
    servers: [{ url: 'http://127.0.0.1:3000', description: 'npm start, the local server' }],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description:
            'The calling client’s key. Required where the deployment says so (OTP_REQUIRE_API_KEY, true in a deployed stack); a key that comes is always checked.',
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            '`Authorization: Bearer <sessionToken>`, or an access token (JWT) where the route takes one (GET and DELETE /v1/session, GET /v1/sessions).',
        },
        otpSession: {
          type: 'apiKey',
          in: 'header',
          name: 'X-OTP-Session',
          description:
            'The session token, instead of `Authorization`. Both with different tokens: 401 `session-invalid`.',
        },
      },
      parameters: {
        [IDEMPOTENCY_KEY_HEADER]: {
          name: IDEMPOTENCY_KEY_HEADER,
          in: 'header',
          required: false,
          description:
            'One per user action (a UUID), reused for every retry of that request: a retry within the code’s lifetime answers the first answer again and sends nothing.',
          schema: { type: 'string', pattern: '^[\\x20-\\x7E]{1,255}$' },
        },
      },
      headers: {
        'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
        [REPLAYED_HEADER]: {
          description: '`true` when this is the first answer to the same `Idempotency-Key`, replayed.',
          schema: { type: 'string', enum: ['true'] },
        },
        'WWW-Authenticate': { description: '`Bearer`.', schema: { type: 'string' } },
        Allow: { description: 'The methods of this path.', schema: { type: 'string' } },
      },
    },
  };
}
