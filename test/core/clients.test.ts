import { silentLog } from '../kit.js';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_CACHE_MS,
  type Client,
  type ClientDirectory,
  BrokenClientError,
  cachedDirectory,
  hashApiKey,
  identifyClient,
  type KeyHolder,
  newApiKey,
} from '../../functions/core/clients.js';
import { ClientDisabledError, InvalidApiKeyError } from '../../functions/core/errors.js';

const T0 = Date.UTC(2036, 0, 1, 12);

const client = (overrides: Partial<Client> = {}): Client => ({
  id: 'cli_test',
  name: 'Test app',
  status: 'active',
  policy: {},
  createdAt: T0 - 1000,
  updatedAt: T0 - 1000,
  ...overrides,
});

/** A directory over a map of key hashes, counting its reads per key hash. */
function fakeDirectory(holders: Record<string, KeyHolder> = {}) {
  const reads = new Map<string, number>();
  let failNext: Error | undefined;
  const directory: ClientDirectory = {
    findByKeyHash(keyHash) {
      reads.set(keyHash, (reads.get(keyHash) ?? 0) + 1);
      if (failNext) {
        const error = failNext;
        failNext = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve(holders[keyHash]);
    },
  };
  return {
    directory,
    readsOf: (keyHash: string) => reads.get(keyHash) ?? 0,
    totalReads: () => [...reads.values()].reduce((a, b) => a + b, 0),
    failNextWith: (error: Error) => {
      failNext = error;
    },
  };
}

describe('identifyClient', () => {
  const apiKey = newApiKey();
  const identify = (holder: KeyHolder | undefined, key: string | undefined, requireApiKey = true) =>
    identifyClient(
      {
        directory: fakeDirectory(holder ? { [hashApiKey(apiKey)]: holder } : {}).directory,
        now: () => T0,
        requireApiKey,
        log: silentLog,
      },
      key,
    );

  it('refuses a call without a key where keys are required', async () => {
    await expect(identify(undefined, undefined, true)).rejects.toBeInstanceOf(InvalidApiKeyError);
  });

  it('refuses an empty key where keys are required', async () => {
    await expect(identify(undefined, '', true)).rejects.toBeInstanceOf(InvalidApiKeyError);
  });

  it('lets a call without a key through as anonymous where keys are optional', async () => {
    await expect(identify(undefined, undefined, false)).resolves.toBeUndefined();
  });

  it('refuses a malformed key, even where keys are optional, without reading the directory', async () => {
    const { directory, totalReads } = fakeDirectory();
    for (const key of ['otpk_short', `otpk_${'a'.repeat(42)}!`, `sk_${'a'.repeat(43)}`, apiKey.slice(0, -1)]) {
      await expect(
        identifyClient({ directory, now: () => T0, requireApiKey: false, log: silentLog }, key),
      ).rejects.toBeInstanceOf(InvalidApiKeyError);
    }
    expect(totalReads()).toBe(0);
  });

  it('refuses an unknown key, even where keys are optional', async () => {
    await expect(identify(undefined, apiKey, false)).rejects.toBeInstanceOf(InvalidApiKeyError);
  });

  it('refuses a key revoked in the past', async () => {
    await expect(identify({ client: client(), keyId: 'key_a', revokedAt: T0 - 1 }, apiKey)).rejects.toBeInstanceOf(
      InvalidApiKeyError,
    );
  });

  it('refuses a key revoked at this very moment', async () => {
    await expect(identify({ client: client(), keyId: 'key_a', revokedAt: T0 }, apiKey)).rejects.toBeInstanceOf(
      InvalidApiKeyError,
    );
  });

  it('refuses a key of a disabled client with client-disabled', async () => {
    await expect(identify({ client: client({ status: 'disabled' }), keyId: 'key_a' }, apiKey)).rejects.toBeInstanceOf(
      ClientDisabledError,
    );
  });

  it('refuses a revoked key of a disabled client as an invalid key (the key is checked first)', async () => {
    await expect(
      identify({ client: client({ status: 'disabled' }), keyId: 'key_a', revokedAt: T0 - 1 }, apiKey),
    ).rejects.toBeInstanceOf(InvalidApiKeyError);
  });

  it('takes a key whose revocation time is still ahead (written by a clock ahead of this one) until then', async () => {
    await expect(identify({ client: client(), keyId: 'key_a', revokedAt: T0 + 1 }, apiKey)).resolves.toEqual(client());
  });

  it('is the client of a live key', async () => {
    await expect(identify({ client: client(), keyId: 'key_a' }, apiKey)).resolves.toEqual(client());
  });
});

describe('cachedDirectory', () => {
  const holder: KeyHolder = { client: client(), keyId: 'key_a' };

  function setUp() {
    const fake = fakeDirectory({ known: holder });
    const clock = { now: T0 };
    const cached = cachedDirectory(fake.directory, () => clock.now);
    return { ...fake, clock, cached };
  }

  it('reads a key once within 60 s', async () => {
    const { cached, clock, readsOf } = setUp();
    await expect(cached.findByKeyHash('known')).resolves.toEqual(holder);
    clock.now += CLIENT_CACHE_MS - 1;
    await expect(cached.findByKeyHash('known')).resolves.toEqual(holder);
    expect(readsOf('known')).toBe(1);
  });

  it('caches a miss too', async () => {
    const { cached, readsOf } = setUp();
    await expect(cached.findByKeyHash('unknown')).resolves.toBeUndefined();
    await expect(cached.findByKeyHash('unknown')).resolves.toBeUndefined();
    expect(readsOf('unknown')).toBe(1);
  });

  it('reads the key again once 60 s have passed', async () => {
    const { cached, clock, readsOf } = setUp();
    await cached.findByKeyHash('known');
    clock.now += CLIENT_CACHE_MS;
    await cached.findByKeyHash('known');
    expect(readsOf('known')).toBe(2);
  });

  it('shares one read between calls that come while it runs', async () => {
    const { cached, readsOf } = setUp();
    await Promise.all([cached.findByKeyHash('known'), cached.findByKeyHash('known'), cached.findByKeyHash('known')]);
    expect(readsOf('known')).toBe(1);
  });

  it('does not cache a rejected read: the next call reads again', async () => {
    const { cached, readsOf, failNextWith } = setUp();
    failNextWith(new Error('throttled'));
    await expect(cached.findByKeyHash('known')).rejects.toThrow('throttled');
    await expect(cached.findByKeyHash('known')).resolves.toEqual(holder);
    expect(readsOf('known')).toBe(2);
  });

  it('keeps each key apart', async () => {
    const { cached, readsOf } = setUp();
    await cached.findByKeyHash('known');
    await expect(cached.findByKeyHash('other')).resolves.toBeUndefined();
    expect(readsOf('known')).toBe(1);
    expect(readsOf('other')).toBe(1);
  });

  it('keeps at most 1000 keys: the oldest is forgotten first', async () => {
    const { cached, readsOf } = setUp();
    for (let i = 0; i < 1000; i++) await cached.findByKeyHash(`key-${i}`);
    // Still within the limit: the first key is remembered.
    await cached.findByKeyHash('key-0');
    expect(readsOf('key-0')).toBe(1);

    await cached.findByKeyHash('key-1000');
    // The newest 999 of the first thousand are still remembered...
    await cached.findByKeyHash('key-1');
    await cached.findByKeyHash('key-999');
    expect(readsOf('key-1')).toBe(1);
    expect(readsOf('key-999')).toBe(1);
    // ...and the oldest is read again.
    await cached.findByKeyHash('key-0');
    expect(readsOf('key-0')).toBe(2);
  });

  it('forgets the least recently used known key first: a key in use stays', async () => {
    const holders = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`key-${i}`, holder]));
    const fake = fakeDirectory(holders);
    const cached = cachedDirectory(fake.directory, () => T0);
    for (let i = 0; i < 1000; i++) await cached.findByKeyHash(`key-${i}`);
    await cached.findByKeyHash('key-0');
    await cached.findByKeyHash('key-1000');
    await cached.findByKeyHash('key-0');
    expect(fake.readsOf('key-0')).toBe(1);
    await cached.findByKeyHash('key-1');
    expect(fake.readsOf('key-1')).toBe(2);
  });

  it('a flood of made-up keys does not push a real key out', async () => {
    const { cached, readsOf } = setUp();
    await cached.findByKeyHash('known');
    for (let i = 0; i < 5000; i++) await cached.findByKeyHash(`made-up-${i}`);
    await cached.findByKeyHash('known');
    expect(readsOf('known')).toBe(1);
  });

  it("remembers a broken client's failure for the minute: it would fail again", async () => {
    const { cached, readsOf, failNextWith, clock } = setUp();
    failNextWith(new BrokenClientError('cli_broken', 'The stored client cli_broken is broken.'));
    await expect(cached.findByKeyHash('known')).rejects.toBeInstanceOf(BrokenClientError);
    await expect(cached.findByKeyHash('known')).rejects.toBeInstanceOf(BrokenClientError);
    expect(readsOf('known')).toBe(1);
    clock.now += CLIENT_CACHE_MS;
    await expect(cached.findByKeyHash('known')).resolves.toEqual(holder);
  });
});

describe('identifyClient with a broken stored client', () => {
  it('answers 403 client-disabled and logs the client id, never the key', async () => {
    const apiKey = newApiKey();
    const warnings: Record<string, unknown>[] = [];
    const directory: ClientDirectory = {
      findByKeyHash: () =>
        Promise.reject(new BrokenClientError('cli_broken', 'The stored client cli_broken is broken.')),
    };
    const log = { info: () => {}, warn: (_: string, attributes: Record<string, unknown>) => warnings.push(attributes) };
    await expect(identifyClient({ directory, now: () => T0, requireApiKey: true, log }, apiKey)).rejects.toBeInstanceOf(
      ClientDisabledError,
    );
    expect(warnings).toEqual([expect.objectContaining({ brokenClientId: 'cli_broken' })]);
    expect(JSON.stringify(warnings)).not.toContain(apiKey);
    expect(JSON.stringify(warnings)).not.toContain(hashApiKey(apiKey));
  });
});
