import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { type DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { sendCode } from '../../functions/core/send-code.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { migrateLowercaseEmails } from '../../functions/maintenance/lowercase-emails.js';
import { freshTables, type Harness, harness } from '../support.js';

const run = promisify(execFile);

interface Legacy {
  pk: string;
  id: string;
  channel: 'email' | 'sms';
  name?: string;
  createdAt: number;
}

/** A customer as the previous release stored it: the e-mail's local part kept its case. */
async function putLegacy(client: DynamoDBClient, table: string, customer: Partial<Legacy> & { pk: string }) {
  const item: Legacy = {
    id: randomUUID(),
    channel: customer.pk.includes('@') ? 'email' : 'sms',
    createdAt: Date.UTC(2025, 5, 1),
    ...customer,
  };
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: item.pk },
        id: { S: item.id },
        channel: { S: item.channel },
        ...(item.name === undefined ? {} : { name: { S: item.name } }),
        createdAt: { N: String(item.createdAt) },
      },
    }),
  );
  return item;
}

async function get(client: DynamoDBClient, table: string, pk: string) {
  const result = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return result.Item ? unmarshall(result.Item) : undefined;
}

/** Every item of the table, sorted by key, as stored. */
async function dump(client: DynamoDBClient, table: string) {
  const result = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return (result.Items ?? []).map((item) => unmarshall(item)).sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
}

async function login(h: Harness, target: string) {
  await sendCode(h.deps, { target, purpose: 'login' });
  return verifyCode(h.deps, { target, code: h.sender.lastCode(), purpose: 'login' });
}

describe('migrateLowercaseEmails on DynamoDB Local', () => {
  it('re-keys a mixed-case customer with the same id, name and createdAt, and leaves the rest alone', async () => {
    const { client, customersTable } = await freshTables();
    const ada = await putLegacy(client, customersTable, {
      pk: 'Ada.Lovelace@example.com',
      name: 'Ada',
      createdAt: 1_700_000_000_000,
    });
    const lower = await putLegacy(client, customersTable, { pk: 'grace@example.com', name: 'Grace' });
    const sms = await putLegacy(client, customersTable, { pk: '+14155550123' });

    const summary = await migrateLowercaseEmails({ client, tableName: customersTable });

    expect(summary).toEqual({ dryRun: false, scanned: 3, migrated: 1, conflicts: [], skipped: 2, unfinished: 0 });
    expect(await get(client, customersTable, 'Ada.Lovelace@example.com')).toBeUndefined();
    expect(await get(client, customersTable, 'ada.lovelace@example.com')).toEqual({
      pk: 'ada.lovelace@example.com',
      id: ada.id,
      channel: 'email',
      name: 'Ada',
      createdAt: 1_700_000_000_000,
    });
    expect(await get(client, customersTable, 'grace@example.com')).toEqual(lower);
    expect(await get(client, customersTable, '+14155550123')).toEqual(sms);
  });

  it('moves a customer without a name and keeps it without one', async () => {
    const { client, customersTable } = await freshTables();
    const noName = await putLegacy(client, customersTable, { pk: 'NoName@example.com' });
    await migrateLowercaseEmails({ client, tableName: customersTable });
    expect(await get(client, customersTable, 'noname@example.com')).toEqual({ ...noName, pk: 'noname@example.com' });
  });

  it('reports a conflict and leaves both customers as they were', async () => {
    const { client, customersTable } = await freshTables();
    const old = await putLegacy(client, customersTable, { pk: 'Ada@example.com', name: 'Ada' });
    const created = await putLegacy(client, customersTable, { pk: 'ada@example.com' });
    // Two old spellings of one mailbox, neither lower-case: the first moves, the second conflicts.
    const bob1 = await putLegacy(client, customersTable, { pk: 'Bob@example.com' });
    const bob2 = await putLegacy(client, customersTable, { pk: 'BOB@example.com' });
    const before = await dump(client, customersTable);

    const summary = await migrateLowercaseEmails({ client, tableName: customersTable });

    expect(summary.migrated).toBe(1);
    expect(summary.conflicts).toHaveLength(2);
    expect(summary.conflicts).toContainEqual({
      oldKey: 'Ada@example.com',
      newKey: 'ada@example.com',
      oldId: old.id,
      newId: created.id,
    });
    expect(await get(client, customersTable, 'Ada@example.com')).toEqual(old);
    expect(await get(client, customersTable, 'ada@example.com')).toEqual(created);

    const bobConflict = summary.conflicts.find((conflict) => conflict.newKey === 'bob@example.com');
    const moved = await get(client, customersTable, 'bob@example.com');
    const stayed = [bob1, bob2].find((bob) => bob.pk === bobConflict?.oldKey);
    expect(stayed).toBeDefined();
    expect(bobConflict).toEqual({ oldKey: stayed?.pk, newKey: 'bob@example.com', oldId: stayed?.id, newId: moved?.id });
    expect(await get(client, customersTable, stayed?.pk ?? '')).toEqual(stayed);
    expect([bob1.id, bob2.id]).toContain(moved?.id);
    // Nothing lost: the same customers, one of them under a new key.
    expect(await dump(client, customersTable)).toHaveLength(before.length);
  });

  it('writes nothing in a dry run, and predicts what the real run does', async () => {
    const { client, customersTable } = await freshTables();
    await putLegacy(client, customersTable, { pk: 'Ada.Lovelace@example.com', name: 'Ada' });
    await putLegacy(client, customersTable, { pk: 'Ada@example.com' });
    await putLegacy(client, customersTable, { pk: 'ada@example.com' });
    await putLegacy(client, customersTable, { pk: 'Bob@example.com' });
    await putLegacy(client, customersTable, { pk: 'BOB@example.com' });
    await putLegacy(client, customersTable, { pk: '+14155550123' });
    const before = await dump(client, customersTable);

    const dry = await migrateLowercaseEmails({ client, tableName: customersTable, dryRun: true, pageSize: 2 });

    expect(await dump(client, customersTable)).toEqual(before);
    expect(dry).toMatchObject({ dryRun: true, scanned: 6, migrated: 2, skipped: 2, unfinished: 0 });
    expect(dry.conflicts.map((conflict) => conflict.newKey).sort()).toEqual(['ada@example.com', 'bob@example.com']);

    const real = await migrateLowercaseEmails({ client, tableName: customersTable, pageSize: 2 });
    expect({ ...real, dryRun: true, conflicts: [] }).toEqual({ ...dry, conflicts: [] });
    expect(real.conflicts).toHaveLength(2);
    // The spelling of Bob that the scan meets first is the one that moves, in both runs.
    expect(real.conflicts.map((c) => [c.oldKey, c.newKey]).sort()).toEqual(
      dry.conflicts.map((c) => [c.oldKey, c.newKey]).sort(),
    );
  });

  it('migrates nothing on a second run', async () => {
    const { client, customersTable } = await freshTables();
    for (let i = 0; i < 7; i++) await putLegacy(client, customersTable, { pk: `User${i}@Example.com` });
    await putLegacy(client, customersTable, { pk: 'Ada@example.com' });
    await putLegacy(client, customersTable, { pk: 'ada@example.com' });

    const first = await migrateLowercaseEmails({ client, tableName: customersTable, pageSize: 3 });
    expect(first).toMatchObject({ scanned: 9, migrated: 7, skipped: 1 });
    expect(first.conflicts).toHaveLength(1);
    const after = await dump(client, customersTable);

    const second = await migrateLowercaseEmails({ client, tableName: customersTable, pageSize: 3 });
    // The unresolved conflict is reported again, and nothing else changes.
    expect(second).toEqual({ ...first, migrated: 0, skipped: 8 });
    expect(await dump(client, customersTable)).toEqual(after);
  });

  it('after the migration, a login of that mailbox finds the original customer', async () => {
    const h = await harness();
    const ada = await putLegacy(h.client, h.tables.customersTable, {
      pk: 'Ada.Lovelace@example.com',
      name: 'Ada',
    });

    await migrateLowercaseEmails({ client: h.client, tableName: h.tables.customersTable });
    const result = await login(h, 'Ada.Lovelace@Example.COM');

    expect(result.isNew).toBe(false);
    expect(result.customer).toMatchObject({ id: ada.id, name: 'Ada', createdAt: ada.createdAt });
    expect(result.verifiedTarget).toBe('ada.lovelace@example.com');
    expect(await dump(h.client, h.tables.customersTable)).toHaveLength(1);
  });

  it('without the migration, the same login creates a second customer (the bug it repairs)', async () => {
    const h = await harness();
    const ada = await putLegacy(h.client, h.tables.customersTable, { pk: 'Ada.Lovelace@example.com' });
    const result = await login(h, 'Ada.Lovelace@example.com');
    expect(result.isNew).toBe(true);
    expect(result.customer.id).not.toBe(ada.id);
  });

  it('while logins of the same mailboxes go on, every mailbox ends with one customer or a reported conflict', async () => {
    const h = await harness();
    const table = h.tables.customersTable;
    const mailboxes = Array.from({ length: 12 }, (_, i) => `Person.${i}@Example.com`);
    const originals = new Map<string, Legacy>();
    for (const pk of mailboxes) originals.set(pk, await putLegacy(h.client, table, { pk }));
    // Bystanders that must come through untouched.
    const sms = await putLegacy(h.client, table, { pk: '+14155550123' });

    // Two runs at once (an operator starting it twice) and one login per mailbox, all in parallel.
    const [runA, runB, ...logins] = await Promise.all([
      migrateLowercaseEmails({ client: h.client, tableName: table, pageSize: 1 }),
      migrateLowercaseEmails({ client: h.client, tableName: table, pageSize: 2 }),
      ...mailboxes.map((pk) => login(h, pk.toUpperCase())),
    ]);
    const conflicts = [...runA.conflicts, ...runB.conflicts];

    for (const [i, pk] of mailboxes.entries()) {
      const original = originals.get(pk);
      const lower = pk.toLowerCase();
      const underNew = await get(h.client, table, lower);
      const underOld = await get(h.client, table, pk);
      const loginResult = logins[i];
      expect(underNew, lower).toBeDefined();
      // The login's session belongs to whoever is under the lower-case key now.
      expect(loginResult?.customer.id).toBe(underNew?.id);
      if (underOld === undefined) {
        // Moved: the original customer, and the login found it (and recorded itself on it).
        expect(underNew).toEqual({ ...original, pk: lower, lastLoginAt: expect.any(Number), loginCount: 1 });
        expect(loginResult?.isNew).toBe(false);
      } else {
        // The login got there first: both kept, and the pair reported.
        expect(underOld).toEqual(original);
        expect(loginResult?.isNew).toBe(true);
        expect(conflicts).toContainEqual({ oldKey: pk, newKey: lower, oldId: original?.id, newId: underNew?.id });
      }
    }
    expect(await get(h.client, table, sms.pk)).toEqual(sms);
    // Every conflict reported is one that is still there, not a customer that moved after all.
    for (const conflict of conflicts) expect(await get(h.client, table, conflict.oldKey)).toBeDefined();

    const again = await migrateLowercaseEmails({ client: h.client, tableName: table });
    expect(again.migrated).toBe(0);
  });
});

describe('npm run migrate:lowercase-emails', () => {
  const runner = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'functions/maintenance/main.ts', ...args], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });

  it('prints the summary as JSON against a DynamoDB Local, and dry-runs without writing', async () => {
    const { client, customersTable } = await freshTables();
    const ada = await putLegacy(client, customersTable, { pk: 'Ada@example.com' });
    const endpoint = inject('dynamoEndpoint');

    const dry = await runner(['--table', customersTable, '--endpoint', endpoint, '--dry-run']);
    expect(JSON.parse(dry.stdout)).toEqual({
      dryRun: true,
      scanned: 1,
      migrated: 1,
      conflicts: [],
      skipped: 0,
      unfinished: 0,
    });
    expect(await get(client, customersTable, 'Ada@example.com')).toEqual(ada);

    const real = await runner(['--table', customersTable, '--endpoint', endpoint]);
    expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, migrated: 1 });
    expect(await get(client, customersTable, 'ada@example.com')).toEqual({ ...ada, pk: 'ada@example.com' });
  });

  it('exits non-zero with a message on bad arguments and on errors', async () => {
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
