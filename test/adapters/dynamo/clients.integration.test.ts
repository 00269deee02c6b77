import { type DynamoDBClient, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoClientRegistry, StoredClientError } from '../../../functions/adapters/dynamo/clients.js';
import { CLIENT_PK, clientsKey } from '../../../functions/adapters/dynamo/keys.js';
import {
  type Client,
  hashApiKey,
  type NewApiKey,
  newApiKey,
  newClientId,
  newKeyId,
  UnknownClientError,
  UnknownKeyError,
} from '../../../functions/core/clients.js';
import { freshTables } from '../../support.js';

const T0 = Date.UTC(2036, 0, 1, 12);

async function registry(pageSize?: number) {
  const { client, clientsTable } = await freshTables();
  return { registry: new DynamoClientRegistry(client, clientsTable, pageSize), client, clientsTable };
}

function aClient(overrides: Partial<Client> = {}): Client {
  return {
    id: newClientId(),
    name: 'Kiosk',
    status: 'active',
    policy: { trust: 'relaxed', codeLength: 8, channels: ['sms'], smsCountries: ['DE'] },
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function aKey(createdAt = T0): NewApiKey & { apiKey: string } {
  const apiKey = newApiKey();
  return { apiKey, keyId: newKeyId(), keyHash: hashApiKey(apiKey), createdAt };
}

/** Every item of the table as stored. */
async function dump(client: DynamoDBClient, table: string) {
  const result = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return (result.Items ?? []).map((item) => unmarshall(item));
}

describe('DynamoClientRegistry on DynamoDB Local', () => {
  it('creates a client with its first key, and gets and lists it without any hash', async () => {
    const { registry: clients, client, clientsTable } = await registry();
    const kiosk = aClient();
    const key = aKey();
    await clients.create(kiosk, key);

    const expected = { ...kiosk, keys: [{ keyId: key.keyId, createdAt: T0 }] };
    expect(await clients.get(kiosk.id)).toEqual(expected);
    expect(await clients.list()).toEqual([expected]);
    expect(await clients.get('cli_nobody')).toBeUndefined();
    expect(JSON.stringify(await clients.list())).not.toContain(key.keyHash);

    // Two items, as the layout says: the client's, and the one that leads from the hash to it.
    const items = await dump(client, clientsTable);
    expect(items.map((item) => item[CLIENT_PK]).sort()).toEqual(
      [clientsKey.apiKey(key.keyHash), clientsKey.client(kiosk.id)].sort(),
    );
    // The key itself is stored nowhere.
    expect(JSON.stringify(items)).not.toContain(key.apiKey);
  });

  it('lists clients in order of creation, across pages of the scan', async () => {
    // 3 items a page: pages with clients, with key items only, and the last one.
    const { registry: clients } = await registry(3);
    const created: Client[] = [];
    for (let i = 0; i < 12; i++) {
      const c = aClient({ name: `client ${i}`, createdAt: T0 + (i % 2 === 0 ? i : 100 - i) });
      created.push(c);
    }
    await Promise.all(created.map((c) => clients.create(c, aKey(c.createdAt))));
    const listed = await clients.list();
    expect(listed.map((c) => c.id)).toEqual([...created].sort((a, b) => a.createdAt - b.createdAt).map((c) => c.id));
  });

  it('refuses to create a client whose id is taken, and leaves the first as it was', async () => {
    const { registry: clients } = await registry();
    const kiosk = aClient();
    const first = aKey();
    await clients.create(kiosk, first);
    const second = aKey();
    await expect(clients.create({ ...kiosk, name: 'Impostor' }, second)).rejects.toThrow();
    expect(await clients.get(kiosk.id)).toMatchObject({ name: 'Kiosk', keys: [{ keyId: first.keyId }] });
    expect(await clients.findByKeyHash(second.keyHash)).toBeUndefined();
  });

  it('finds the client of a live key, of a revoked key (with revokedAt) and nothing for an unknown key', async () => {
    const { registry: clients } = await registry();
    const kiosk = aClient();
    const live = aKey();
    const old = aKey(T0 + 1);
    await clients.create(kiosk, live);
    await clients.addKey(kiosk.id, old);
    await clients.revokeKey(kiosk.id, old.keyId, T0 + 5);

    expect(await clients.findByKeyHash(live.keyHash)).toEqual({ client: kiosk, keyId: live.keyId });
    expect(await clients.findByKeyHash(old.keyHash)).toEqual({ client: kiosk, keyId: old.keyId, revokedAt: T0 + 5 });
    expect(await clients.findByKeyHash(hashApiKey(newApiKey()))).toBeUndefined();
  });

  it('replaces the policy and sets the status, returning the client as stored', async () => {
    const { registry: clients } = await registry();
    const kiosk = aClient();
    const key = aKey();
    await clients.create(kiosk, key);

    const updated = await clients.updatePolicy(kiosk.id, { trust: 'trusted' }, T0 + 10);
    expect(updated).toEqual({ ...kiosk, policy: { trust: 'trusted' }, updatedAt: T0 + 10, keys: [expect.any(Object)] });
    const disabled = await clients.setStatus(kiosk.id, 'disabled', T0 + 20);
    expect(disabled).toMatchObject({ status: 'disabled', policy: { trust: 'trusted' }, updatedAt: T0 + 20 });
    // What a function sees next.
    expect((await clients.findByKeyHash(key.keyHash))?.client).toMatchObject({
      status: 'disabled',
      policy: { trust: 'trusted' },
    });
    expect(await clients.setStatus(kiosk.id, 'active', T0 + 30)).toMatchObject({ status: 'active' });
  });

  it('answers UnknownClientError for every change of a client that does not exist, and creates nothing', async () => {
    const { registry: clients, client, clientsTable } = await registry();
    const ghost = 'cli_ghost';
    await expect(clients.updatePolicy(ghost, {}, T0)).rejects.toThrow(UnknownClientError);
    await expect(clients.setStatus(ghost, 'disabled', T0)).rejects.toThrow(UnknownClientError);
    await expect(clients.addKey(ghost, aKey())).rejects.toThrow(UnknownClientError);
    await expect(clients.revokeKey(ghost, 'key_x', T0)).rejects.toThrow(UnknownClientError);
    expect(await dump(client, clientsTable)).toEqual([]);
  });

  it('answers UnknownKeyError for a key the client does not have, or another client’s, or one already revoked', async () => {
    const { registry: clients } = await registry();
    const a = aClient();
    const b = aClient();
    const keyA = aKey();
    const keyB = aKey();
    await clients.create(a, keyA);
    await clients.create(b, keyB);

    await expect(clients.revokeKey(a.id, 'key_nothing', T0)).rejects.toThrow(UnknownKeyError);
    await expect(clients.revokeKey(a.id, keyB.keyId, T0)).rejects.toThrow(UnknownKeyError);
    expect(await clients.findByKeyHash(keyB.keyHash)).toEqual({ client: b, keyId: keyB.keyId });

    await clients.revokeKey(a.id, keyA.keyId, T0 + 1);
    await expect(clients.revokeKey(a.id, keyA.keyId, T0 + 2)).rejects.toThrow(UnknownKeyError);
    // The first revocation's time stands.
    expect((await clients.get(a.id))?.keys).toEqual([{ keyId: keyA.keyId, createdAt: T0, revokedAt: T0 + 1 }]);
  });

  it('refuses a stored policy that breaks the rules instead of using it', async () => {
    const { registry: clients, client, clientsTable } = await registry();
    const kiosk = aClient();
    const key = aKey();
    await clients.create(kiosk, key);
    // As a hand edit in the console might leave it: a 4-digit code and a field no rule knows.
    await client.send(
      new UpdateItemCommand({
        TableName: clientsTable,
        Key: marshall({ [CLIENT_PK]: clientsKey.client(kiosk.id) }),
        UpdateExpression: 'SET policy = :p',
        ExpressionAttributeValues: marshall({ ':p': { codeLength: 4, sendLimitPerHour: 1_000_000 } }),
      }),
    );
    await expect(clients.findByKeyHash(key.keyHash)).rejects.toThrow(StoredClientError);
    await expect(clients.findByKeyHash(key.keyHash)).rejects.toThrow(/policy\.codeLength.*policy\.sendLimitPerHour/);
    await expect(clients.get(kiosk.id)).rejects.toThrow(new RegExp(`npm run clients -- update ${kiosk.id}`));
    // The way out: a valid policy replaces it.
    await clients.updatePolicy(kiosk.id, { codeLength: 6 }, T0 + 1);
    expect((await clients.findByKeyHash(key.keyHash))?.client.policy).toEqual({ codeLength: 6 });
  });

  it('refuses a stored status it does not know', async () => {
    const { registry: clients, client, clientsTable } = await registry();
    const kiosk = aClient();
    const key = aKey();
    await clients.create(kiosk, key);
    await client.send(
      new PutItemCommand({
        TableName: clientsTable,
        Item: marshall({
          [CLIENT_PK]: clientsKey.client(kiosk.id),
          id: kiosk.id,
          name: 'Kiosk',
          status: 'superuser',
          policy: {},
          createdAt: T0,
          updatedAt: T0,
          keys: { [key.keyId]: { keyHash: key.keyHash, createdAt: T0 } },
        }),
      }),
    );
    await expect(clients.findByKeyHash(key.keyHash)).rejects.toThrow(/status "superuser"/);
  });
});

describe('DynamoClientRegistry under concurrency', () => {
  it('20 parallel add-key on one client: 21 keys listed, and every one of them resolves', async () => {
    const { registry: clients } = await registry();
    const kiosk = aClient();
    const first = aKey();
    await clients.create(kiosk, first);
    const added = Array.from({ length: 20 }, (_, i) => aKey(T0 + 1 + i));

    await Promise.all(added.map((key) => clients.addKey(kiosk.id, key)));

    const keys = (await clients.get(kiosk.id))?.keys ?? [];
    expect(keys).toHaveLength(21);
    expect(keys.map((key) => key.keyId).sort()).toEqual([first, ...added].map((key) => key.keyId).sort());
    const found = await Promise.all([first, ...added].map((key) => clients.findByKeyHash(key.keyHash)));
    expect(found.map((holder) => holder?.keyId)).toEqual([first, ...added].map((key) => key.keyId));
    expect(found.every((holder) => holder?.client.id === kiosk.id && holder.revokedAt === undefined)).toBe(true);
  });

  it('10 parallel revoke-key of one key: exactly 1 succeeds and 9 are UnknownKeyError', async () => {
    const { registry: clients } = await registry();
    const kiosk = aClient();
    const key = aKey();
    await clients.create(kiosk, key);

    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => clients.revokeKey(kiosk.id, key.keyId, T0 + 100 + i)),
    );

    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.filter(
      (outcome) => outcome.status === 'rejected' && outcome.reason instanceof UnknownKeyError,
    );
    expect(fulfilled).toHaveLength(1);
    expect(refused).toHaveLength(9);
    // Both items carry the one winning time.
    const [stored] = (await clients.get(kiosk.id))?.keys ?? [];
    const holder = await clients.findByKeyHash(key.keyHash);
    expect(stored?.revokedAt).toBeGreaterThanOrEqual(T0 + 100);
    expect(holder?.revokedAt).toBe(stored?.revokedAt);
  });

  it('revokes racing with add-key of other keys lose nothing', async () => {
    const { registry: clients } = await registry();
    const kiosk = aClient();
    const first = aKey();
    await clients.create(kiosk, first);
    const old = Array.from({ length: 8 }, (_, i) => aKey(T0 + 1 + i));
    for (const key of old) await clients.addKey(kiosk.id, key);
    const fresh = Array.from({ length: 8 }, (_, i) => aKey(T0 + 100 + i));

    await Promise.all([
      ...old.map((key) => clients.revokeKey(kiosk.id, key.keyId, T0 + 50)),
      ...fresh.map((key) => clients.addKey(kiosk.id, key)),
      clients.updatePolicy(kiosk.id, { trust: 'strict' }, T0 + 60),
    ]);

    const client = await clients.get(kiosk.id);
    expect(client?.policy).toEqual({ trust: 'strict' });
    const byId = new Map(client?.keys.map((key) => [key.keyId, key]));
    expect(byId.size).toBe(17);
    for (const key of old) expect(byId.get(key.keyId)?.revokedAt).toBe(T0 + 50);
    for (const key of [first, ...fresh]) expect(byId.get(key.keyId)?.revokedAt).toBeUndefined();
    for (const key of old) expect((await clients.findByKeyHash(key.keyHash))?.revokedAt).toBe(T0 + 50);
    for (const key of [first, ...fresh]) {
      expect(await clients.findByKeyHash(key.keyHash)).toEqual({ client: expect.any(Object), keyId: key.keyId });
    }
  });
});
