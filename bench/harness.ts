import type { APIGatewayProxyEvent } from 'aws-lambda';
import { dynamoClient } from '../functions/adapters/dynamo/client.js';
import type { DynamoClientRegistry } from '../functions/adapters/dynamo/clients.js';
import { cachedDirectory } from '../functions/core/clients.js';
import { addClient } from '../functions/core/manage-clients.js';
import { createPolicyHandler } from '../functions/handlers/policy.js';
import { createRefreshHandler } from '../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../functions/handlers/send-otp.js';
import { createSessionHandler } from '../functions/handlers/session.js';
import { createSessionsHandler } from '../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../functions/handlers/verify-otp.js';
import type { ApiHandler } from '../functions/http/http-handler.js';
import { apiGatewayEvent } from '../functions/local/events.js';
import { type CallOptions, call, type HarnessDeps, harness, PEPPER, type Tables } from '../test/kit.js';
import { DynamoMeter } from './meter.js';

/** The pepper of the bench's own dependencies; the cold starts read it from their Secrets Manager stand-in. */
export { PEPPER };

export type BenchDeps = HarnessDeps & {
  clock: { now: number };
  meter: DynamoMeter;
  tables: Tables;
  registry: DynamoClientRegistry;
  /** The key of the bench's client, which every request carries, as a deployed stack requires. */
  apiKey: string;
};

export interface BenchOptions {
  /** Count write units as AWS bills them (bench/billing.ts): each written item is read before and after. */
  billing?: boolean;
}

/**
 * Core dependencies on fresh tables of the DynamoDB Local at `endpoint` (the test kit's, test/kit.ts),
 * with a metered client, a settable clock and, as deployed, keys required: one client with the
 * deployment's defaults (an empty policy) whose key every request carries.
 */
export async function benchDeps(
  endpoint: string,
  env: Record<string, string> = {},
  options: BenchOptions = {},
): Promise<BenchDeps> {
  const meter = new DynamoMeter(options.billing ? dynamoClient(endpoint) : undefined);
  const h = await harness(endpoint, { OTP_REQUIRE_API_KEY: 'true', ...env }, (client) => meter.attach(client));
  const { apiKey } = await addClient({ registry: h.registry, now: () => h.clock.now }, 'bench');
  return { ...h.deps, clock: h.clock, meter, tables: h.tables, registry: h.registry, apiKey };
}

/**
 * `handler` as its own Lambda function: its own per-container cache of API keys (so that its first
 * call reads the client, as a cold container does), and every request carrying the bench's key.
 */
function asFunction(deps: BenchDeps, create: (deps: BenchDeps) => ApiHandler): ApiHandler {
  // The cache runs on real time: the bench's clock jumps past cooldowns, not past a container's minute.
  const handler = create({ ...deps, clients: cachedDirectory(deps.registry, Date.now) });
  return (event, context) => handler({ ...event, headers: { ...event.headers, 'X-API-Key': deps.apiKey } }, context);
}

/** The request handlers on the bench's dependencies: the one place that calls their factories. */
export function benchHandlers(deps: BenchDeps): {
  send: ApiHandler;
  verify: ApiHandler;
  session: ApiHandler;
  sessions: ApiHandler;
  refresh: ApiHandler;
  policy: ApiHandler;
} {
  return {
    send: asFunction(deps, createSendOtpHandler),
    verify: asFunction(deps, createVerifyOtpHandler),
    session: asFunction(deps, createSessionHandler),
    sessions: asFunction(deps, createSessionsHandler),
    refresh: asFunction(deps, createRefreshHandler),
    policy: asFunction(deps, createPolicyHandler),
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

/** The event API Gateway sends for `call`, for a function in another process. */
export function benchEvent(
  options: CallOptions & { path?: string; query?: Record<string, string> },
): APIGatewayProxyEvent {
  return apiGatewayEvent({
    method: options.method ?? 'POST',
    path: options.path ?? '/',
    query: options.query,
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body === undefined ? null : JSON.stringify(options.body),
    sourceIp: options.sourceIp ?? '203.0.113.10',
  });
}

/** Invokes a handler in this process with the event API Gateway sends, and times it. */
export async function invoke(handler: ApiHandler, options: CallOptions): Promise<Answer> {
  const answer = await call(handler, { sourceIp: '203.0.113.10', ...options });
  return { status: answer.status, body: answer.body ?? {}, ms: answer.ms };
}
