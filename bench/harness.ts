import type { APIGatewayProxyEvent } from 'aws-lambda';
import { dynamoClient } from '../functions/adapters/dynamo/client.js';
import { createPolicyHandler } from '../functions/handlers/policy.js';
import { createSendOtpHandler } from '../functions/handlers/send-otp.js';
import { createSessionHandler } from '../functions/handlers/session.js';
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
};

export interface BenchOptions {
  /** Count write units as AWS bills them (bench/billing.ts): each written item is read before and after. */
  billing?: boolean;
}

/**
 * Core dependencies on fresh tables of the DynamoDB Local at `endpoint` (the test kit's, test/kit.ts),
 * with a metered client and a settable clock.
 */
export async function benchDeps(
  endpoint: string,
  env: Record<string, string> = {},
  options: BenchOptions = {},
): Promise<BenchDeps> {
  const meter = new DynamoMeter(options.billing ? dynamoClient(endpoint) : undefined);
  const h = await harness(endpoint, env, (client) => meter.attach(client));
  return { ...h.deps, clock: h.clock, meter, tables: h.tables };
}

/** The request handlers on the bench's dependencies: the one place that calls their factories. */
export function benchHandlers(deps: BenchDeps): {
  send: ApiHandler;
  verify: ApiHandler;
  session: ApiHandler;
  policy: ApiHandler;
} {
  return {
    send: createSendOtpHandler(deps),
    verify: createVerifyOtpHandler(deps),
    session: createSessionHandler(deps),
    policy: createPolicyHandler(deps),
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

/** The event API Gateway sends for `call`, for a function in another process. */
export function benchEvent(options: CallOptions & { path?: string }): APIGatewayProxyEvent {
  return apiGatewayEvent({
    method: options.method ?? 'POST',
    path: options.path ?? '/',
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
