import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { inject } from 'vitest';
import { DynamoOtpStore } from '../functions/adapters/dynamo-store.js';
import { loadConfig, type OtpConfig } from '../functions/config.js';
import type { CoreDeps } from '../functions/core/otp.js';
import type { OutgoingCode, Senders } from '../functions/core/ports.js';
import type { ApiHandler } from '../functions/http/http-handler.js';
import { createTables, localClient } from '../functions/local/dynamodb-local.js';
import { apiGatewayEvent, lambdaContext } from '../functions/local/events.js';

export const PEPPER = 'test-pepper-test-pepper-test-pepper-0123';

/** A DynamoDB Local client and a fresh pair of tables, unique to the caller. */
export async function freshTables(): Promise<{ client: DynamoDBClient; stateTable: string; customersTable: string }> {
  const client = localClient(inject('dynamoEndpoint'));
  const suffix = randomUUID().slice(0, 8);
  const names = { stateTable: `state-${suffix}`, customersTable: `customers-${suffix}` };
  await createTables(client, names);
  return { client, ...names };
}

export function testConfig(overrides: Record<string, string> = {}): OtpConfig & { pepper: string } {
  return { ...loadConfig({ OTP_DELIVERY: 'local', OTP_DEV_MODE: 'true', ...overrides }), pepper: PEPPER };
}

/** Captures what would have been delivered. */
export class RecordingSender {
  readonly sent: OutgoingCode[] = [];
  failWith?: Error;
  async send(message: OutgoingCode): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push(message);
  }
  asSenders(): Senders {
    return { sms: this, email: this };
  }
}

export const silentLog = { info: () => {}, warn: () => {} };

export interface Harness {
  deps: CoreDeps & { senders: Senders };
  sender: RecordingSender;
  store: DynamoOtpStore;
  client: DynamoDBClient;
  tables: { stateTable: string; customersTable: string };
  clock: { now: number };
}

/** Core dependencies on real DynamoDB Local tables, a recording sender and a settable clock. */
export async function harness(overrides: Record<string, string> = {}): Promise<Harness> {
  const { client, ...tables } = await freshTables();
  const config = { ...testConfig(overrides), ...tables };
  const store = new DynamoOtpStore(client, tables);
  const sender = new RecordingSender();
  const clock = { now: Date.now() };
  return {
    deps: { config, store, senders: sender.asSenders(), now: () => clock.now, log: silentLog },
    sender,
    store,
    client,
    tables,
    clock,
  };
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  sourceIp?: string;
}

/** Invokes a handler with the event API Gateway (REST) sends. */
export async function call(handler: ApiHandler, options: CallOptions = {}) {
  const event = apiGatewayEvent({
    method: options.method ?? 'POST',
    path: '/',
    headers: { 'Content-Type': 'application/json', ...options.headers },
    body: options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body)),
    sourceIp: options.sourceIp ?? '203.0.113.7',
  });
  const result: APIGatewayProxyResult = await handler(event, lambdaContext('test', event.requestContext.requestId));
  return {
    status: result.statusCode,
    headers: Object.fromEntries(
      Object.entries(result.headers ?? {})
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k.toLowerCase(), String(v)]),
    ),

    body: result.body ? (JSON.parse(result.body) as Record<string, any>) : undefined,
    rawBody: result.body,
  };
}
