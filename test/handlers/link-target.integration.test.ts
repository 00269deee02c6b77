import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { CUSTOMER_PK, customerKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import type { Purpose } from '../../functions/core/purposes.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, type Harness, harness, PEPPER, PHONE, storedCode, wrongCode } from '../support.js';

const EMAIL = 'ada@example.com';
const OTHER_EMAIL = 'grace@example.com';
const OTHER_PHONE = '+14155550124';

async function setUp() {
  const h = await harness({
    OTP_RESEND_COOLDOWN_SECONDS: '0',
    OTP_SEND_LIMIT_PER_HOUR: '50',
    OTP_SEND_LIMIT_PER_DAY: '50',
  });
  return {
    h,
    send: createSendOtpHandler(h.deps),
    verify: createVerifyOtpHandler(h.deps),
    session: createSessionHandler(h.deps),
  };
}
type Setup = Awaited<ReturnType<typeof setUp>>;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Logs in with a target: the verify answer's body. */
async function logIn(s: Setup, target: string, purpose: Purpose = 'login') {
  const sent = await call(s.send, { body: { target, purpose } });
  expect(sent.status).toBe(200);
  const verified = await call(s.verify, { body: { target, purpose, code: sent.body?.mockCode } });
  expect(verified.status).toBe(200);
  return verified.body as Record<string, any>;
}

/** Sends a code for a link purpose with a session: the code. */
async function sendLink(s: Setup, sessionToken: string, target: string, purpose: Purpose): Promise<string> {
  const sent = await call(s.send, { body: { target, purpose }, headers: bearer(sessionToken) });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  return sent.body?.mockCode as string;
}

function verifyLink(s: Setup, sessionToken: string | undefined, target: string, purpose: Purpose, code: string) {
  return call(s.verify, {
    body: { target, purpose, code },
    headers: sessionToken === undefined ? {} : bearer(sessionToken),
  });
}

/** Every item of the customers table, by kind: `customer` items and `target` lookup items. */
async function customersTable(h: Harness) {
  const result = await h.client.send(new ScanCommand({ TableName: h.tables.customersTable, ConsistentRead: true }));
  const items = (result.Items ?? []).map((item) => unmarshall(item));
  return {
    customers: items.filter((item) => String(item[CUSTOMER_PK]).startsWith('customer#')),
    lookups: items.filter((item) => String(item[CUSTOMER_PK]).startsWith('target#')),
    all: items,
  };
}

const lookupKey = (target: string) => customerKey.target(opaqueKey(PEPPER, 'target', target));

/**
 * The rules of API.md (Purposes) and DESIGN.md (Data) on the stored items: each lookup item names a
 * customer that holds its target, each identifier of a customer has its lookup item naming it.
 */
async function expectConsistent(h: Harness) {
  const { customers, lookups } = await customersTable(h);
  const byId = new Map(customers.map((customer) => [customer.id, customer]));
  for (const lookup of lookups) {
    const owner = byId.get(lookup.customerId);
    expect(owner, `lookup ${lookup[CUSTOMER_PK]} names a customer`).toBeDefined();
    const field = lookup.channel === 'email' ? 'email' : 'phone';
    expect(lookupKey(owner?.[field])).toBe(lookup[CUSTOMER_PK]);
  }
  for (const customer of customers) {
    for (const field of ['email', 'phone'] as const) {
      if (customer[field] === undefined) continue;
      expect(lookups.find((lookup) => lookup[CUSTOMER_PK] === lookupKey(customer[field]))?.customerId).toBe(
        customer.id,
      );
    }
  }
  return { customers, lookups };
}

describe('verify-email / verify-phone add an identifier to the session customer', () => {
  it('verify-phone adds the phone: one customer, both identifiers, trust strong, no tokens', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    expect(first.identity).toMatchObject({ email: EMAIL, phone: null, trustLevel: 'verified' });
    s.h.clock.now += 60_000;

    const code = await sendLink(s, first.sessionToken, PHONE, 'verify-phone');
    const linked = await verifyLink(s, first.sessionToken, PHONE, 'verify-phone', code);
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({
      success: true,
      verifiedTarget: PHONE,
      otpType: 'sms',
      isNew: false,
      identity: {
        id: first.identity.id,
        email: EMAIL,
        phone: PHONE,
        trustLevel: 'strong',
        // The first verification, not this one.
        verifiedAt: first.identity.verifiedAt,
        createdAt: first.identity.createdAt,
      },
    });
    for (const token of ['sessionToken', 'refreshToken', 'accessToken', 'expiresAt']) {
      expect(linked.body).not.toHaveProperty(token);
    }

    // A login by the phone now finds the same customer, with both identifiers.
    s.h.clock.now += 60_000;
    const byPhone = await logIn(s, PHONE);
    expect(byPhone.isNew).toBe(false);
    expect(byPhone.identity).toMatchObject({ id: first.identity.id, email: EMAIL, phone: PHONE, trustLevel: 'strong' });
    expect(byPhone.identity.verifiedAt).toBe(first.identity.verifiedAt);
    const { customers, lookups } = await expectConsistent(s.h);
    expect(customers).toHaveLength(1);
    expect(lookups).toHaveLength(2);
  });

  it('verify-email adds an e-mail to a customer who logged in by phone', async () => {
    const s = await setUp();
    const first = await logIn(s, PHONE);
    const code = await sendLink(s, first.sessionToken, EMAIL, 'verify-email');
    const linked = await verifyLink(s, first.sessionToken, EMAIL, 'verify-email', code);
    expect(linked.body?.identity).toMatchObject({ id: first.identity.id, email: EMAIL, phone: PHONE });
    expect((await logIn(s, EMAIL)).identity.id).toBe(first.identity.id);
  });

  it('verify-email when the customer already has another e-mail: 409 identifier-exists at send', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const sent = await call(s.send, {
      body: { target: OTHER_EMAIL, purpose: 'verify-email' },
      headers: bearer(first.sessionToken),
    });
    expectProblem(sent, 409, 'identifier-exists');
    expect(await storedCode(s.h, OTHER_EMAIL, 'verify-email')).toBeUndefined();
  });

  it('verify-email of the e-mail the customer already has: verified again, nothing changes', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const code = await sendLink(s, first.sessionToken, EMAIL, 'verify-email');
    const again = await verifyLink(s, first.sessionToken, EMAIL, 'verify-email', code);
    expect(again.status).toBe(200);
    expect(again.body?.identity).toMatchObject({ id: first.identity.id, email: EMAIL, phone: null });
    const { customers, lookups } = await expectConsistent(s.h);
    expect([customers.length, lookups.length]).toEqual([1, 1]);
  });

  it('the target of another customer: the send says nothing, the verify answers 409 target-in-use', async () => {
    const s = await setUp();
    const ada = await logIn(s, EMAIL);
    const grace = await logIn(s, PHONE);
    // No enumeration: the send of a target that has an account looks like any other.
    const code = await sendLink(s, grace.sessionToken, EMAIL, 'verify-email');
    const refused = await verifyLink(s, grace.sessionToken, EMAIL, 'verify-email', code);
    expectProblem(refused, 409, 'target-in-use');
    expect((await logIn(s, EMAIL)).identity).toMatchObject({ id: ada.identity.id, phone: null });
    const { customers } = await expectConsistent(s.h);
    expect(customers.find((customer) => customer.id === grace.identity.id)?.email).toBeUndefined();
  });

  it('the channel must fit the purpose: 400 invalid-target at send and at verify', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    for (const [target, purpose] of [
      [PHONE, 'verify-email'],
      [OTHER_EMAIL, 'verify-phone'],
      [PHONE, 'update-email'],
      [OTHER_EMAIL, 'update-phone'],
    ] as const) {
      const sent = await call(s.send, { body: { target, purpose }, headers: bearer(first.sessionToken) });
      expectProblem(sent, 400, 'invalid-target');
      expectProblem(await verifyLink(s, first.sessionToken, target, purpose, '123456'), 400, 'invalid-target');
    }
  });
});

describe('the session that must come with verify-* and update-*', () => {
  it('send without a session, with an unknown one, or with a revoked one: 401 session-invalid, nothing sent', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const sentBefore = s.h.sender.sent.length;
    expectProblem(await call(s.send, { body: { target: PHONE, purpose: 'verify-phone' } }), 401, 'session-invalid');
    expectProblem(
      await call(s.send, { body: { target: PHONE, purpose: 'verify-phone' }, headers: bearer('x'.repeat(43)) }),
      401,
      'session-invalid',
    );
    expect((await call(s.session, { method: 'DELETE', headers: bearer(first.sessionToken) })).status).toBe(204);
    expectProblem(
      await call(s.send, { body: { target: PHONE, purpose: 'verify-phone' }, headers: bearer(first.sessionToken) }),
      401,
      'session-invalid',
    );
    expect(s.h.sender.sent.length).toBe(sentBefore);
  });

  it('verify without the session: 401, and the code keeps all its attempts', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const code = await sendLink(s, first.sessionToken, PHONE, 'verify-phone');
    expectProblem(await verifyLink(s, undefined, PHONE, 'verify-phone', code), 401, 'session-invalid');
    const stored = await storedCode(s.h, PHONE, 'verify-phone');
    expect(stored?.attempts?.N).toBe('0');
    expect((await verifyLink(s, first.sessionToken, PHONE, 'verify-phone', code)).status).toBe(200);
  });

  it('a session revoked between send and verify: 401, the phone stays free', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const code = await sendLink(s, first.sessionToken, PHONE, 'verify-phone');
    expect((await call(s.session, { method: 'DELETE', headers: bearer(first.sessionToken) })).status).toBe(204);
    expectProblem(await verifyLink(s, first.sessionToken, PHONE, 'verify-phone', code), 401, 'session-invalid');
    expect((await logIn(s, PHONE)).isNew).toBe(true);
  });

  it("a code sent for one customer's session is a wrong code with another customer's session", async () => {
    const s = await setUp();
    const ada = await logIn(s, EMAIL);
    const grace = await logIn(s, OTHER_EMAIL);
    const code = await sendLink(s, ada.sessionToken, PHONE, 'verify-phone');
    expectProblem(await verifyLink(s, grace.sessionToken, PHONE, 'verify-phone', code), 401, 'invalid-code');
    // Ada's own verify still works: the code was not consumed.
    const own = await verifyLink(s, ada.sessionToken, PHONE, 'verify-phone', code);
    expect(own.body?.identity).toMatchObject({ id: ada.identity.id, phone: PHONE });
  });

  it('a wrong code: 401 invalid-code, nothing linked', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const code = await sendLink(s, first.sessionToken, PHONE, 'verify-phone');
    expectProblem(await verifyLink(s, first.sessionToken, PHONE, 'verify-phone', wrongCode(code)), 401, 'invalid-code');
    expect((await customersTable(s.h)).lookups).toHaveLength(1);
  });
});

describe('update-email / update-phone replace an identifier', () => {
  it('update-email: the new address logs in to the same customer, the old one is free', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const code = await sendLink(s, first.sessionToken, OTHER_EMAIL, 'update-email');
    const updated = await verifyLink(s, first.sessionToken, OTHER_EMAIL, 'update-email', code);
    expect(updated.status).toBe(200);
    expect(updated.body?.identity).toMatchObject({ id: first.identity.id, email: OTHER_EMAIL });
    expect((await logIn(s, OTHER_EMAIL)).identity.id).toBe(first.identity.id);
    const old = await logIn(s, EMAIL);
    expect(old.isNew).toBe(true);
    expect(old.identity.id).not.toBe(first.identity.id);
    const { customers, lookups } = await expectConsistent(s.h);
    expect([customers.length, lookups.length]).toEqual([2, 2]);
  });

  it('update-phone for a customer without a phone adds it', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const code = await sendLink(s, first.sessionToken, PHONE, 'update-phone');
    const updated = await verifyLink(s, first.sessionToken, PHONE, 'update-phone', code);
    expect(updated.body?.identity).toMatchObject({ email: EMAIL, phone: PHONE, trustLevel: 'strong' });
    await expectConsistent(s.h);
  });

  it('update-phone to the phone of another customer: 409 target-in-use, nothing changes', async () => {
    const s = await setUp();
    const ada = await logIn(s, PHONE);
    const grace = await logIn(s, OTHER_PHONE);
    const code = await sendLink(s, ada.sessionToken, OTHER_PHONE, 'update-phone');
    expectProblem(await verifyLink(s, ada.sessionToken, OTHER_PHONE, 'update-phone', code), 409, 'target-in-use');
    expect((await logIn(s, PHONE)).identity.id).toBe(ada.identity.id);
    expect((await logIn(s, OTHER_PHONE)).identity.id).toBe(grace.identity.id);
    await expectConsistent(s.h);
  });

  it('a session opened with the old address keeps working after the update', async () => {
    const s = await setUp();
    const first = await logIn(s, EMAIL);
    const code = await sendLink(s, first.sessionToken, OTHER_EMAIL, 'update-email');
    expect((await verifyLink(s, first.sessionToken, OTHER_EMAIL, 'update-email', code)).status).toBe(200);
    const checked = await call(s.session, { method: 'GET', headers: bearer(first.sessionToken) });
    expect(checked.body).toMatchObject({ valid: true, customerId: first.identity.id });
  });
});

describe('one target, one customer, under concurrency (DynamoDB Local)', () => {
  it('two customers attach one phone at once (verify-phone and update-phone): one 200, one 409', async () => {
    const s = await setUp();
    const ada = await logIn(s, EMAIL);
    const grace = await logIn(s, OTHER_EMAIL);
    // One live code per target and purpose: the two customers use the two purposes.
    const adaCode = await sendLink(s, ada.sessionToken, PHONE, 'verify-phone');
    const graceCode = await sendLink(s, grace.sessionToken, PHONE, 'update-phone');
    const answers = await Promise.all([
      verifyLink(s, ada.sessionToken, PHONE, 'verify-phone', adaCode),
      verifyLink(s, grace.sessionToken, PHONE, 'update-phone', graceCode),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    const winner = answers.find((answer) => answer.status === 200)?.body?.identity.id;
    const { customers } = await expectConsistent(s.h);
    expect(customers.filter((customer) => customer.phone === PHONE).map((customer) => customer.id)).toEqual([winner]);
    expect((await logIn(s, PHONE)).identity.id).toBe(winner);
  });

  it('a verify-phone racing the first login of that phone: the phone ends with exactly one customer', async () => {
    for (let round = 0; round < 4; round++) {
      const s = await setUp();
      const ada = await logIn(s, EMAIL);
      const linkCode = await sendLink(s, ada.sessionToken, PHONE, 'verify-phone');
      const loginCode = (await call(s.send, { body: { target: PHONE } })).body?.mockCode;
      const [linked, loggedIn] = await Promise.all([
        verifyLink(s, ada.sessionToken, PHONE, 'verify-phone', linkCode),
        call(s.verify, { body: { target: PHONE, code: loginCode } }),
      ]);
      expect(loggedIn.status).toBe(200);
      const { customers, lookups } = await expectConsistent(s.h);
      expect(lookups.filter((lookup) => lookup[CUSTOMER_PK] === lookupKey(PHONE))).toHaveLength(1);
      if (linked.status === 200) {
        // The link came first (or the login found Ada by the phone): the login is Ada's.
        expect(loggedIn.body?.identity.id).toBe(ada.identity.id);
        expect(customers).toHaveLength(1);
      } else {
        expectProblem(linked, 409, 'target-in-use');
        expect(loggedIn.body?.isNew).toBe(true);
        expect(customers).toHaveLength(2);
      }
    }
  });

  it('update-email to two addresses at once: the customer ends with one of them, the other is free', async () => {
    const s = await setUp();
    const ada = await logIn(s, EMAIL);
    const targets = ['one@example.com', 'two@example.com', 'three@example.com'];
    const codes: string[] = [];
    for (const target of targets) codes.push(await sendLink(s, ada.sessionToken, target, 'update-email'));
    const answers = await Promise.all(
      targets.map((target, i) => verifyLink(s, ada.sessionToken, target, 'update-email', codes[i] as string)),
    );
    // Each update replaces what it reads, retried when another changed it: all succeed, in some order.
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    const { customers, lookups } = await expectConsistent(s.h);
    expect(customers).toHaveLength(1);
    expect(lookups).toHaveLength(1);
    expect(targets).toContain(customers[0]?.email);
  });

  it('verify-email of two addresses at once for one customer without e-mail: one 200, the others 409', async () => {
    const s = await setUp();
    const ada = await logIn(s, PHONE);
    const targets = ['one@example.com', 'two@example.com', 'three@example.com'];
    const codes: string[] = [];
    for (const target of targets) codes.push(await sendLink(s, ada.sessionToken, target, 'verify-email'));
    const answers = await Promise.all(
      targets.map((target, i) => verifyLink(s, ada.sessionToken, target, 'verify-email', codes[i] as string)),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409, 409]);
    for (const answer of answers.filter((answer) => answer.status === 409)) {
      expectProblem(answer, 409, 'identifier-exists');
    }
    const { lookups } = await expectConsistent(s.h);
    expect(lookups).toHaveLength(2);
  });
});
