import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { type DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { customerKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import { sendCode } from '../../functions/core/send-code.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import {
  migrateCustomers,
  type MigrationSummary,
  PepperMismatchError,
} from '../../functions/maintenance/migrate-customers.js';
import { freshTables, type Harness, harness, PEPPER } from '../support.js';

const run = promisify(execFile);

/** A customer as releases before customers were keyed by id stored it: under its plain target. */
interface Legacy {
  pk: string;
  id: string;
  channel: string;
  createdAt: number;
  name?: string;
  lastLoginAt?: number;
  loginCount?: number;
  lastClientId?: string;
  lastIp?: string;
  lastPlatform?: string;
}

async function putLegacy(client: DynamoDBClient, table: string, customer: Partial<Legacy> & { pk: string }) {
  const item: Legacy = {
    id: randomUUID(),
    channel: customer.pk.includes('@') ? 'email' : 'sms',
    createdAt: Date.UTC(2025, 5, 1),
    ...customer,
  };
  await client.send(new PutItemCommand({ TableName: table, Item: marshall(item, { removeUndefinedValues: true }) }));
  return item;
}

async function get(client: DynamoDBClient, table: string, pk: string) {
  const result = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return result.Item ? unmarshall(result.Item) : undefined;
}

/** Every item of the table, as stored, in key order. */
async function dump(client: DynamoDBClient, table: string) {
  const items: Record<string, any>[] = [];
  let startKey: Record<string, any> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items.sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
}

/** Every key of the table, in the order a Scan meets them. */
async function scanKeys(client: DynamoDBClient, table: string) {
  const keys: string[] = [];
  let startKey: Record<string, any> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
    keys.push(...(page.Items ?? []).map((item) => String(unmarshall(item).pk)));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return keys;
}

/** The key of a target's lookup item, as the service computes it with the harness's pepper. */
const lookupKeyOf = (address: string) => customerKey.target(opaqueKey(PEPPER, 'target', address));

/** A login through the core, as the send and verify handlers make it. */
async function login(h: Harness, target: string) {
  const sent = await sendCode(h.deps, { target, purpose: 'login' });
  // The harness runs in dev mode: each send answers its own code, whatever other logins run alongside.
  return verifyCode(h.deps, { target, code: sent.mockCode ?? '', purpose: 'login' });
}

const migrate = (client: DynamoDBClient, tableName: string, extra: { dryRun?: boolean; pageSize?: number } = {}) =>
  migrateCustomers({ client, tableName, pepper: PEPPER, ...extra });

/** Each item the run met is counted once. */
function expectAccounted(summary: MigrationSummary) {
  expect(summary.scanned).toBe(summary.migrated + summary.conflicts.length + summary.skipped + summary.unfinished);
}

describe('migrateCustomers on DynamoDB Local', () => {
  it('re-keys e-mail (mixed case too) and SMS customers by id with a lookup item each, their fields kept', async () => {
    const { client, customersTable } = await freshTables();
    const ada = await putLegacy(client, customersTable, {
      pk: 'Ada.Lovelace@Example.com',
      name: 'Ada',
      createdAt: 1_700_000_000_000,
      lastLoginAt: 1_710_000_000_000,
      loginCount: 7,
      lastClientId: 'client-1',
      lastIp: '203.0.113.9',
      lastPlatform: 'ios',
    });
    const grace = await putLegacy(client, customersTable, { pk: 'grace@example.com' });
    const sms = await putLegacy(client, customersTable, {
      pk: '+14155550123',
      name: 'Sam',
      lastLoginAt: 1_720_000_000_000,
      loginCount: 2,
      lastPlatform: 'android',
    });

    const summary = await migrate(client, customersTable);

    expect(summary).toEqual({
      dryRun: false,
      scanned: 3,
      migrated: 3,
      conflicts: [],
      skipped: 0,
      unmovable: [],
      unfinished: 0,
      // No customer of the new layout was there to check the pepper against.
      pepperChecked: false,
    });
    expect(await get(client, customersTable, customerKey.customer(ada.id))).toEqual({
      pk: customerKey.customer(ada.id),
      id: ada.id,
      email: 'ada.lovelace@example.com',
      emailKey: opaqueKey(PEPPER, 'target', 'ada.lovelace@example.com'),
      name: 'Ada',
      createdAt: 1_700_000_000_000,
      verifiedAt: 1_700_000_000_000,
      lastLoginAt: 1_710_000_000_000,
      loginCount: 7,
      lastClientId: 'client-1',
      lastIp: '203.0.113.9',
      lastPlatform: 'ios',
    });
    expect(await get(client, customersTable, customerKey.customer(grace.id))).toEqual({
      pk: customerKey.customer(grace.id),
      id: grace.id,
      email: 'grace@example.com',
      emailKey: opaqueKey(PEPPER, 'target', 'grace@example.com'),
      createdAt: grace.createdAt,
      verifiedAt: grace.createdAt,
    });
    expect(await get(client, customersTable, customerKey.customer(sms.id))).toEqual({
      pk: customerKey.customer(sms.id),
      id: sms.id,
      phone: '+14155550123',
      phoneKey: opaqueKey(PEPPER, 'target', '+14155550123'),
      name: 'Sam',
      createdAt: sms.createdAt,
      verifiedAt: sms.createdAt,
      lastLoginAt: 1_720_000_000_000,
      loginCount: 2,
      lastPlatform: 'android',
    });
    for (const [address, legacy] of [
      ['ada.lovelace@example.com', ada],
      ['grace@example.com', grace],
      ['+14155550123', sms],
    ] as const) {
      expect(await get(client, customersTable, lookupKeyOf(address))).toEqual({
        pk: lookupKeyOf(address),
        customerId: legacy.id,
        channel: legacy.channel,
      });
    }
    // No key holds an address any more.
    const keys = (await dump(client, customersTable)).map((item) => String(item.pk));
    expect(keys).toHaveLength(6);
    for (const key of keys) expect(key).toMatch(/^(customer|target)#/);
  });

  it('after the migration, logins find the original customers, mixed-case e-mail included', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    const ada = await putLegacy(h.client, table, { pk: 'Ada.Lovelace@example.com', name: 'Ada', loginCount: 3 });
    const sms = await putLegacy(h.client, table, { pk: '+14155550123', name: 'Sam' });

    await migrate(h.client, table);
    const byEmail = await login(h, 'Ada.Lovelace@Example.COM');
    const byPhone = await login(h, '+14155550123');

    expect(byEmail.isNew).toBe(false);
    expect(byEmail.customer).toMatchObject({ id: ada.id, name: 'Ada', createdAt: ada.createdAt, loginCount: 4 });
    expect(byPhone.isNew).toBe(false);
    expect(byPhone.customer).toMatchObject({ id: sms.id, name: 'Sam', createdAt: sms.createdAt, loginCount: 1 });
    expect(await dump(h.client, table)).toHaveLength(4);
  });

  it('without the migration, a login of a mixed-case legacy e-mail creates a second customer (the case it repairs)', async () => {
    const h = await harness();
    const ada = await putLegacy(h.client, h.tables.customersTable, { pk: 'Ada.Lovelace@example.com' });
    const result = await login(h, 'Ada.Lovelace@example.com');
    expect(result.isNew).toBe(true);
    expect(result.customer.id).not.toBe(ada.id);
  });

  it('reports a target that a login gave to another customer, and leaves both as they were', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    const created = (await login(h, 'ada@example.com')).customer;
    const old = await putLegacy(h.client, table, { pk: 'Ada@example.com', name: 'Ada' });
    // Two old spellings of one mailbox: the first the scan meets moves, the second conflicts with it.
    const bob1 = await putLegacy(h.client, table, { pk: 'Bob@example.com' });
    const bob2 = await putLegacy(h.client, table, { pk: 'BOB@example.com' });
    const before = await dump(h.client, table);

    const summary = await migrate(h.client, table);

    expectAccounted(summary);
    expect(summary).toMatchObject({ migrated: 1, pepperChecked: true, unmovable: [], unfinished: 0 });
    expect(summary.conflicts).toHaveLength(2);
    expect(summary.conflicts).toContainEqual({
      legacyKey: 'Ada@example.com',
      legacyId: old.id,
      ownerId: created.id,
      lookupKey: lookupKeyOf('ada@example.com'),
    });
    expect(await get(h.client, table, 'Ada@example.com')).toEqual(old);
    expect(before).toContainEqual(await get(h.client, table, customerKey.customer(created.id)));
    expect(await get(h.client, table, lookupKeyOf('ada@example.com'))).toMatchObject({ customerId: created.id });

    const bobConflict = summary.conflicts.find((conflict) => conflict.lookupKey === lookupKeyOf('bob@example.com'));
    const stayed = [bob1, bob2].find((bob) => bob.pk === bobConflict?.legacyKey);
    const moved = [bob1, bob2].find((bob) => bob !== stayed);
    expect(stayed).toBeDefined();
    expect(bobConflict).toEqual({
      legacyKey: stayed?.pk,
      legacyId: stayed?.id,
      ownerId: moved?.id,
      lookupKey: lookupKeyOf('bob@example.com'),
    });
    expect(await get(h.client, table, stayed?.pk ?? '')).toEqual(stayed);
    expect(await get(h.client, table, moved?.pk ?? '')).toBeUndefined();
    expect(await get(h.client, table, customerKey.customer(moved?.id ?? ''))).toMatchObject({
      email: 'bob@example.com',
    });
  });

  it('two spellings of one mailbox: the lower-case one (which logins reach) moves, the orphan is reported, in either scan order', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    // Before lower-casing, `userN@example.com` was the account every login reached; `UserN@Example.com`
    // an orphan no login could find.
    const pairs = [];
    for (let i = 0; i < 8; i++) {
      pairs.push({
        address: `user${i}@example.com`,
        live: await putLegacy(h.client, table, { pk: `user${i}@example.com` }),
        orphan: await putLegacy(h.client, table, { pk: `User${i}@Example.com` }),
      });
    }
    // One of them logs in before the migration: its login moves the live one.
    expect((await login(h, 'user0@example.com')).customer.id).toBe(pairs[0]?.live.id);
    // The scan meets the orphan first for some pairs and the live one first for others.
    const scanOrder = await scanKeys(h.client, table);
    const orphanFirst = pairs
      .slice(1)
      .filter((pair) => scanOrder.indexOf(pair.orphan.pk) < scanOrder.indexOf(pair.live.pk));
    expect(orphanFirst.length).toBeGreaterThan(0);
    expect(orphanFirst.length).toBeLessThan(pairs.length - 1);

    const dry = await migrate(h.client, table, { dryRun: true, pageSize: 3 });
    const real = await migrate(h.client, table, { pageSize: 3 });

    // Every mailbox's login still reaches the customer it reached before (user0's after its cooldown).
    h.clock.now += 10 * 60_000;
    const switched = [];
    for (const { address, live } of pairs) {
      const again = await login(h, address);
      expect(again.isNew, address).toBe(false);
      if (again.customer.id !== live.id) switched.push(address);
    }
    expect(switched).toEqual([]);
    expectAccounted(real);
    expect(real).toMatchObject({ migrated: 7, unmovable: [], unfinished: 0 });
    expect(real.conflicts).toHaveLength(8);
    for (const { address, live, orphan } of pairs) {
      // Each orphan is reported with the id logins reach, and left as it was.
      expect(real.conflicts).toContainEqual({
        legacyKey: orphan.pk,
        legacyId: orphan.id,
        ownerId: live.id,
        lookupKey: lookupKeyOf(address),
      });
      expect(await get(h.client, table, orphan.pk)).toEqual(orphan);
      expect(await get(h.client, table, live.pk)).toBeUndefined();
      expect(await get(h.client, table, customerKey.customer(orphan.id))).toBeUndefined();
      expect(await get(h.client, table, customerKey.customer(live.id))).toMatchObject({ email: address });
    }
    // The dry run predicted it, in both scan orders.
    expect(real).toEqual({ ...dry, dryRun: false });

    // A second run moves nothing and reports the orphans again.
    const second = await migrate(h.client, table);
    expect(second.migrated).toBe(0);
    expect(second.conflicts.map((conflict) => conflict.legacyKey).sort()).toEqual(
      pairs.map((pair) => pair.orphan.pk).sort(),
    );
  });

  it('two spellings of one mailbox, two runs and logins at once: the orphan never takes the address', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    const pairs = [];
    for (let i = 0; i < 6; i++) {
      pairs.push({
        address: `user${i}@example.com`,
        live: await putLegacy(h.client, table, { pk: `user${i}@example.com` }),
        orphan: await putLegacy(h.client, table, { pk: `User${i}@Example.com` }),
      });
    }

    const [runA, runB, ...logins] = await Promise.all([
      migrate(h.client, table, { pageSize: 1 }),
      migrate(h.client, table, { pageSize: 2 }),
      ...pairs.map((pair) => login(h, pair.address.toUpperCase())),
    ]);

    expectAccounted(runA);
    expectAccounted(runB);
    const conflicts = [...runA.conflicts, ...runB.conflicts];
    for (const [i, { address, live, orphan }] of pairs.entries()) {
      expect(logins[i]?.customer.id, address).toBe(live.id);
      expect(await get(h.client, table, lookupKeyOf(address)), address).toMatchObject({ customerId: live.id });
      expect(await get(h.client, table, orphan.pk), address).toEqual(orphan);
      expect(conflicts, address).toContainEqual({
        legacyKey: orphan.pk,
        legacyId: orphan.id,
        ownerId: live.id,
        lookupKey: lookupKeyOf(address),
      });
    }
  });

  it('leaves items it cannot move as they are, each with its reason', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    const carol = (await login(h, 'carol@example.com')).customer;
    const items = [
      await putLegacy(h.client, table, { pk: 'not-an-address' }),
      await putLegacy(h.client, table, { pk: 'two@@example.com' }),
      await putLegacy(h.client, table, { pk: '+14155550124', channel: 'email' }),
      await putLegacy(h.client, table, { pk: 'noid@example.com', id: '' }),
      // Carol's id, which a customer of the new layout has already.
      await putLegacy(h.client, table, { pk: 'dave@example.com', id: carol.id }),
    ];
    // One customer under two spellings with one id: the first moves, the second is a leftover copy.
    const erin = await putLegacy(h.client, table, { pk: 'Erin@example.com' });
    const erinCopy = await putLegacy(h.client, table, { ...erin, pk: 'ERIN@example.com' });

    const summary = await migrate(h.client, table);

    expectAccounted(summary);
    expect(summary).toMatchObject({ migrated: 1, conflicts: [], unfinished: 0 });
    // Carol's customer and lookup item are scanned too.
    expect(summary.skipped).toBe(2 + items.length + 1);
    // Whichever spelling of Erin the scan meets second is the copy.
    const [erinLeft, erinMoved] = summary.unmovable.some((item) => item.key === erin.pk)
      ? [erin, erinCopy]
      : [erinCopy, erin];
    expect(summary.unmovable).toHaveLength(items.length + 1);
    expect(Object.fromEntries(summary.unmovable.map((item) => [item.key, item]))).toEqual({
      'not-an-address': {
        key: 'not-an-address',
        id: items[0]?.id,
        reason: 'its key is neither an e-mail address nor a phone number in E.164 form',
      },
      'two@@example.com': {
        key: 'two@@example.com',
        id: items[1]?.id,
        reason: 'its key is not a valid e-mail address',
      },
      '+14155550124': {
        key: '+14155550124',
        id: items[2]?.id,
        reason: 'its channel (email) does not fit its key (sms)',
      },
      'noid@example.com': { key: 'noid@example.com', reason: 'it has no id' },
      'dave@example.com': {
        key: 'dave@example.com',
        id: carol.id,
        reason: `${customerKey.customer(carol.id)} already exists without this target`,
      },
      [erinLeft.pk]: { key: erinLeft.pk, id: erin.id, reason: expect.stringContaining('leftover copy') },
    });
    for (const item of [...items, erinLeft]) expect(await get(h.client, table, item.pk)).toEqual(item);
    expect(await get(h.client, table, erinMoved.pk)).toBeUndefined();
    expect(await get(h.client, table, customerKey.customer(erin.id))).toMatchObject({ email: 'erin@example.com' });
  });

  it('writes nothing in a dry run, and predicts exactly what the real run then does', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    const created = (await login(h, 'ada@example.com')).customer;
    await putLegacy(h.client, table, { pk: 'Ada@example.com' });
    await putLegacy(h.client, table, { pk: 'dave@example.com', id: created.id });
    await putLegacy(h.client, table, { pk: 'Ada.Lovelace@Example.com', name: 'Ada' });
    await putLegacy(h.client, table, { pk: 'Bob@example.com' });
    await putLegacy(h.client, table, { pk: 'BOB@example.com' });
    const erin = await putLegacy(h.client, table, { pk: 'Erin@example.com' });
    await putLegacy(h.client, table, { ...erin, pk: 'eRIN@example.com' });
    await putLegacy(h.client, table, { pk: '+14155550123' });
    await putLegacy(h.client, table, { pk: 'grace@example.com' });
    await putLegacy(h.client, table, { pk: 'not-an-address' });
    const before = await dump(h.client, table);

    const dry = await migrate(h.client, table, { dryRun: true, pageSize: 2 });

    expect(await dump(h.client, table)).toEqual(before);
    expectAccounted(dry);
    expect(dry).toMatchObject({ dryRun: true, scanned: 12, migrated: 5, skipped: 5, unfinished: 0 });
    expect(dry.conflicts).toHaveLength(2);
    expect(dry.unmovable).toHaveLength(3);

    const real = await migrate(h.client, table, { pageSize: 2 });
    expect(real).toEqual({ ...dry, dryRun: false });
  });

  it('migrates nothing on a second run', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    await login(h, 'ada@example.com');
    await putLegacy(h.client, table, { pk: 'Ada@example.com' });
    for (let i = 0; i < 7; i++) await putLegacy(h.client, table, { pk: `User${i}@Example.com` });
    await putLegacy(h.client, table, { pk: '+14155550123' });

    const first = await migrate(h.client, table, { pageSize: 3 });
    expect(first).toMatchObject({ scanned: 11, migrated: 8, skipped: 2 });
    expect(first.conflicts).toHaveLength(1);
    const after = await dump(h.client, table);

    const second = await migrate(h.client, table, { pageSize: 3 });
    // The unresolved conflict is reported again; every moved customer is met as two new items.
    expect(second).toEqual({ ...first, scanned: 3 + 16, migrated: 0, skipped: 2 + 16 });
    expect(await dump(h.client, table)).toEqual(after);
  });

  it('refuses a pepper that does not give the keys the service stored, before writing anything', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    await login(h, 'ada@example.com');
    await putLegacy(h.client, table, { pk: 'grace@example.com' });
    const before = await dump(h.client, table);

    const wrong = migrateCustomers({ client: h.client, tableName: table, pepper: `${PEPPER}-other` });

    await expect(wrong).rejects.toThrow(PepperMismatchError);
    expect(await dump(h.client, table)).toEqual(before);
  });

  it('refuses a page size out of bounds', async () => {
    const { client, customersTable } = await freshTables();
    await expect(migrate(client, customersTable, { pageSize: 0 })).rejects.toThrow(RangeError);
    await expect(migrate(client, customersTable, { pageSize: 5000 })).rejects.toThrow(RangeError);
  });

  it('two runs at once move each legacy customer once, and each counts only its own moves', async () => {
    const { client, customersTable } = await freshTables();
    const legacies = [];
    for (let i = 0; i < 8; i++) legacies.push(await putLegacy(client, customersTable, { pk: `User${i}@Example.com` }));

    // In step, page by page: each run keeps meeting items the other has just moved.
    const [runA, runB] = await Promise.all([
      migrate(client, customersTable, { pageSize: 1 }),
      migrate(client, customersTable, { pageSize: 1 }),
    ]);

    expectAccounted(runA);
    expectAccounted(runB);
    expect(runA.migrated + runB.migrated).toBe(legacies.length);
    expect([...runA.conflicts, ...runB.conflicts, ...runA.unmovable, ...runB.unmovable]).toEqual([]);
    for (const legacy of legacies) {
      expect(await get(client, customersTable, legacy.pk)).toBeUndefined();
      expect(await get(client, customersTable, customerKey.customer(legacy.id))).toMatchObject({
        email: legacy.pk.toLowerCase(),
      });
    }
  });

  it('two runs at once and logins of the same targets end with one customer per target, or a reported conflict', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    const emails = Array.from({ length: 10 }, (_, i) => `Person.${i}@Example.com`);
    const phones = Array.from({ length: 4 }, (_, i) => `+1415555012${i}`);
    const legacies = new Map<string, Legacy>();
    for (const pk of [...emails, ...phones]) legacies.set(pk, await putLegacy(h.client, table, { pk }));
    const address = (pk: string) => pk.toLowerCase();

    // Two runs at once (an operator starting it twice) and one login per target, all in parallel.
    const [runA, runB, ...logins] = await Promise.all([
      migrate(h.client, table, { pageSize: 1 }),
      migrate(h.client, table, { pageSize: 2 }),
      ...[...legacies.keys()].map((pk) => login(h, pk.toUpperCase())),
    ]);
    expectAccounted(runA);
    expectAccounted(runB);
    const conflicts = [...runA.conflicts, ...runB.conflicts];
    const items = await dump(h.client, table);
    let moved = 0;

    for (const [i, [pk, legacy]] of [...legacies].entries()) {
      const lookup = await get(h.client, table, lookupKeyOf(address(pk)));
      const owners = items.filter((item) => item.email === address(pk) || item.phone === address(pk));
      expect(owners, pk).toHaveLength(1);
      expect(lookup?.customerId, pk).toBe(owners[0]?.id);
      // The login's session belongs to whoever owns the target now.
      expect(logins[i]?.customer.id, pk).toBe(lookup?.customerId);
      const left = await get(h.client, table, pk);
      if (left === undefined) {
        // Moved, by a run or by the login: the original customer, which the login found.
        moved++;
        expect(owners[0], pk).toMatchObject({ id: legacy.id, createdAt: legacy.createdAt, loginCount: 1 });
        expect(logins[i]?.isNew, pk).toBe(false);
      } else {
        // The login created a customer first: the legacy one is kept, and reported.
        expect(left).toEqual(legacy);
        expect(logins[i]?.isNew, pk).toBe(true);
        expect(conflicts).toContainEqual({
          legacyKey: pk,
          legacyId: legacy.id,
          ownerId: lookup?.customerId,
          lookupKey: lookupKeyOf(address(pk)),
        });
      }
    }
    // A phone's login finds its legacy customer itself, so phones never conflict.
    for (const phone of phones) expect(await get(h.client, table, phone)).toBeUndefined();
    // Each move is counted by at most one run (logins moved the rest).
    expect(runA.migrated + runB.migrated).toBeLessThanOrEqual(moved);
    // Every conflict reported is one that is still there.
    for (const conflict of conflicts) expect(await get(h.client, table, conflict.legacyKey)).toBeDefined();

    const again = await migrate(h.client, table);
    expect(again.migrated).toBe(0);
    expect(again.conflicts.map((conflict) => conflict.legacyKey).sort()).toEqual(
      [...new Set(conflicts.map((conflict) => conflict.legacyKey))].sort(),
    );
  });
});

describe('npm run migrate:customers', () => {
  // The run's environment has OTP_PEPPER (vitest.config.ts): each test gives the runner its own.
  const withoutPepper = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'OTP_PEPPER' && name !== 'OTP_PEPPER_SECRET_ARN'),
  );
  const runner = (args: string[], env: Record<string, string | undefined> = { ...withoutPepper, OTP_PEPPER: PEPPER }) =>
    run(process.execPath, ['--import', 'tsx', 'functions/maintenance/main.ts', ...args], { env });

  it('prints the summary as JSON against a DynamoDB Local, dry-runs without writing, and explains a conflict', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    const created = (await login(h, 'ada@example.com')).customer;
    const old = await putLegacy(h.client, table, { pk: 'Ada@example.com' });
    const grace = await putLegacy(h.client, table, { pk: 'Grace@example.com' });
    const endpoint = inject('dynamoEndpoint');
    const before = await dump(h.client, table);

    const dry = await runner(['--table', table, '--endpoint', endpoint, '--dry-run']);
    const conflict = {
      legacyKey: 'Ada@example.com',
      legacyId: old.id,
      ownerId: created.id,
      lookupKey: lookupKeyOf('ada@example.com'),
    };
    expect(JSON.parse(dry.stdout)).toEqual({
      dryRun: true,
      scanned: 4,
      migrated: 1,
      conflicts: [conflict],
      skipped: 2,
      unmovable: [],
      unfinished: 0,
      pepperChecked: true,
    });
    expect(dry.stderr).toContain('1 conflict(s)');
    expect(await dump(h.client, table)).toEqual(before);

    const real = await runner(['--table', table, '--endpoint', endpoint]);
    expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, migrated: 1, conflicts: [conflict] });
    expect(await get(h.client, table, customerKey.customer(grace.id))).toMatchObject({ email: 'grace@example.com' });
    expect(await get(h.client, table, 'Grace@example.com')).toBeUndefined();
    for (const output of [dry.stdout, dry.stderr, real.stdout, real.stderr]) expect(output).not.toContain(PEPPER);
  });

  it('refuses to run without a pepper, or with two, and says why', async () => {
    const { client, customersTable } = await freshTables();
    const ada = await putLegacy(client, customersTable, { pk: 'ada@example.com' });
    const endpoint = inject('dynamoEndpoint');

    await expect(runner(['--table', customersTable, '--endpoint', endpoint], withoutPepper)).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("needs the service's pepper"),
    });
    await expect(
      runner([
        '--table',
        customersTable,
        '--endpoint',
        endpoint,
        '--pepper-secret-arn',
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pepper-AbCdEf',
      ]),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('one way only') });
    const weak = 'a'.repeat(40);
    const refused = await runner(['--table', customersTable, '--endpoint', endpoint], {
      ...withoutPepper,
      OTP_PEPPER: weak,
    }).catch((error: unknown) => error as { code: number; stderr: string });
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('OTP_PEPPER') });
    expect(JSON.stringify(refused)).not.toContain(weak);
    expect(await get(client, customersTable, 'ada@example.com')).toEqual(ada);
  });

  it('exits 2 on bad arguments and 1 on errors, with a message', async () => {
    await expect(runner(['--endpoint', 'http://127.0.0.1:1'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--table is required'),
    });
    await expect(runner(['--table', 'no-such-table', '--endpoint', inject('dynamoEndpoint')])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('ResourceNotFoundException'),
    });
  });
});
