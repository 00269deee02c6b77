/**
 * The use cases of `npm run clients` on a registry held in memory: what the operator reads. The
 * registry on DynamoDB Local is tested in manage-clients.integration.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  type ApiKeyInfo,
  type Client,
  type ClientRegistry,
  type ClientWithKeys,
  hashApiKey,
  type NewApiKey,
  UnknownClientError,
} from '../../functions/core/clients.js';
import {
  addClient,
  addKey,
  checkName,
  ClientInputError,
  disableClient,
  enableClient,
  listClients,
  MAX_NAME_LENGTH,
  revokeKey,
  showClient,
  updatePolicy,
} from '../../functions/core/manage-clients.js';

const T0 = Date.UTC(2036, 0, 1, 12, 0, 0);

function memoryRegistry() {
  const clients = new Map<string, ClientWithKeys>();
  const hashes = new Map<string, string>();
  const find = (clientId: string) => {
    const client = clients.get(clientId);
    if (!client) throw new UnknownClientError(clientId);
    return client;
  };
  const registry = {
    create: (client: Client, key: NewApiKey) => {
      clients.set(client.id, { ...client, keys: [{ keyId: key.keyId, createdAt: key.createdAt }] });
      hashes.set(key.keyId, key.keyHash);
      return Promise.resolve();
    },
    list: () => Promise.resolve([...clients.values()]),
    get: (clientId: string) => Promise.resolve(clients.get(clientId)),
    updatePolicy: (clientId: string, policy: Client['policy'], now: number) => {
      const client = { ...find(clientId), policy, updatedAt: now };
      clients.set(clientId, client);
      return Promise.resolve(client);
    },
    setStatus: (clientId: string, status: Client['status'], now: number) => {
      const client = { ...find(clientId), status, updatedAt: now };
      clients.set(clientId, client);
      return Promise.resolve(client);
    },
    addKey: (clientId: string, key: NewApiKey) => {
      find(clientId).keys.push({ keyId: key.keyId, createdAt: key.createdAt });
      hashes.set(key.keyId, key.keyHash);
      return Promise.resolve();
    },
    revokeKey: (clientId: string, keyId: string, now: number) => {
      const key = find(clientId).keys.find((k: ApiKeyInfo) => k.keyId === keyId);
      if (key) key.revokedAt = now;
      return Promise.resolve();
    },
  } as unknown as ClientRegistry;
  return { registry, hashes };
}

function setUp() {
  let now = T0;
  const memory = memoryRegistry();
  const deps = { registry: memory.registry, now: () => now };
  return { deps, hashes: memory.hashes, later: (ms: number) => (now += ms) };
}

describe('checkName', () => {
  it('trims the name and takes 1 to MAX_NAME_LENGTH characters, counted as the operator sees them', () => {
    expect(checkName('  Kiosk ')).toBe('Kiosk');
    expect(checkName('K')).toBe('K');
    expect(checkName('é'.repeat(MAX_NAME_LENGTH))).toHaveLength(MAX_NAME_LENGTH);
    expect(checkName('🙂'.repeat(MAX_NAME_LENGTH))).toBe('🙂'.repeat(MAX_NAME_LENGTH));
  });

  it.each([
    ['empty', '   ', /must be 1 to 100 characters \(got 0 after trimming\)/],
    ['too long', 'x'.repeat(MAX_NAME_LENGTH + 1), /got 101 after trimming/],
    ['with a line break', 'Kiosk\nPOS', /control characters or line breaks/],
    ['with a line separator', 'Kiosk\u2028POS', /control characters or line breaks/],
    ['with a control character', 'Kiosk\u0007', /control characters or line breaks/],
  ])('refuses a name %s, naming the field', (_, name, problem) => {
    const error = (() => {
      try {
        return checkName(name);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ClientInputError);
    expect(error).toMatchObject({ field: 'name', name: 'ClientInputError' });
    expect((error as Error).message).toMatch(/^name: /);
    expect((error as Error).message).toMatch(problem);
  });
});

describe('managing clients', () => {
  it('adds an active client whose first key is shown once and stored only as its hash', async () => {
    const { deps, hashes } = setUp();
    const added = await addClient(deps, ' Kiosk ', { codeLength: 8 });
    expect(added).toMatchObject({ name: 'Kiosk', status: 'active', policy: { codeLength: 8 } });
    expect(added.apiKey).toMatch(/^otpk_/);
    expect(hashes.get(added.keyId)).toBe(hashApiKey(added.apiKey));
    expect(await showClient(deps, added.clientId)).toEqual({
      clientId: added.clientId,
      name: 'Kiosk',
      status: 'active',
      policy: { codeLength: 8 },
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0).toISOString(),
      keys: [{ keyId: added.keyId, createdAt: new Date(T0).toISOString(), revokedAt: null }],
    });
  });

  it('adds a client with the default policy, and refuses a bad name before writing anything', async () => {
    const { deps } = setUp();
    expect((await addClient(deps, 'POS')).policy).toEqual({});
    await expect(addClient(deps, '')).rejects.toBeInstanceOf(ClientInputError);
    expect(await listClients(deps)).toHaveLength(1);
  });

  it('adds a second key, and revokes the first at the time it is told', async () => {
    const { deps, hashes, later } = setUp();
    const added = await addClient(deps, 'Kiosk');
    later(1000);
    const second = await addKey(deps, added.clientId);
    expect(second.clientId).toBe(added.clientId);
    expect(second.keyId).not.toBe(added.keyId);
    expect(hashes.get(second.keyId)).toBe(hashApiKey(second.apiKey));
    later(1000);
    expect(await revokeKey(deps, added.clientId, added.keyId)).toEqual({
      clientId: added.clientId,
      keyId: added.keyId,
      revokedAt: new Date(T0 + 2000).toISOString(),
    });
    expect((await showClient(deps, added.clientId)).keys).toEqual([
      { keyId: added.keyId, createdAt: new Date(T0).toISOString(), revokedAt: new Date(T0 + 2000).toISOString() },
      { keyId: second.keyId, createdAt: new Date(T0 + 1000).toISOString(), revokedAt: null },
    ]);
  });

  it('replaces the policy, disables and enables, each stamping the update', async () => {
    const { deps, later } = setUp();
    const added = await addClient(deps, 'Kiosk', { codeLength: 8 });
    later(1000);
    const updated = await updatePolicy(deps, added.clientId, { codeTtlSeconds: 120 });
    expect(updated.policy).toEqual({ codeTtlSeconds: 120 });
    expect(updated.updatedAt).toBe(new Date(T0 + 1000).toISOString());
    expect(updated.createdAt).toBe(new Date(T0).toISOString());
    later(1000);
    expect(await disableClient(deps, added.clientId)).toMatchObject({
      status: 'disabled',
      updatedAt: new Date(T0 + 2000).toISOString(),
    });
    expect((await enableClient(deps, added.clientId)).status).toBe('active');
  });

  it('lists every client, and names an unknown one', async () => {
    const { deps } = setUp();
    await addClient(deps, 'Kiosk');
    await addClient(deps, 'POS');
    expect((await listClients(deps)).map((client) => client.name)).toEqual(['Kiosk', 'POS']);
    await expect(showClient(deps, 'nope')).rejects.toThrow(new UnknownClientError('nope'));
  });
});
