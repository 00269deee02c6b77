/**
 * The test kit of test/ and bench/: fresh tables on a DynamoDB Local, core dependencies with a
 * settable clock, a recording sender, and handler calls with the event API Gateway sends. It does
 * not import vitest, so the benchmark can use it outside a test run.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { dynamoClient } from '../functions/adapters/dynamo/client.js';
import { stateKey } from '../functions/adapters/dynamo/keys.js';
import { DynamoClientRegistry } from '../functions/adapters/dynamo/clients.js';
import { dynamoStore } from '../functions/adapters/dynamo/store.js';
import { effectiveConfig } from '../functions/core/client-policy.js';
import { type ClientDirectory, cachedDirectory } from '../functions/core/clients.js';
import { loadConfig, type OtpConfig } from '../functions/config.js';
import type { SendDeps } from '../functions/core/deps.js';
import { opaqueKey } from '../functions/core/codes.js';
import type { OtpStore, OutgoingCode, Senders } from '../functions/core/ports.js';
import type { Purpose } from '../functions/core/purposes.js';
import { sendCode } from '../functions/core/send-code.js';
import type { ApiHandler } from '../functions/http/http-handler.js';
import { createTables } from '../functions/local/dynamodb-local.js';
import { staticKeyRing } from '../functions/adapters/jwt-access-tokens.js';
import type { AccessTokens } from '../functions/core/access-tokens.js';
import { initialKeySet } from '../functions/core/signing-keys.js';
import { createAccessTokens } from '../functions/wiring.js';
import { apiGatewayEvent, lambdaContext } from '../functions/local/events.js';

export const PEPPER = 'test-pepper-test-pepper-test-pepper-0123';

export type Tables = { stateTable: string; customersTable: string; clientsTable: string };

/**
 * A DynamoDB Local client and a fresh set of tables, unique to the caller; the state table with the
 * `due` index only for the expiry sweep (OTP_EXPIRY_SWEEP), as a stack deploys it.
 */
export async function freshTables(
  endpoint: string,
  prefix = '',
  options: { expirySweep?: boolean } = {},
): Promise<{ client: DynamoDBClient } & Tables> {
  const client = dynamoClient(endpoint);
  const suffix = randomUUID().slice(0, 8);
  const names = {
    stateTable: `${prefix}state-${suffix}`,
    customersTable: `${prefix}customers-${suffix}`,
    clientsTable: `${prefix}clients-${suffix}`,
  };
  await createTables(client, { ...names, expirySweep: options.expirySweep });
  return { client, ...names };
}

/** The configuration of `npm start` (local delivery, dev mode, keys optional) with `overrides` and the test pepper. */
export function testConfig(overrides: Record<string, string> = {}): OtpConfig & { pepper: string } {
  return {
    ...loadConfig({ OTP_DELIVERY: 'local', OTP_DEV_MODE: 'true', OTP_REQUIRE_API_KEY: 'false', ...overrides }),
    pepper: PEPPER,
  };
}

/** Captures what would have been delivered; `failWith` makes every delivery fail. */
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
  /** The code of the last message. */
  lastCode(): string {
    const message = this.sent.at(-1);
    if (!message) throw new Error('nothing was sent');
    return message.code;
  }
}

export const silentLog = { info: () => {}, warn: () => {} };

/** What the use cases and the handlers are given, on the harness's tables and clock. */
export type HarnessDeps = SendDeps & { clients: ClientDirectory; accessTokens: AccessTokens };

export interface Harness {
  deps: HarnessDeps;
  /** The clients table, as `npm run clients` manages it. */
  registry: DynamoClientRegistry;
  sender: RecordingSender;
  store: OtpStore;
  client: DynamoDBClient;
  tables: Tables;
  clock: { now: number };
}

/**
 * Core dependencies on fresh tables of the DynamoDB Local at `endpoint`, a recording sender and a
 * settable clock. `instrument` may wrap the store's client (the benchmark meters it).
 */
export async function harness(
  endpoint: string,
  overrides: Record<string, string> = {},
  instrument: (client: DynamoDBClient) => DynamoDBClient = (client) => client,
): Promise<Harness> {
  const { expirySweep } = testConfig(overrides);
  const { client, ...tables } = await freshTables(endpoint, '', { expirySweep });
  // Anonymous calls' settings: a handler applies each client's policy over them.
  const config = effectiveConfig({ ...testConfig(overrides), ...tables }, undefined);
  const instrumented = instrument(client);
  const store = dynamoStore(instrumented, { ...tables, expirySweep });
  const registry = new DynamoClientRegistry(instrumented, tables.clientsTable);
  const sender = new RecordingSender();
  const clock = { now: Date.now() };
  const now = () => clock.now;
  // Signing keys of its own, as npm start makes them per run; the issuer of the test configuration.
  const accessTokens = createAccessTokens({
    ...config,
    keyRing: await staticKeyRing(initialKeySet(clock.now, config.accessTokenAlgorithm)),
  });
  return {
    deps: {
      config,
      store,
      senders: sender.asSenders(),
      now,
      log: silentLog,
      clients: cachedDirectory(registry, now),
      accessTokens,
    },
    registry,
    sender,
    store,
    client,
    tables,
    clock,
  };
}

/** A mobile number that passes every check. */
export const PHONE = '+14155550123';

/** Sends a code through the core, as the send handler does; the code is `h.sender.lastCode()`. */
export function sendTo(h: Harness, target = PHONE, extra: { purpose?: Purpose; sourceIp?: string } = {}) {
  return sendCode(h.deps, { target, purpose: extra.purpose ?? 'login', sourceIp: extra.sourceIp });
}

/** The stored item of a target's code for a purpose, read consistently; undefined when there is none. */
export async function storedCode(h: Harness, target = PHONE, purpose: Purpose = 'login') {
  const result = await h.client.send(
    new GetItemCommand({
      TableName: h.tables.stateTable,
      Key: { pk: { S: stateKey.code(opaqueKey(PEPPER, 'target', target), purpose) } },
      ConsistentRead: true,
    }),
  );
  return result.Item;
}

export interface CallOptions {
  method?: string;
  /** The route (API Gateway's path and resource); a handler of one route ignores it. */
  path?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /** The query string, as API Gateway passes it (queryStringParameters). */
  query?: Record<string, string>;
  sourceIp?: string;
  /** The Lambda function the call reaches (its logs are tagged with it). */
  functionName?: string;
}

export interface Answer {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  // Parsed JSON of any shape; tests read members freely.
  body: Record<string, any> | undefined;
  rawBody: string;
  /** How long the handler took. */
  ms: number;
}

/** Invokes a handler with the event API Gateway (REST) sends, and times it. */
export async function call(handler: ApiHandler, options: CallOptions = {}): Promise<Answer> {
  const event = apiGatewayEvent({
    method: options.method ?? 'POST',
    path: options.path ?? '/',
    headers: { 'Content-Type': 'application/json', ...options.headers },
    body: options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body)),
    query: options.query,
    sourceIp: options.sourceIp ?? '203.0.113.7',
  });
  const started = performance.now();
  const result: APIGatewayProxyResult = await handler(
    event,
    lambdaContext(options.functionName ?? 'test', event.requestContext.requestId),
  );
  const ms = performance.now() - started;
  return {
    status: result.statusCode,
    headers: Object.fromEntries(
      Object.entries(result.headers ?? {})
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k.toLowerCase(), String(v)]),
    ),
    body: result.body ? (JSON.parse(result.body) as Record<string, any>) : undefined,
    rawBody: result.body,
    ms,
  };
}

/** A code of the same length that is not `code`. */
export const wrongCode = (code: string): string => (code.startsWith('0') ? `1${code.slice(1)}` : `0${code.slice(1)}`);

/** A state table item, read consistently; undefined when there is none. */
export async function stateItem(h: Harness, pk: string): Promise<Record<string, any> | undefined> {
  const { Item } = await h.client.send(
    new GetItemCommand({ TableName: h.tables.stateTable, Key: marshall({ pk }), ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

type Send = (command: unknown) => Promise<unknown>;
const sendOf = (h: Harness) => h.client as unknown as { send: Send };

/** Counts the DynamoDB requests of the harness's store while `run` runs, by command name. */
export async function countRequests<T>(h: Harness, run: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const original = h.client.send.bind(h.client) as Send;
  const commands: string[] = [];
  sendOf(h).send = (command) => {
    commands.push((command as object).constructor.name);
    return original(command);
  };
  try {
    return { result: await run(), commands };
  } finally {
    sendOf(h).send = original;
  }
}

/**
 * Runs `hook` once, inside the harness's DynamoDB client, right after the first command `when` picks
 * has been answered (or refused: `error`): what another request does at that moment, between two
 * steps of this one. Returns what restores the client.
 */
export function between(
  h: Harness,
  when: (command: unknown, error: unknown) => boolean,
  hook: () => Promise<unknown>,
): () => void {
  const original = h.client.send.bind(h.client) as Send;
  let fired = false;
  sendOf(h).send = async (command) => {
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await original(command) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (!fired && when(command, outcome.ok ? undefined : outcome.error)) {
      fired = true;
      await hook();
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  };
  return () => {
    sendOf(h).send = original;
  };
}
