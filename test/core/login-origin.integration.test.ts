import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { CUSTOMER_PK, customerKey, STATE_PK, stateKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import { addClient } from '../../functions/core/manage-clients.js';
import type { Purpose } from '../../functions/core/purposes.js';
import { hashSessionToken } from '../../functions/core/sessions.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, type Harness, harness, PHONE } from '../support.js';

const SOURCE_IP = '198.51.100.9';

async function setUp() {
  const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
  const client = await addClient({ registry: h.registry, now: h.deps.now }, 'Mobile app');
  return { h, client, send: createSendOtpHandler(h.deps), verify: createVerifyOtpHandler(h.deps) };
}

/** Sends a code and verifies it: the verify answer. */
async function login(
  s: Awaited<ReturnType<typeof setUp>>,
  options: { platform?: string; sourceIp?: string; apiKey?: string; purpose?: Purpose; target?: string } = {},
) {
  const target = options.target ?? PHONE;
  const headers: Record<string, string> = options.apiKey ? { 'X-API-Key': options.apiKey } : {};
  const purpose = options.purpose ? { purpose: options.purpose } : {};
  const sent = await call(s.send, { body: { target, ...purpose }, headers });
  expect(sent.status).toBe(200);
  return call(s.verify, {
    body: {
      target,
      code: sent.body?.mockCode,
      ...purpose,
      ...(options.platform ? { platform: options.platform } : {}),
    },
    headers,
    sourceIp: options.sourceIp,
  });
}

async function sessionItem(h: Harness, sessionToken: string) {
  const result = await h.client.send(
    new GetItemCommand({
      TableName: h.tables.stateTable,
      Key: marshall({ [STATE_PK]: stateKey.session(hashSessionToken(sessionToken)) }),
      ConsistentRead: true,
    }),
  );
  return result.Item ? unmarshall(result.Item) : undefined;
}

async function customerItem(h: Harness, target = PHONE) {
  const get = async (pk: string) => {
    const result = await h.client.send(
      new GetItemCommand({
        TableName: h.tables.customersTable,
        Key: marshall({ [CUSTOMER_PK]: pk }),
        ConsistentRead: true,
      }),
    );
    return result.Item ? unmarshall(result.Item) : undefined;
  };
  const lookup = await get(customerKey.target(opaqueKey(h.deps.config.pepper, 'target', target)));
  return lookup ? get(customerKey.customer(String(lookup.customerId))) : undefined;
}

describe('what a login records', () => {
  it('the session has the client, the source IP, the platform and the auth time', async () => {
    const s = await setUp();
    const response = await login(s, { platform: 'ios', sourceIp: SOURCE_IP, apiKey: s.client.apiKey });
    expect(response.status).toBe(200);
    expect(await sessionItem(s.h, response.body?.sessionToken as string)).toMatchObject({
      clientId: s.client.clientId,
      sourceIp: SOURCE_IP,
      platform: 'ios',
      authTime: s.h.clock.now,
      customerId: response.body?.identity.id,
    });
  });

  it('the customer has the last client, IP, platform, login time and a login count', async () => {
    const s = await setUp();
    const response = await login(s, { platform: 'ios', sourceIp: SOURCE_IP, apiKey: s.client.apiKey });
    expect(response.status).toBe(200);
    expect(await customerItem(s.h)).toMatchObject({
      id: response.body?.identity.id,
      lastClientId: s.client.clientId,
      lastIp: SOURCE_IP,
      lastPlatform: 'ios',
      lastLoginAt: s.h.clock.now,
      loginCount: 1,
    });
  });

  it('the verify answer shows the login time and count', async () => {
    const s = await setUp();
    const response = await login(s, { platform: 'web', apiKey: s.client.apiKey });
    expect(response.body?.identity).toMatchObject({
      lastLoginAt: new Date(s.h.clock.now).toISOString(),
      loginCount: 1,
    });
  });

  it('a second login replaces the last values and counts 2', async () => {
    const s = await setUp();
    await login(s, { platform: 'ios', sourceIp: SOURCE_IP, apiKey: s.client.apiKey });
    s.h.clock.now += 60_000;
    const other = await addClient({ registry: s.h.registry, now: s.h.deps.now }, 'Web shop');
    const second = await login(s, { platform: 'web', sourceIp: '192.0.2.44', apiKey: other.apiKey });
    expect(second.body?.identity.loginCount).toBe(2);
    expect(await customerItem(s.h)).toMatchObject({
      lastClientId: other.clientId,
      lastIp: '192.0.2.44',
      lastPlatform: 'web',
      lastLoginAt: s.h.clock.now,
      loginCount: 2,
    });
  });

  it('a second login without platform removes the last platform (no stale mix)', async () => {
    const s = await setUp();
    await login(s, { platform: 'ios', sourceIp: SOURCE_IP, apiKey: s.client.apiKey });
    const second = await login(s, { sourceIp: '192.0.2.44', apiKey: s.client.apiKey });
    expect(second.status).toBe(200);
    const customer = await customerItem(s.h);
    expect(customer).not.toHaveProperty('lastPlatform');
    expect(customer).toMatchObject({ lastIp: '192.0.2.44', lastClientId: s.client.clientId, loginCount: 2 });
  });

  it('a second login without a key removes the last client', async () => {
    const s = await setUp();
    await login(s, { platform: 'ios', apiKey: s.client.apiKey });
    await login(s, { platform: 'android' });
    const customer = await customerItem(s.h);
    expect(customer).not.toHaveProperty('lastClientId');
    expect(customer).toMatchObject({ lastPlatform: 'android', loginCount: 2 });
  });

  it('a session without platform or key stores no such attribute', async () => {
    const s = await setUp();
    const response = await login(s);
    const session = await sessionItem(s.h, response.body?.sessionToken as string);
    expect(session).not.toHaveProperty('platform');
    expect(session).not.toHaveProperty('clientId');
    expect(session).toMatchObject({ sourceIp: '203.0.113.7' });
  });

  it('four logins of one new target at once (four purposes): one customer with loginCount 4', async () => {
    const s = await setUp();
    const purposes: Purpose[] = ['login', 'register', 'step-up', 'reset-password'];
    const codes: string[] = [];
    for (const purpose of purposes) {
      const sent = await call(s.send, { body: { target: PHONE, purpose } });
      expect(sent.status).toBe(200);
      codes.push(sent.body?.mockCode as string);
    }
    const responses = await Promise.all(
      purposes.map((purpose, i) =>
        call(s.verify, { body: { target: PHONE, code: codes[i], purpose, platform: 'ios' }, sourceIp: SOURCE_IP }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect(responses.filter((response) => response.body?.isNew)).toHaveLength(1);
    expect(new Set(responses.map((response) => response.body?.identity.id)).size).toBe(1);
    expect((await customerItem(s.h))?.loginCount).toBe(4);
    const customers = await s.h.client.send(
      new ScanCommand({ TableName: s.h.tables.customersTable, ConsistentRead: true }),
    );
    // One customer item and the lookup item of its phone number.
    const keys = (customers.Items ?? []).map((item) => String(unmarshall(item)[CUSTOMER_PK]).split('#')[0]);
    expect(keys.sort()).toEqual(['customer', 'target']);
  });

  it('four logins of one known customer at once: loginCount grows by exactly 4', async () => {
    const s = await setUp();
    expect((await login(s)).status).toBe(200);
    const purposes: Purpose[] = ['login', 'register', 'step-up', 'reset-password'];
    const codes: string[] = [];
    for (const purpose of purposes) {
      codes.push((await call(s.send, { body: { target: PHONE, purpose } })).body?.mockCode as string);
    }
    const responses = await Promise.all(
      purposes.map((purpose, i) => call(s.verify, { body: { target: PHONE, code: codes[i], purpose } })),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect((await customerItem(s.h))?.loginCount).toBe(5);
  });

  it('platform blackberry: 400 validation-error', async () => {
    const s = await setUp();
    const response = await login(s, { platform: 'blackberry' });
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual([expect.objectContaining({ path: 'platform' })]);
  });
});
