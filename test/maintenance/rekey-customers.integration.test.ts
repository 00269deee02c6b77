import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { CUSTOMER_PK, customerKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import type { Peppers } from '../../functions/core/peppers.js';
import { sendCode } from '../../functions/core/send-code.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { RekeyPepperMismatchError, rekeyCustomers } from '../../functions/maintenance/rekey-customers.js';
import { type Harness, harness, PEPPER } from '../support.js';

/** `npm run rekey:customers` after a pepper rotation's switch, on DynamoDB Local (README, "Rotating the pepper"). */

const NEW = 'rotated-pepper-rotated-pepper-rotated-0456';
const BEFORE: Peppers = { pepper: PEPPER };
const PROMOTED: Peppers = { pepper: NEW, previousPepper: PEPPER };
const AFTER: Peppers = { pepper: NEW };

const at = (h: Harness, peppers: Peppers) => ({
  ...h.deps,
  config: { ...h.deps.config, pepper: peppers.pepper, previousPepper: peppers.previousPepper, nextPepper: undefined },
});

async function login(h: Harness, peppers: Peppers, target: string) {
  const deps = at(h, peppers);
  await sendCode(deps, { target, purpose: 'login' });
  return verifyCode(deps, { target, code: h.sender.lastCode(), purpose: 'login' });
}

const setUp = () =>
  harness({ OTP_RESEND_COOLDOWN_SECONDS: '0', OTP_SEND_LIMIT_PER_HOUR: '100', OTP_SEND_LIMIT_PER_DAY: '100' });

const rekey = (h: Harness, extra: { dryRun?: boolean; pepper?: string; previousPepper?: string } = {}) =>
  rekeyCustomers({
    client: h.client,
    tableName: h.tables.customersTable,
    pepper: NEW,
    previousPepper: PEPPER,
    ...extra,
  });

async function lookupKeys(h: Harness) {
  const { Items = [] } = await h.client.send(new ScanCommand({ TableName: h.tables.customersTable }));
  return Items.map((item) => String(unmarshall(item)[CUSTOMER_PK]))
    .filter((pk) => pk.startsWith(customerKey.target('')))
    .sort();
}

const keyOf = (pepper: string, address: string) => customerKey.target(opaqueKey(pepper, 'target', address));
const TARGETS = ['ada@example.com', 'bob@example.com', '+14155550123', '+14155550199'];

describe('rekeyCustomers on DynamoDB Local', () => {
  it('moves every lookup item to the current key, so that the new pepper alone finds every customer', async () => {
    const h = await setUp();
    const before = await Promise.all(TARGETS.map((target) => login(h, BEFORE, target)));

    const dry = await rekey(h, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, customers: 4, rekeyed: 4, current: 0, conflicts: [], unfinished: 0 });
    expect(await lookupKeys(h)).toEqual(TARGETS.map((target) => keyOf(PEPPER, target)).sort());

    expect(await rekey(h)).toEqual({
      dryRun: false,
      customers: 4,
      rekeyed: 4,
      current: 0,
      conflicts: [],
      unknownKeys: [],
      strays: [],
      unfinished: 0,
    });
    expect(await lookupKeys(h)).toEqual(TARGETS.map((target) => keyOf(NEW, target)).sort());
    // Idempotent.
    expect(await rekey(h)).toMatchObject({ rekeyed: 0, current: 4 });
    // The previous pepper dropped: every customer is still found, none is created again.
    for (const [index, target] of TARGETS.entries()) {
      expect(await login(h, AFTER, target)).toMatchObject({
        isNew: false,
        customer: { id: before[index]?.customer.id },
      });
    }
  });

  it('runs beside logins of the same customers without losing or doubling any', async () => {
    const h = await setUp();
    const before = await Promise.all(TARGETS.map((target) => login(h, BEFORE, target)));
    const codes: { target: string; code: string }[] = [];
    for (const target of TARGETS) {
      await sendCode(at(h, PROMOTED), { target, purpose: 'login' });
      codes.push({ target, code: h.sender.lastCode() });
    }
    const [summary, ...logins] = await Promise.all([
      rekey(h, {}),
      ...codes.map(({ target, code }) => verifyCode(at(h, PROMOTED), { target, code, purpose: 'login' })),
    ]);
    for (const [index, result] of logins.entries()) {
      expect(result).toMatchObject({ isNew: false, customer: { id: before[index]?.customer.id } });
    }
    // Each identifier was moved once, by the command or by its login.
    expect(summary.rekeyed + summary.current).toBe(TARGETS.length);
    expect(summary).toMatchObject({ conflicts: [], unfinished: 0, strays: [] });
    expect(await lookupKeys(h)).toEqual(TARGETS.map((target) => keyOf(NEW, target)).sort());
  });

  it('reports a target that the current key gives to another customer, and leaves it', async () => {
    const h = await setUp();
    const old = await login(h, BEFORE, 'ada@example.com');
    // What the procedure prevents: a container on the new pepper alone created a second customer.
    const second = await login(h, AFTER, 'ada@example.com');
    expect(second.isNew).toBe(true);
    const summary = await rekey(h);
    expect(summary.conflicts).toEqual([
      { customerId: old.customer.id, channel: 'email', address: 'ada@example.com', ownerId: second.customer.id },
    ]);
    expect(summary.rekeyed).toBe(0);
  });

  it('refuses peppers that are not the stack’s before writing anything', async () => {
    const h = await setUp();
    await login(h, BEFORE, 'ada@example.com');
    const other = 'another-pepper-another-pepper-another-789';
    await expect(rekey(h, { pepper: NEW, previousPepper: other })).rejects.toThrow(RekeyPepperMismatchError);
    expect(await lookupKeys(h)).toEqual([keyOf(PEPPER, 'ada@example.com')]);
  });
});
