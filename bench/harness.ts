import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoOtpStore } from '../functions/adapters/dynamo/store.js';
import { LocalOutbox, localSenders } from '../functions/adapters/local-outbox.js';
import { loadConfig } from '../functions/config.js';
import type { CoreDeps } from '../functions/core/deps.js';
import type { Senders } from '../functions/core/ports.js';
import { createSendOtpHandler } from '../functions/handlers/send-otp.js';
import { createSessionHandler } from '../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../functions/handlers/verify-otp.js';
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

export interface BenchOptions {
  /** Count write units as AWS bills them (bench/billing.ts): each written item is read before and after. */
  billing?: boolean;
  /**
   * The client to use instead of the local one: DynamoDB Local keeps one database per key and
   * region, so whoever must see these tables (a function in a child process) decides them.
   */
  client?: () => DynamoDBClient;
  tables?: { stateTable: string; customersTable: string };
}

/** Core dependencies on fresh DynamoDB Local tables, a metered client and a settable clock. */
export async function benchDeps(
  endpoint: string,
  env: Record<string, string> = {},
  options: BenchOptions = {},
): Promise<BenchDeps> {
  const suffix = randomUUID().slice(0, 8);
  const tables = options.tables ?? { stateTable: `bench-state-${suffix}`, customersTable: `bench-customers-${suffix}` };
  const newClient = options.client ?? (() => localClient(endpoint));
  const setup = newClient();
  await createTables(setup, tables);
  setup.destroy();
  const meter = new DynamoMeter(options.billing ? newClient() : undefined);
  const config = { ...loadConfig({ OTP_DELIVERY: 'local', OTP_DEV_MODE: 'true', ...env }), ...tables, pepper: PEPPER };
  const clock = { now: Date.now() };
  return {
    config,
    store: new DynamoOtpStore(meter.attach(newClient()), tables),
    // The outbox is the local stand-in for SNS and SES; nothing to print during a benchmark.
    senders: localSenders(new LocalOutbox(() => {})),
    now: () => clock.now,
    log: { info: () => {}, warn: () => {} },
    clock,
    meter,
  };
}

/** The request handlers on the bench's dependencies: the one place that calls their factories. */
export function benchHandlers(deps: BenchDeps): { send: ApiHandler; verify: ApiHandler; session: ApiHandler } {
  return {
    send: createSendOtpHandler(deps),
    verify: createVerifyOtpHandler(deps),
    session: createSessionHandler(deps),
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

/** The event API Gateway sends for `call`. */
export function benchEvent(call: Call & { path?: string }): APIGatewayProxyEvent {
  return apiGatewayEvent({
    method: call.method ?? 'POST',
    path: call.path ?? '/',
    headers: { 'content-type': 'application/json', ...call.headers },
    body: call.body === undefined ? null : JSON.stringify(call.body),
    sourceIp: call.sourceIp ?? '203.0.113.10',
  });
}

/** Invokes a handler with the event API Gateway sends, and times it. */
export async function invoke(handler: ApiHandler, call: Call): Promise<Answer> {
  const event = benchEvent(call);
  const started = performance.now();
  const result: APIGatewayProxyResult = await handler(event, lambdaContext('bench', event.requestContext.requestId));
  const ms = performance.now() - started;
  return {
    status: result.statusCode,
    body: result.body ? (JSON.parse(result.body) as Record<string, unknown>) : {},
    ms,
  };
}
