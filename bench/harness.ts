import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { DynamoOtpStore } from '../functions/adapters/dynamo-store.js';
import { LocalOutbox, localSenders } from '../functions/adapters/local-outbox.js';
import { loadConfig } from '../functions/config.js';
import type { CoreDeps } from '../functions/core/otp.js';
import type { Senders } from '../functions/core/ports.js';
import type { ApiHandler } from '../functions/http/http-handler.js';
import { createTables, localClient } from '../functions/local/dynamodb-local.js';
import { apiGatewayEvent, lambdaContext } from '../functions/local/events.js';
import { DynamoMeter } from './meter.js';

export const PEPPER = 'bench-pepper-bench-pepper-bench-pepper-0123456789';

export interface BenchDeps extends CoreDeps {
  senders: Senders;
  clock: { now: number };
  meter: DynamoMeter;
}

/** Core dependencies on fresh DynamoDB Local tables, a metered client and a settable clock. */
export async function benchDeps(endpoint: string, env: Record<string, string> = {}): Promise<BenchDeps> {
  const suffix = randomUUID().slice(0, 8);
  const tables = { stateTable: `bench-state-${suffix}`, customersTable: `bench-customers-${suffix}` };
  const setup = localClient(endpoint);
  await createTables(setup, tables);
  setup.destroy();
  const meter = new DynamoMeter();
  const config = { ...loadConfig({ OTP_DELIVERY: 'local', OTP_DEV_MODE: 'true', ...env }), ...tables, pepper: PEPPER };
  const clock = { now: Date.now() };
  return {
    config,
    store: new DynamoOtpStore(meter.attach(localClient(endpoint)), tables),
    // The outbox is the local stand-in for SNS and SES; nothing to print during a benchmark.
    senders: localSenders(new LocalOutbox(() => {})),
    now: () => clock.now,
    log: { info: () => {}, warn: () => {} },
    clock,
    meter,
  };
}

export interface Call {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  sourceIp?: string;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

/** Invokes a handler with the event API Gateway sends, and times it. */
export async function invoke(handler: ApiHandler, call: Call): Promise<Answer> {
  const event = apiGatewayEvent({
    method: call.method ?? 'POST',
    path: '/',
    headers: { 'content-type': 'application/json', ...call.headers },
    body: call.body === undefined ? null : JSON.stringify(call.body),
    sourceIp: call.sourceIp ?? '203.0.113.10',
  });
  const started = performance.now();
  const result: APIGatewayProxyResult = await handler(event, lambdaContext('bench', event.requestContext.requestId));
  const ms = performance.now() - started;
  return {
    status: result.statusCode,
    body: result.body ? (JSON.parse(result.body) as Record<string, unknown>) : {},
    ms,
  };
}
