import { Logger } from '@aws-lambda-powertools/logger';
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { clientsKey } from '../../functions/adapters/dynamo/keys.js';
import { CLIENT_CACHE_MS, hashApiKey, newApiKey } from '../../functions/core/clients.js';
import {
  addClient,
  addKey,
  disableClient,
  enableClient,
  type ManageDeps,
  type NewClient,
  revokeKey,
} from '../../functions/core/manage-clients.js';
import { handler as healthHandler } from '../../functions/handlers/health.js';
import { createPolicyHandler } from '../../functions/handlers/policy.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createSessionsHandler } from '../../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import * as kit from '../kit.js';
import { call, expectProblem, type Harness, harness, PHONE, wrongCode } from '../support.js';

/**
 * X-API-Key on the real handlers over DynamoDB Local: who may call, what a refusal looks like, how
 * long a container trusts what it read about a key, and that a warm container pays nothing for it.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const manage = (h: Harness): ManageDeps => ({ registry: h.registry, now: () => h.clock.now });
const keyed = (apiKey: string) => ({ 'X-API-Key': apiKey });

/** Just past the minute a container trusts what it read about a key. */
const pastCacheMinute = (h: Harness) => {
  h.clock.now += CLIENT_CACHE_MS + 1;
};

type Headers = Record<string, string>;

/** Every route that identifies its caller, each with a request it would serve. */
const ROUTES: [string, (h: Harness, headers: Headers) => Promise<kit.Answer>][] = [
  ['POST /v1/otp/send', (h, headers) => call(createSendOtpHandler(h.deps), { body: { target: PHONE }, headers })],
  [
    'POST /v1/otp/verify',
    (h, headers) => call(createVerifyOtpHandler(h.deps), { body: { target: PHONE, code: '123456' }, headers }),
  ],
  [
    'GET /v1/session',
    (h, headers) =>
      call(createSessionHandler(h.deps), {
        method: 'GET',
        headers: { Authorization: `Bearer ${'A'.repeat(43)}`, ...headers },
      }),
  ],
  [
    'DELETE /v1/session',
    (h, headers) =>
      call(createSessionHandler(h.deps), {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${'A'.repeat(43)}`, ...headers },
      }),
  ],
  [
    'GET /v1/sessions',
    (h, headers) =>
      call(createSessionsHandler(h.deps), {
        method: 'GET',
        headers: { Authorization: `Bearer ${'A'.repeat(43)}`, ...headers },
      }),
  ],
  [
    'GET /v1/otp/policy',
    (h, headers) => call(createPolicyHandler(h.deps), { method: 'GET', query: { action: 'redeem' }, headers }),
  ],
];

/** Keys that are not `otpk_` and 43 base64url characters. */
const MALFORMED_KEYS = [
  'not-a-key',
  'otpk_',
  `otpk_${'A'.repeat(42)}`,
  `otpk_${'A'.repeat(44)}`,
  `otpk_${'A'.repeat(42)}!`,
  `OTPK_${'A'.repeat(43)}`,
  ` ${newApiKey()}`,
];

/**
 * A whole login on every keyed route with `headers`: send, verify, GET session, the policy of an
 * action, DELETE session. Each step must be served; returns what each answered.
 */
async function login(h: Harness, headers: Headers, target = PHONE) {
  const sent = await call(createSendOtpHandler(h.deps), { body: { target }, headers });
  expect(sent.status).toBe(200);
  const code = sent.body?.mockCode as string;
  const verified = await call(createVerifyOtpHandler(h.deps), { body: { target, code }, headers });
  expect(verified.status).toBe(200);
  const token = verified.body?.sessionToken as string;
  const session = await call(createSessionHandler(h.deps), {
    method: 'GET',
    headers: { ...headers, Authorization: `Bearer ${token}` },
  });
  expect(session.status).toBe(200);
  const policy = await call(createPolicyHandler(h.deps), { method: 'GET', query: { action: 'enroll' }, headers });
  expect(policy.status).toBe(200);
  const revoked = await call(createSessionHandler(h.deps), {
    method: 'DELETE',
    headers: { ...headers, Authorization: `Bearer ${token}` },
  });
  expect(revoked.status).toBe(204);
  return { sent, verified, session, policy };
}

/** Every keyed route refuses `headers` with `status` and `slug`, and nothing is sent. */
async function expectEveryRouteRefuses(h: Harness, headers: Headers, status: number, slug: string) {
  const sentBefore = h.sender.sent.length;
  for (const [route, request] of ROUTES) {
    const response = await request(h, headers);
    expect({ route, status: response.status }).toEqual({ route, status });
    expectProblem(response, status, slug);
  }
  expect(h.sender.sent.length).toBe(sentBefore);
}

describe('X-API-Key', () => {
  it.each(ROUTES)('%s: no key where OTP_REQUIRE_API_KEY=true is 401 invalid-api-key', async (_route, request) => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'true' });
    const response = await request(h, {});
    expectProblem(response, 401, 'invalid-api-key');
    expect(h.sender.sent).toEqual([]);
  });

  it('OTP_REQUIRE_API_KEY=true still serves a call with a valid key', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'true' });
    const client = await addClient(manage(h), 'Required app');
    const { session } = await login(h, keyed(client.apiKey));
    expect(session.body?.clientId).toBe(client.clientId);
  });

  it('keys optional: a call without a key is served with the deployment defaults', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    const { sent, verified, session, policy } = await login(h, {});
    expect(sent.body).toMatchObject({ expiresIn: 300, resendAfter: 30 });
    expect(sent.body?.mockCode).toMatch(/^\d{6}$/);
    expect(verified.body?.expiresIn).toBe(86_400);
    expect(session.body?.clientId).toBeNull();
    expect(policy.body).toEqual({
      success: true,
      clientId: null,
      action: 'enroll',
      otpRequired: true,
      stepUpSeconds: 1800,
    });
  });

  it('keys optional: an unknown well-formed key is 401 invalid-api-key on every route', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    // A live client exists: the unknown key must not fall back to it, nor to anonymous.
    await addClient(manage(h), 'Someone else');
    await expectEveryRouteRefuses(h, keyed(newApiKey()), 401, 'invalid-api-key');
  });

  it('keys optional: a malformed key is 401 invalid-api-key on every route', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    for (const apiKey of MALFORMED_KEYS) await expectEveryRouteRefuses(h, keyed(apiKey), 401, 'invalid-api-key');
  });

  it('keys optional: an empty X-API-Key is a malformed key (401), not a call without one', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    await expectEveryRouteRefuses(h, keyed(''), 401, 'invalid-api-key');
  });

  it('a client whose stored record is broken (hand-edited policy) is refused as disabled on every route, not 500', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    const client = await addClient(manage(h), 'Hand-edited');
    await h.client.send(
      new UpdateItemCommand({
        TableName: h.tables.clientsTable,
        Key: { pk: { S: clientsKey.client(client.clientId) } },
        UpdateExpression: 'SET #policy = :policy',
        ExpressionAttributeNames: { '#policy': 'policy' },
        ExpressionAttributeValues: { ':policy': { M: { codeLength: { N: '4' } } } },
      }),
    );
    await expectEveryRouteRefuses(h, keyed(client.apiKey), 403, 'client-disabled');
  });

  it('a key whose prefix is right but whose client is another is refused (one character changed)', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    const client = await addClient(manage(h), 'App');
    const last = client.apiKey.at(-1) === 'A' ? 'B' : 'A';
    await expectEveryRouteRefuses(h, keyed(`${client.apiKey.slice(0, -1)}${last}`), 401, 'invalid-api-key');
  });

  it('a disabled client is 403 client-disabled on every route; enabled again, it is served after the cache minute', async () => {
    const h = await harness();
    const client = await addClient(manage(h), 'Paused app');
    await disableClient(manage(h), client.clientId);
    await expectEveryRouteRefuses(h, keyed(client.apiKey), 403, 'client-disabled');

    await enableClient(manage(h), client.clientId);
    pastCacheMinute(h);
    const { session, policy } = await login(h, keyed(client.apiKey));
    expect(session.body?.clientId).toBe(client.clientId);
    expect(policy.body?.clientId).toBe(client.clientId);
  });

  it('a client disabled while its key is warm is refused within a minute', async () => {
    const h = await harness();
    const client = await addClient(manage(h), 'Soon paused');
    await login(h, keyed(client.apiKey));
    await disableClient(manage(h), client.clientId);
    pastCacheMinute(h);
    await expectEveryRouteRefuses(h, keyed(client.apiKey), 403, 'client-disabled');
  });

  it('a revoked key still works from a warm cache, and stops within a minute on every route', async () => {
    const h = await harness();
    const client = await addClient(manage(h), 'Rotating app');
    const policyOf = () =>
      call(createPolicyHandler(h.deps), { method: 'GET', query: { action: 'redeem' }, headers: keyed(client.apiKey) });
    // The container reads the key once, at this instant.
    expect((await policyOf()).status).toBe(200);
    await revokeKey(manage(h), client.clientId, client.keyId);

    // Still within the minute: the cached answer holds, on every route.
    h.clock.now += CLIENT_CACHE_MS - 1_000;
    const { session } = await login(h, keyed(client.apiKey));
    expect(session.body?.clientId).toBe(client.clientId);
    h.clock.now += 999;
    expect((await policyOf()).status).toBe(200);

    // The minute is over: the key is read again, revoked.
    h.clock.now += 2;
    expectProblem(await policyOf(), 401, 'invalid-api-key');
    await expectEveryRouteRefuses(h, keyed(client.apiKey), 401, 'invalid-api-key');
  });

  it('a key revoked before the container ever read it is refused at once', async () => {
    const h = await harness();
    const client = await addClient(manage(h), 'Leaked key');
    await revokeKey(manage(h), client.clientId, client.keyId);
    await expectEveryRouteRefuses(h, keyed(client.apiKey), 401, 'invalid-api-key');
  });

  it('a second key of the same client works, as the first one does, and survives revoking the first', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const client = await addClient(manage(h), 'Two keys');
    const second = await addKey(manage(h), client.clientId);
    expect(second.apiKey).not.toBe(client.apiKey);

    const viaSecond = await login(h, keyed(second.apiKey));
    expect(viaSecond.session.body?.clientId).toBe(client.clientId);
    expect(viaSecond.policy.body?.clientId).toBe(client.clientId);
    const viaFirst = await login(h, keyed(client.apiKey));
    expect(viaFirst.session.body?.clientId).toBe(client.clientId);

    await revokeKey(manage(h), client.clientId, client.keyId);
    pastCacheMinute(h);
    expectProblem(
      await call(createPolicyHandler(h.deps), {
        method: 'GET',
        query: { action: 'redeem' },
        headers: keyed(client.apiKey),
      }),
      401,
      'invalid-api-key',
    );
    const afterRevoke = await login(h, keyed(second.apiKey));
    expect(afterRevoke.session.body?.clientId).toBe(client.clientId);
  });

  it('the 401 is one body, byte for byte, for a missing, unknown, malformed or revoked key', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'true' });
    const revoked = await addClient(manage(h), 'Revoked');
    await revokeKey(manage(h), revoked.clientId, revoked.keyId);
    const cases: Record<string, Headers> = {
      missing: {},
      empty: keyed(''),
      unknown: keyed(newApiKey()),
      malformed: keyed('otpk_short'),
      revoked: keyed(revoked.apiKey),
    };
    for (const [route, request] of ROUTES) {
      const bodies = new Map<string, string>();
      const headers = new Map<string, string>();
      for (const [kind, sent] of Object.entries(cases)) {
        const response = await request(h, sent);
        expectProblem(response, 401, 'invalid-api-key');
        bodies.set(kind, response.rawBody);
        headers.set(kind, JSON.stringify(response.headers));
      }
      expect({ route, distinct: new Set(bodies.values()).size }).toEqual({ route, distinct: 1 });
      expect({ route, distinct: new Set(headers.values()).size }).toEqual({ route, distinct: 1 });
    }
  });

  it('GET /v1/health needs no key, even where keys are required, and ignores a bad one', async () => {
    // The module's own configuration: OTP_REQUIRE_API_KEY is unset there, which means required.
    for (const headers of [{}, keyed(newApiKey()), keyed('not-a-key')]) {
      const response = await call(healthHandler, { method: 'GET', headers });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ success: true, status: 'ok' });
    }
  });
});

/** Counts the DynamoDB requests of a client by table and command, from the moment of `take()`. */
function tableMeter() {
  let counts: Record<string, string[]> = {};
  const instrumented = new WeakSet<DynamoDBClient>();
  const tablesOf = (input: Record<string, unknown>): string[] => {
    const names = new Set<string>();
    if (typeof input.TableName === 'string') names.add(input.TableName);
    for (const list of [input.TransactItems, input.TransactGetItems]) {
      for (const entry of (list ?? []) as Record<string, { TableName?: string } | undefined>[]) {
        for (const operation of Object.values(entry)) if (operation?.TableName) names.add(operation.TableName);
      }
    }
    for (const table of Object.keys(input.RequestItems ?? {})) names.add(table);
    return [...names];
  };
  return {
    /** For kit.harness: the store and the registry share one client, so it is wrapped once. */
    instrument(client: DynamoDBClient): DynamoDBClient {
      if (instrumented.has(client)) return client;
      instrumented.add(client);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const command = (context.commandName ?? '').replace(/Command$/, '');
          for (const table of tablesOf(args.input as Record<string, unknown>)) {
            (counts[table] ??= []).push(command);
          }
          return next(args);
        },
        { step: 'initialize', name: 'countByTable' },
      );
      return client;
    },
    /** The commands by table since the last take. */
    take(): Record<string, string[]> {
      const taken = counts;
      counts = {};
      return taken;
    },
  };
}

describe('a warm function and the clients table', () => {
  it('reads a key once (2 GetItem on the clients table), then 0 times; send keeps its state-table requests', async () => {
    const meter = tableMeter();
    const h = await kit.harness(inject('dynamoEndpoint'), {}, (client) => meter.instrument(client));
    const { stateTable, clientsTable, customersTable } = h.tables;
    const client = await addClient(manage(h), 'Warm app');
    const send = createSendOtpHandler(h.deps);
    const verify = createVerifyOtpHandler(h.deps);
    const sendTo = (target: string, headers: Headers) => call(send, { body: { target }, headers });
    const verifyFor = (target: string, code: string, headers: Headers) =>
      call(verify, { body: { target, code }, headers });

    meter.take();
    const anonymous = await sendTo('anonymous@example.com', {});
    expect(anonymous.status).toBe(200);
    const anonymousSend = meter.take();
    expect(anonymousSend[clientsTable]).toBeUndefined();
    expect(anonymousSend[stateTable]?.length).toBeGreaterThan(0);

    const first = await sendTo('first@example.com', keyed(client.apiKey));
    expect(first.status).toBe(200);
    const firstSend = meter.take();
    expect(firstSend[clientsTable]).toEqual(['GetItem', 'GetItem']);
    expect(firstSend[stateTable]).toEqual(anonymousSend[stateTable]);
    expect(firstSend[customersTable]).toEqual(anonymousSend[customersTable]);

    for (let i = 0; i < 5; i++) {
      h.clock.now += 1_000;
      const next = await sendTo(`next-${i}@example.com`, keyed(client.apiKey));
      expect(next.status).toBe(200);
      const usage = meter.take();
      expect({ call: i, clients: usage[clientsTable] ?? [] }).toEqual({ call: i, clients: [] });
      expect(usage[stateTable]).toEqual(anonymousSend[stateTable]);
      expect(usage[customersTable]).toEqual(anonymousSend[customersTable]);
    }

    // Verify too: a keyed verify on the warm function costs what an anonymous one does.
    await verifyFor('anonymous@example.com', anonymous.body?.mockCode as string, {});
    const anonymousVerify = meter.take();
    expect(anonymousVerify[clientsTable]).toBeUndefined();
    await verifyFor('first@example.com', first.body?.mockCode as string, keyed(client.apiKey));
    const keyedVerify = meter.take();
    expect(keyedVerify[clientsTable]).toBeUndefined();
    expect(keyedVerify[stateTable]).toEqual(anonymousVerify[stateTable]);
    expect(keyedVerify[customersTable]).toEqual(anonymousVerify[customersTable]);
  });
  it('concurrent first calls with one key on a cold function read it once', async () => {
    const meter = tableMeter();
    const h = await kit.harness(inject('dynamoEndpoint'), {}, (client) => meter.instrument(client));
    const client = await addClient(manage(h), 'Busy app');
    const policy = createPolicyHandler(h.deps);
    meter.take();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(policy, { method: 'GET', query: { action: 'redeem' }, headers: keyed(client.apiKey) }),
      ),
    );
    for (const answer of answers) expect(answer.body?.clientId).toBe(client.clientId);
    expect(meter.take()[h.tables.clientsTable]).toEqual(['GetItem', 'GetItem']);
  });

  it('an unknown key is remembered too: asking again within the minute reads nothing', async () => {
    const meter = tableMeter();
    const h = await kit.harness(inject('dynamoEndpoint'), {}, (client) => meter.instrument(client));
    const policy = createPolicyHandler(h.deps);
    const unknown = newApiKey();
    const ask = () => call(policy, { method: 'GET', query: { action: 'redeem' }, headers: keyed(unknown) });
    meter.take();
    expectProblem(await ask(), 401, 'invalid-api-key');
    expect(meter.take()[h.tables.clientsTable]).toEqual(['GetItem']);
    expectProblem(await ask(), 401, 'invalid-api-key');
    expect(meter.take()[h.tables.clientsTable]).toBeUndefined();
    pastCacheMinute(h);
    expectProblem(await ask(), 401, 'invalid-api-key');
    expect(meter.take()[h.tables.clientsTable]).toEqual(['GetItem']);
  });
});

describe('log lines', () => {
  /** Everything written to stdout and stderr from now on, one entry per line. */
  function captureOutput(): string[] {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    return lines;
  }

  /** Loggers that print everything, whatever POWERTOOLS_LOG_LEVEL the run has. */
  const debugLogger = () => new Logger({ serviceName: 'otp-service', logLevel: 'DEBUG' });

  it('carry the client id on every line of a keyed send and verify, "anonymous" otherwise, and never the key or its hash', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const client: NewClient = await addClient(manage(h), 'Logged app');
    const send = createSendOtpHandler(h.deps, debugLogger());
    const verify = createVerifyOtpHandler(h.deps, debugLogger());
    const lines = captureOutput();

    /** The JSON lines logged while `run` ran. */
    const linesOf = async (run: () => Promise<unknown>) => {
      const from = lines.length;
      await run();
      return lines.slice(from);
    };
    const flow = async (target: string, headers: Headers) =>
      linesOf(async () => {
        const sent = await call(send, { body: { target }, headers });
        expect(sent.status).toBe(200);
        const code = sent.body?.mockCode as string;
        expectProblem(await call(verify, { body: { target, code: wrongCode(code) }, headers }), 401, 'invalid-code');
        expect((await call(verify, { body: { target, code }, headers })).status).toBe(200);
      });

    const keyedLines = await flow('keyed@example.com', keyed(client.apiKey));
    const anonymousLines = await flow('anonymous@example.com', {});
    vi.restoreAllMocks();

    // Meaningful only if the flows were logged at all.
    for (const logged of [keyedLines, anonymousLines]) {
      const messages = logged.map((line) => (JSON.parse(line) as { message: string }).message);
      expect(messages).toEqual(expect.arrayContaining(['code sent', 'code rejected', 'code verified']));
    }
    for (const line of keyedLines) expect(line).toContain(`"clientId":"${client.clientId}"`);
    expect(client.clientId).toMatch(/^cli_/);
    for (const line of anonymousLines) expect(line).toContain('"clientId":"anonymous"');
    const output = [...keyedLines, ...anonymousLines].join('\n');
    for (const secret of [client.apiKey, hashApiKey(client.apiKey), client.apiKey.slice('otpk_'.length)]) {
      expect(output).not.toContain(secret);
    }
  });
});
