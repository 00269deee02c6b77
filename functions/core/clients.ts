import { createHash, randomBytes } from 'node:crypto';
import type { ClientPolicy } from './client-policy.js';
import type { CoreLog } from './deps.js';
import { ClientDisabledError, InvalidApiKeyError } from './errors.js';

/** The apps and integrations that call the API, each with its API keys and its policy. */
export const CLIENT_STATUSES = ['active', 'disabled'] as const;
export type ClientStatus = (typeof CLIENT_STATUSES)[number];

export interface Client {
  id: string;
  name: string;
  status: ClientStatus;
  policy: ClientPolicy;
  createdAt: number;
  updatedAt: number;
}

/** A key as it may be listed: its public id, never the key or its hash. */
export interface ApiKeyInfo {
  keyId: string;
  createdAt: number;
  revokedAt?: number;
}

export type ClientWithKeys = Client & { keys: ApiKeyInfo[] };

/** What a key's hash leads to. */
export interface KeyHolder {
  client: Client;
  keyId: string;
  revokedAt?: number;
}

/** Looks a client up by the SHA-256 of one of its keys (adapters/dynamo/clients.ts). */
export interface ClientDirectory {
  findByKeyHash(keyHash: string): Promise<KeyHolder | undefined>;
}

/** A key as it is stored: its hash only. */
export interface NewApiKey {
  keyId: string;
  keyHash: string;
  createdAt: number;
}

/**
 * What `npm run clients` needs from storage. Every change is conditional, so concurrent changes
 * never lose one another and a key item never outlives or misses its client's record of it.
 */
export interface ClientRegistry extends ClientDirectory {
  /** Writes the client and its first key together. */
  create(client: Client, key: NewApiKey): Promise<void>;
  /** Every client with its keys (ids and dates, never hashes), in order of creation. */
  list(): Promise<ClientWithKeys[]>;
  get(clientId: string): Promise<ClientWithKeys | undefined>;
  /** Throws UnknownClientError. */
  updatePolicy(clientId: string, policy: ClientPolicy, now: number): Promise<ClientWithKeys>;
  /** Throws UnknownClientError. */
  setStatus(clientId: string, status: ClientStatus, now: number): Promise<ClientWithKeys>;
  /** Throws UnknownClientError. */
  addKey(clientId: string, key: NewApiKey): Promise<void>;
  /** Throws UnknownClientError, or UnknownKeyError when the client has no such live key. */
  revokeKey(clientId: string, keyId: string, now: number): Promise<void>;
}

export class UnknownClientError extends Error {
  constructor(readonly clientId: string) {
    super(`No client with id ${clientId}.`);
    this.name = 'UnknownClientError';
  }
}

export class UnknownKeyError extends Error {
  constructor(
    readonly clientId: string,
    readonly keyId: string,
  ) {
    super(`Client ${clientId} has no live key ${keyId}.`);
    this.name = 'UnknownKeyError';
  }
}

/**
 * A client whose stored record breaks the rules (a hand-edited policy, an unknown status): its calls
 * are refused as a disabled client's are, never served under rules nobody checked.
 */
export class BrokenClientError extends Error {
  constructor(
    readonly clientId: string,
    message: string,
  ) {
    super(message);
    this.name = 'BrokenClientError';
  }
}

const API_KEY_PREFIX = 'otpk_';
/** `otpk_` and 32 random bytes in unpadded base64url. */
const API_KEY_PATTERN = /^otpk_[A-Za-z0-9_-]{43}$/;

/** A new API key: shown once, stored only as its hash. */
export function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** 256 random bits need no salt or slow hash: only this is stored, and it cannot be reversed. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('base64url');
}

export function isWellFormedApiKey(apiKey: string): boolean {
  return API_KEY_PATTERN.test(apiKey);
}

/** A short public name of a key, to list and revoke it by. */
export function newKeyId(): string {
  return `key_${randomBytes(6).toString('base64url')}`;
}

export function newClientId(): string {
  return `cli_${randomBytes(12).toString('base64url')}`;
}

/** How long a container trusts what it read about a key: a revoked key stops working within this. */
export const CLIENT_CACHE_MS = 60_000;
/** Keys remembered per container, the least recently used forgotten first. */
const KNOWN_KEYS = 1000;
/** Unknown keys remembered apart, so that a flood of made-up keys cannot push out the real ones. */
const UNKNOWN_KEYS = 1000;

/**
 * A directory that remembers each answer for `ttlMs`: a warm function pays no DynamoDB round trip to
 * know its caller. Unknown keys are remembered too, in a cache of their own. A failed read is not
 * remembered, except a broken client's, which would fail again.
 */
export function cachedDirectory(
  directory: ClientDirectory,
  now: () => number,
  ttlMs = CLIENT_CACHE_MS,
): ClientDirectory {
  type Entry = { holder: Promise<KeyHolder | undefined>; until: number };
  const known = new Map<string, Entry>();
  const unknown = new Map<string, Entry>();
  const remember = (cache: Map<string, Entry>, limit: number, keyHash: string, entry: Entry) => {
    cache.delete(keyHash);
    if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
    cache.set(keyHash, entry);
  };
  return {
    findByKeyHash(keyHash) {
      for (const cache of [known, unknown]) {
        const entry = cache.get(keyHash);
        if (!entry) continue;
        if (entry.until > now()) {
          // Map order is insertion order: re-inserting makes it the most recently used.
          if (cache === known) remember(known, KNOWN_KEYS, keyHash, entry);
          return entry.holder;
        }
        cache.delete(keyHash);
      }
      const entry: Entry = { holder: directory.findByKeyHash(keyHash), until: now() + ttlMs };
      remember(known, KNOWN_KEYS, keyHash, entry);
      entry.holder.then(
        (holder) => {
          if (holder === undefined && known.get(keyHash) === entry) {
            known.delete(keyHash);
            remember(unknown, UNKNOWN_KEYS, keyHash, entry);
          }
        },
        (error: unknown) => {
          if (!(error instanceof BrokenClientError) && known.get(keyHash) === entry) known.delete(keyHash);
        },
      );
      return entry.holder;
    },
  };
}

export interface IdentifyDeps {
  directory: ClientDirectory;
  now: () => number;
  /** Calls without a key are refused. */
  requireApiKey: boolean;
  /** Told about a broken stored client, which the caller only sees as disabled (the handlers pass theirs). */
  log?: CoreLog;
}

/**
 * The client an `X-API-Key` value belongs to; undefined for a call without a key where keys are not
 * required. A key that is unknown, malformed or revoked is refused even where keys are optional.
 */
export async function identifyClient(deps: IdentifyDeps, apiKey: string | undefined): Promise<Client | undefined> {
  // An empty header is a malformed key, not a missing one.
  if (apiKey === undefined) {
    if (deps.requireApiKey) throw new InvalidApiKeyError();
    return undefined;
  }
  if (!isWellFormedApiKey(apiKey)) throw new InvalidApiKeyError();
  let holder: KeyHolder | undefined;
  try {
    holder = await deps.directory.findByKeyHash(hashApiKey(apiKey));
  } catch (error) {
    if (!(error instanceof BrokenClientError)) throw error;
    deps.log?.warn('client refused: its stored record is broken', {
      brokenClientId: error.clientId,
      problem: error.message,
    });
    throw new ClientDisabledError();
  }
  if (!holder || (holder.revokedAt !== undefined && holder.revokedAt <= deps.now())) throw new InvalidApiKeyError();
  if (holder.client.status !== 'active') throw new ClientDisabledError();
  return holder.client;
}
