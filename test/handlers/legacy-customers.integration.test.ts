import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { CUSTOMER_PK, customerKey } from '../../functions/adapters/dynamo/keys.js';
import { sessionItem } from '../../functions/adapters/dynamo/sessions.js';
import { opaqueKey } from '../../functions/core/codes.js';
import type { Purpose } from '../../functions/core/purposes.js';
import { hashSessionToken, newSessionToken } from '../../functions/core/sessions.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, type Harness, harness, PEPPER, PHONE } from '../support.js';

/**
 * verify-* and update-* with the session of a customer that releases before customers were keyed by
 * id stored under its plain target, and that no login has moved yet.
 */

const EMAIL = 'ada@example.com';
const SECOND = 1000;

async function setUp() {
  const h = await harness({
    OTP_RESEND_COOLDOWN_SECONDS: '0',
    OTP_SEND_LIMIT_PER_HOUR: '50',
    OTP_SEND_LIMIT_PER_DAY: '50',
  });
  return { h, send: createSendOtpHandler(h.deps), verify: createVerifyOtpHandler(h.deps) };
}
type Setup = Awaited<ReturnType<typeof setUp>>;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * A legacy customer under its e-mail address, and a live session of it as its last login (before
 * the upgrade) wrote it: the session's token.
 */
async function legacyWithSession(h: Harness, address = EMAIL) {
  const id = randomUUID();
  await h.client.send(
    new PutItemCommand({
      TableName: h.tables.customersTable,
      Item: marshall({ [CUSTOMER_PK]: address, id, channel: 'email', createdAt: h.clock.now - 86_400 * SECOND }),
    }),
  );
  const token = newSessionToken();
  const now = h.clock.now;
  await h.client.send(
    new PutItemCommand({
      TableName: h.tables.stateTable,
      Item: marshall(
        sessionItem(
          {
            tokenHash: hashSessionToken(token),
            sid: randomUUID(),
            customerId: id,
            target: address,
            channel: 'email',
            purpose: 'login',
            issuedAt: now,
            authTime: now,
            expiresAt: now + 1800 * SECOND,
            origin: {},
          },
          {},
        ),
        { removeUndefinedValues: true },
      ),
    }),
  );
  return { id, token };
}

async function getCustomerItem(h: Harness, pk: string) {
  const result = await h.client.send(
    new GetItemCommand({
      TableName: h.tables.customersTable,
      Key: marshall({ [CUSTOMER_PK]: pk }),
      ConsistentRead: true,
    }),
  );
  return result.Item ? unmarshall(result.Item) : undefined;
}

async function logIn(s: Setup, target: string) {
  const sent = await call(s.send, { body: { target, purpose: 'login' } });
  expect(sent.status).toBe(200);
  const verified = await call(s.verify, { body: { target, purpose: 'login', code: sent.body?.mockCode } });
  expect(verified.status).toBe(200);
  return verified.body as Record<string, any>;
}

async function sendLink(s: Setup, token: string, target: string, purpose: Purpose) {
  return call(s.send, { body: { target, purpose }, headers: bearer(token) });
}

/**
 * Runs `hook` once, right after the first GetItem of `pk` on the customers table that finds nothing
 * (the store's client is the harness's client), before its caller sees the answer.
 */
function afterFirstMiss(h: Harness, pk: string, hook: () => Promise<void>) {
  const original = h.client.send.bind(h.client);
  let fired = false;
  const wrapped = async (command: unknown, ...rest: unknown[]) => {
    const output = await (original as (...args: unknown[]) => Promise<any>)(command, ...rest);
    if (
      !fired &&
      command instanceof GetItemCommand &&
      command.input.TableName === h.tables.customersTable &&
      command.input.Key?.[CUSTOMER_PK]?.S === pk &&
      output.Item === undefined
    ) {
      fired = true;
      await hook();
    }
    return output;
  };
  h.client.send = wrapped as typeof h.client.send;
  return { fired: () => fired };
}

describe('verify-* / update-* with a legacy customer session', () => {
  it('verify-phone succeeds when a login moves the legacy customer between its reads', async () => {
    const s = await setUp();
    const legacy = await legacyWithSession(s.h);
    const sent = await sendLink(s, legacy.token, PHONE, 'verify-phone');
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);

    // The verify's getCustomer misses (not moved yet); then a login of its address moves it, so
    // that the verify's findOwner finds it by id, no longer legacy.
    const hook = afterFirstMiss(s.h, customerKey.customer(legacy.id), async () => {
      const login = await logIn(s, EMAIL);
      expect(login.identity.id).toBe(legacy.id);
    });
    const verified = await call(s.verify, {
      body: { target: PHONE, purpose: 'verify-phone', code: sent.body?.mockCode },
      headers: bearer(legacy.token),
    });

    expect(hook.fired()).toBe(true);
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body?.identity).toMatchObject({ id: legacy.id, email: EMAIL, phone: PHONE });
    expect(await getCustomerItem(s.h, customerKey.customer(legacy.id))).toMatchObject({ email: EMAIL, phone: PHONE });
    expect(await getCustomerItem(s.h, EMAIL)).toBeUndefined();
  });

  it('verify-phone moves the legacy customer and gives it the phone', async () => {
    const s = await setUp();
    const legacy = await legacyWithSession(s.h);
    const sent = await sendLink(s, legacy.token, PHONE, 'verify-phone');
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    // Sending moved nothing.
    expect(await getCustomerItem(s.h, EMAIL)).toMatchObject({ id: legacy.id });

    const verified = await call(s.verify, {
      body: { target: PHONE, purpose: 'verify-phone', code: sent.body?.mockCode },
      headers: bearer(legacy.token),
    });

    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body?.identity).toMatchObject({ id: legacy.id, email: EMAIL, phone: PHONE });
    expect(await getCustomerItem(s.h, EMAIL)).toBeUndefined();
    expect(await getCustomerItem(s.h, customerKey.target(opaqueKey(PEPPER, 'target', EMAIL)))).toMatchObject({
      customerId: legacy.id,
    });
  });

  it('verify-email to another address is refused at send (409) for a legacy customer with an e-mail, nothing sent', async () => {
    const s = await setUp();
    const legacy = await legacyWithSession(s.h);

    const sent = await sendLink(s, legacy.token, 'grace@example.com', 'verify-email');

    expectProblem(sent, 409, 'identifier-exists');
    expect(s.h.sender.sent).toEqual([]);
    // Nothing moved at send.
    expect(await getCustomerItem(s.h, EMAIL)).toMatchObject({ id: legacy.id });
    expect(await getCustomerItem(s.h, customerKey.customer(legacy.id))).toBeUndefined();
  });
});
