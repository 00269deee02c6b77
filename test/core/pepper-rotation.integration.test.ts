import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { CUSTOMER_PK, customerKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import type { SendDeps } from '../../functions/core/deps.js';
import { InvalidCodeError, TargetInUseError } from '../../functions/core/errors.js';
import type { Peppers } from '../../functions/core/peppers.js';
import { sendCode } from '../../functions/core/send-code.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { type Harness, harness, PEPPER, PHONE } from '../support.js';

/**
 * A pepper rotation (README, "Rotating the pepper"), step by step, on DynamoDB Local: functions that
 * hold the old pepper and functions that hold the new one run side by side, as warm containers do
 * until they re-read the secret, and no customer is ever created twice.
 */

const NEW = 'rotated-pepper-rotated-pepper-rotated-0456';
const EMAIL = 'ada@example.com';

/** Before the rotation, and each of its steps as a container holds it (core/peppers.ts). */
const STEPS = {
  before: { pepper: PEPPER },
  pending: { pepper: PEPPER, nextPepper: NEW },
  promoted: { pepper: NEW, previousPepper: PEPPER },
  after: { pepper: NEW },
} satisfies Record<string, Peppers>;

/** The harness's deps as a container holding `peppers` would run them. */
function at(h: Harness, peppers: Peppers): SendDeps {
  return {
    ...h.deps,
    config: {
      ...h.deps.config,
      pepper: peppers.pepper,
      previousPepper: peppers.previousPepper,
      nextPepper: peppers.nextPepper,
    },
  };
}

async function setUp() {
  return harness({ OTP_RESEND_COOLDOWN_SECONDS: '0', OTP_SEND_LIMIT_PER_HOUR: '100', OTP_SEND_LIMIT_PER_DAY: '100' });
}

async function login(h: Harness, peppers: Peppers, target = PHONE) {
  const deps = at(h, peppers);
  await sendCode(deps, { target, purpose: 'login' });
  return verifyCode(deps, { target, code: h.sender.lastCode(), purpose: 'login' });
}

/** Every item of the customers table. */
async function customersTable(h: Harness) {
  const { Items = [] } = await h.client.send(new ScanCommand({ TableName: h.tables.customersTable }));
  return Items.map((item) => unmarshall(item));
}

const customerItems = async (h: Harness) =>
  (await customersTable(h)).filter((item) => String(item[CUSTOMER_PK]).startsWith(customerKey.customer('')));

const lookupKeys = async (h: Harness) =>
  (await customersTable(h))
    .map((item) => String(item[CUSTOMER_PK]))
    .filter((pk) => pk.startsWith(customerKey.target('')))
    .sort();

const keyOf = (pepper: string, address = PHONE) => customerKey.target(opaqueKey(pepper, 'target', address));

describe('pepper rotation on DynamoDB Local', () => {
  it('finds a customer keyed with the previous pepper, and moves its lookup item to the current key', async () => {
    const h = await setUp();
    const first = await login(h, STEPS.before);
    expect(await lookupKeys(h)).toEqual([keyOf(PEPPER)]);

    const again = await login(h, STEPS.promoted);
    expect(again).toMatchObject({ isNew: false, customer: { id: first.customer.id } });
    expect(await lookupKeys(h)).toEqual([keyOf(NEW)]);
    const [customer] = await customerItems(h);
    expect(customer?.phoneKey).toBe(opaqueKey(NEW, 'target', PHONE));
    // Once moved, the new pepper alone finds it.
    expect(await login(h, STEPS.after)).toMatchObject({ isNew: false, customer: { id: first.customer.id } });
  });

  it('creates a customer twice if the pepper is swapped without the procedure: what the procedure prevents', async () => {
    const h = await setUp();
    const first = await login(h, STEPS.before);
    const swapped = await login(h, STEPS.after);
    expect(swapped.isNew).toBe(true);
    expect(swapped.customer.id).not.toBe(first.customer.id);
  });

  it('makes one customer of many first logins spread over both sides of the switch', async () => {
    const h = await setUp();
    const sides = [STEPS.pending, STEPS.promoted];
    // Sent first (one code per container side is enough: a verify consumes it), then verified at once.
    const codes: { peppers: Peppers; code: string }[] = [];
    for (const peppers of sides) {
      await sendCode(at(h, peppers), { target: EMAIL, purpose: 'login' });
      codes.push({ peppers, code: h.sender.lastCode() });
    }
    const results = await Promise.all(
      codes.map(({ peppers, code }) => verifyCode(at(h, peppers), { target: EMAIL, code, purpose: 'login' })),
    );
    expect(new Set(results.map((result) => result.customer.id)).size).toBe(1);
    expect(results.filter((result) => result.isNew)).toHaveLength(1);
    expect(await customerItems(h)).toHaveLength(1);
    expect(await lookupKeys(h)).toHaveLength(1);
  });

  it('re-keys a customer once when logins of the old and new sides race, and loses it to neither', async () => {
    const h = await setUp();
    const first = await login(h, STEPS.before);
    const codes: { peppers: Peppers; code: string }[] = [];
    for (const peppers of [STEPS.pending, STEPS.promoted, STEPS.promoted, STEPS.pending]) {
      // A code per purpose-free round: each send replaces the last, so each verify gets its own send.
      await sendCode(at(h, peppers), { target: PHONE, purpose: 'login' });
      codes.push({ peppers, code: h.sender.lastCode() });
    }
    // Only the last code of each pepper's key is live; verify them all at once and count who won.
    const results = await Promise.allSettled(
      codes.map(({ peppers, code }) => verifyCode(at(h, peppers), { target: PHONE, code, purpose: 'login' })),
    );
    const won = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    expect(won.length).toBeGreaterThan(0);
    for (const result of won) expect(result).toMatchObject({ isNew: false, customer: { id: first.customer.id } });
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(InvalidCodeError);
    }
    expect(await customerItems(h)).toHaveLength(1);
    expect((await lookupKeys(h)).length).toBe(1);
  });

  it('lets parallel logins of many customers keyed with the old pepper each find their own, once', async () => {
    const h = await setUp();
    const targets = Array.from({ length: 6 }, (_, index) => `user${index}@example.com`);
    const before = await Promise.all(targets.map((target) => login(h, STEPS.before, target)));
    // Two logins of each, on the new side, at once: each re-key happens once.
    const codes: { target: string; code: string }[] = [];
    for (const target of targets) {
      await sendCode(at(h, STEPS.promoted), { target, purpose: 'login' });
      codes.push({ target, code: h.sender.lastCode() });
    }
    const results = await Promise.all(
      codes.flatMap(({ target, code }) => [
        verifyCode(at(h, STEPS.promoted), { target, code, purpose: 'login' }).catch((error: unknown) => error),
        verifyCode(at(h, STEPS.promoted), { target, code, purpose: 'login' }).catch((error: unknown) => error),
      ]),
    );
    const sessions = results.filter((result) => !(result instanceof Error));
    // One code, one session: and it is the customer's own.
    expect(sessions).toHaveLength(targets.length);
    for (const [index, target] of targets.entries()) {
      const own = sessions.find((result) => (result as { verifiedTarget: string }).verifiedTarget === target);
      expect(own).toMatchObject({ isNew: false, customer: { id: before[index]?.customer.id } });
    }
    expect(await customerItems(h)).toHaveLength(targets.length);
    expect(await lookupKeys(h)).toEqual(targets.map((target) => keyOf(NEW, target)).sort());
  });

  it('verifies a code sent before the switch, by target and by otpToken, on either side', async () => {
    const h = await setUp();
    const byTarget = await sendCode(at(h, STEPS.pending), { target: PHONE, purpose: 'login' });
    expect(byTarget.otpToken).toBeDefined();
    const code = h.sender.lastCode();
    // Sent by a container on the old pepper, verified by one that already holds the new one.
    await expect(verifyCode(at(h, STEPS.promoted), { target: PHONE, code, purpose: 'login' })).resolves.toMatchObject({
      isNew: true,
    });

    const sent = await sendCode(at(h, STEPS.promoted), { target: EMAIL, purpose: 'login' });
    // Sent on the new pepper, verified by a container still on the old one, by its otpToken alone.
    await expect(
      verifyCode(at(h, STEPS.pending), { otpToken: sent.otpToken, code: h.sender.lastCode() }),
    ).resolves.toMatchObject({ verifiedTarget: EMAIL, isNew: true });
  });

  it('no longer finds a code keyed with a pepper the rotation dropped', async () => {
    const h = await setUp();
    await sendCode(at(h, STEPS.before), { target: PHONE, purpose: 'login' });
    const code = h.sender.lastCode();
    await expect(verifyCode(at(h, STEPS.after), { target: PHONE, code, purpose: 'login' })).rejects.toThrow(
      InvalidCodeError,
    );
  });

  it('refuses to give a target held under the other pepper to another customer', async () => {
    const h = await setUp();
    await login(h, STEPS.before, EMAIL);
    const other = await login(h, STEPS.promoted, PHONE);
    const deps = at(h, STEPS.promoted);
    await sendCode(deps, { target: EMAIL, purpose: 'verify-email', sessionToken: () => other.sessionToken });
    await expect(
      verifyCode(deps, {
        target: EMAIL,
        code: h.sender.lastCode(),
        purpose: 'verify-email',
        sessionToken: () => other.sessionToken,
      }),
    ).rejects.toThrow(TargetInUseError);
    expect(await customerItems(h)).toHaveLength(2);
  });
});
