import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoClientRegistry } from '../../functions/adapters/dynamo/clients.js';
import {
  CLIENT_CACHE_MS,
  cachedDirectory,
  hashApiKey,
  identifyClient,
  UnknownClientError,
  UnknownKeyError,
} from '../../functions/core/clients.js';
import { ClientDisabledError, InvalidApiKeyError } from '../../functions/core/errors.js';
import {
  addClient,
  addKey,
  ClientInputError,
  disableClient,
  enableClient,
  listClients,
  type ManageDeps,
  revokeKey,
  showClient,
  updatePolicy,
} from '../../functions/core/manage-clients.js';
import { PolicyError } from '../../functions/policy-rules.js';
import { freshTables } from '../support.js';

const T0 = Date.UTC(2036, 0, 1, 12);

async function setUp() {
  const { client, clientsTable } = await freshTables();
  const clock = { now: T0 };
  const registry = new DynamoClientRegistry(client, clientsTable);
  const deps: ManageDeps = { registry, now: () => clock.now };
  /** What a function does with an X-API-Key, reading the table afresh each time. */
  const identify = (apiKey: string) =>
    identifyClient({ directory: registry, now: () => clock.now, requireApiKey: true }, apiKey);
  const items = async () =>
    (await client.send(new ScanCommand({ TableName: clientsTable, ConsistentRead: true }))).Items ?? [];
  return { deps, registry, clock, identify, items };
}

describe('managing clients (functions/core/manage-clients.ts) on DynamoDB Local', () => {
  it('adds a client whose key, shown once, identifies it; the policy is stored as checked', async () => {
    const { deps, identify, items } = await setUp();
    const added = await addClient(deps, '  Kiosk app  ', { trust: 'relaxed', smsCountries: ['de', 'DE', 'at'] });

    expect(added).toEqual({
      clientId: expect.stringMatching(/^cli_/),
      name: 'Kiosk app',
      status: 'active',
      policy: { trust: 'relaxed', smsCountries: ['DE', 'AT'] },
      apiKey: expect.stringMatching(/^otpk_[A-Za-z0-9_-]{43}$/),
      keyId: expect.stringMatching(/^key_/),
    });
    expect(await identify(added.apiKey)).toMatchObject({ id: added.clientId, name: 'Kiosk app' });
    // Stored as a hash only.
    const stored = JSON.stringify(await items());
    expect(stored).not.toContain(added.apiKey);
    expect(stored).toContain(hashApiKey(added.apiKey));
  });

  it('adds a client without a policy: every value is the deployment’s', async () => {
    const { deps } = await setUp();
    expect((await addClient(deps, 'Web')).policy).toEqual({});
  });

  it.each([
    ['', /^name: must be 1 to 100 characters \(got 0/],
    ['   ', /^name: must be 1 to 100 characters \(got 0/],
    ['x'.repeat(101), /^name: must be 1 to 100 characters \(got 101/],
    ['Kiosk\napp', /^name: must not contain control characters/],
    ['Kiosk\u0007', /^name: must not contain control characters/],
  ])('refuses the name %j, naming the field, and writes nothing', async (name, message) => {
    const { deps, items } = await setUp();
    await expect(addClient(deps, name)).rejects.toThrow(ClientInputError);
    await expect(addClient(deps, name)).rejects.toThrow(message);
    expect(await items()).toEqual([]);
  });

  it('takes a name of 100 characters, counted in code points', async () => {
    const { deps } = await setUp();
    expect((await addClient(deps, '🙂'.repeat(100))).name).toBe('🙂'.repeat(100));
  });

  it('refuses a policy that breaks a rule, naming policy.<field>, and writes nothing', async () => {
    const { deps, items } = await setUp();
    const added = addClient(deps, 'Kiosk', { codeLength: 4, trust: 'lax', colour: 'red' });
    await expect(added).rejects.toThrow(PolicyError);
    await expect(addClient(deps, 'Kiosk', { codeLength: 4 })).rejects.toThrow(/policy\.codeLength: must be a whole/);
    await expect(addClient(deps, 'Kiosk', { trust: 'lax' })).rejects.toThrow(/policy\.trust: must be strict/);
    await expect(addClient(deps, 'Kiosk', { colour: 'red' })).rejects.toThrow(/policy\.colour: is not a policy field/);
    await expect(addClient(deps, 'Kiosk', [])).rejects.toThrow(/policy: must be a JSON object/);
    await expect(
      addClient(deps, 'Kiosk', { testTargets: [{ target: '+14155550123', code: '123456' }] }),
    ).rejects.toThrow(/policy\.testTargets\.0\.code: must not be trivially guessable/);
    expect(await items()).toEqual([]);
  });

  it('shows and lists clients with ISO dates and key ids, never a key or a hash', async () => {
    const { deps, clock } = await setUp();
    const a = await addClient(deps, 'A');
    clock.now = T0 + 1000;
    const b = await addClient(deps, 'B', { trust: 'trusted' });
    clock.now = T0 + 2000;
    const second = await addKey(deps, a.clientId);
    clock.now = T0 + 3000;
    await revokeKey(deps, a.clientId, a.keyId);

    const shown = await showClient(deps, a.clientId);
    expect(shown).toEqual({
      clientId: a.clientId,
      name: 'A',
      status: 'active',
      policy: {},
      createdAt: '2036-01-01T12:00:00.000Z',
      updatedAt: '2036-01-01T12:00:00.000Z',
      keys: [
        { keyId: a.keyId, createdAt: '2036-01-01T12:00:00.000Z', revokedAt: '2036-01-01T12:00:03.000Z' },
        { keyId: second.keyId, createdAt: '2036-01-01T12:00:02.000Z', revokedAt: null },
      ],
    });
    const listed = await listClients(deps);
    expect(listed.map((client) => client.clientId)).toEqual([a.clientId, b.clientId]);
    expect(listed[0]).toEqual(shown);
    const text = JSON.stringify(listed);
    for (const apiKey of [a.apiKey, b.apiKey, second.apiKey]) {
      expect(text).not.toContain(apiKey);
      expect(text).not.toContain(hashApiKey(apiKey));
    }
    expect(text).not.toContain('keyHash');
  });

  it('answers UnknownClientError for an id that is no client', async () => {
    const { deps } = await setUp();
    await expect(showClient(deps, 'cli_nobody')).rejects.toThrow(UnknownClientError);
    await expect(showClient(deps, 'cli_nobody')).rejects.toThrow('No client with id cli_nobody.');
    await expect(addKey(deps, 'cli_nobody')).rejects.toThrow(UnknownClientError);
    await expect(updatePolicy(deps, 'cli_nobody', {})).rejects.toThrow(UnknownClientError);
    await expect(disableClient(deps, 'cli_nobody')).rejects.toThrow(UnknownClientError);
    await expect(enableClient(deps, 'cli_nobody')).rejects.toThrow(UnknownClientError);
    await expect(revokeKey(deps, 'cli_nobody', 'key_x')).rejects.toThrow(UnknownClientError);
    expect(await listClients(deps)).toEqual([]);
  });

  it('adds a second key next to the first, and revokes the first: only the second works', async () => {
    const { deps, identify } = await setUp();
    const added = await addClient(deps, 'Kiosk');
    const second = await addKey(deps, added.clientId);
    expect(second).toEqual({
      clientId: added.clientId,
      keyId: expect.stringMatching(/^key_/),
      apiKey: expect.any(String),
    });
    expect(second.keyId).not.toBe(added.keyId);
    expect((await identify(second.apiKey))?.id).toBe(added.clientId);
    expect((await identify(added.apiKey))?.id).toBe(added.clientId);

    expect(await revokeKey(deps, added.clientId, added.keyId)).toEqual({
      clientId: added.clientId,
      keyId: added.keyId,
      revokedAt: '2036-01-01T12:00:00.000Z',
    });
    await expect(identify(added.apiKey)).rejects.toThrow(InvalidApiKeyError);
    expect((await identify(second.apiKey))?.id).toBe(added.clientId);
    await expect(revokeKey(deps, added.clientId, added.keyId)).rejects.toThrow(UnknownKeyError);
    await expect(revokeKey(deps, added.clientId, 'key_unknown')).rejects.toThrow(
      `Client ${added.clientId} has no live key key_unknown.`,
    );
  });

  it('a revoked key stops working for a function that cached it within the cache’s 60 seconds', async () => {
    const { deps, registry, clock } = await setUp();
    const added = await addClient(deps, 'Kiosk');
    // One warm container: it read the key a moment before the revocation.
    const directory = cachedDirectory(registry, () => clock.now);
    const identify = (apiKey: string) =>
      identifyClient({ directory, now: () => clock.now, requireApiKey: true }, apiKey);
    expect((await identify(added.apiKey))?.id).toBe(added.clientId);

    await revokeKey(deps, added.clientId, added.keyId);
    clock.now += CLIENT_CACHE_MS;
    await expect(identify(added.apiKey)).rejects.toThrow(InvalidApiKeyError);
  });

  it('replaces the whole policy; a refused policy leaves the stored one as it was', async () => {
    const { deps, clock, identify } = await setUp();
    const added = await addClient(deps, 'Kiosk', { trust: 'relaxed', codeLength: 8 });
    clock.now = T0 + 5000;
    const updated = await updatePolicy(deps, added.clientId, { trust: 'trusted', otpRequiredFor: ['payout'] });
    expect(updated).toMatchObject({
      policy: { trust: 'trusted', otpRequiredFor: ['payout'] },
      createdAt: '2036-01-01T12:00:00.000Z',
      updatedAt: '2036-01-01T12:00:05.000Z',
    });
    await expect(updatePolicy(deps, added.clientId, { maxAttempts: 0 })).rejects.toThrow(/policy\.maxAttempts/);
    expect((await identify(added.apiKey))?.policy).toEqual({ trust: 'trusted', otpRequiredFor: ['payout'] });
  });

  it('disables and enables a client: its keys get 403 client-disabled in between', async () => {
    const { deps, identify } = await setUp();
    const added = await addClient(deps, 'Kiosk');
    expect(await disableClient(deps, added.clientId)).toMatchObject({ status: 'disabled' });
    await expect(identify(added.apiKey)).rejects.toThrow(ClientDisabledError);
    expect(await enableClient(deps, added.clientId)).toMatchObject({ status: 'active' });
    expect((await identify(added.apiKey))?.status).toBe('active');
  });
});
