import { createHash, randomBytes } from 'node:crypto';
import type { ClientPolicy } from './client-policy.js';
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
/** Keys remembered per container; the oldest is forgotten first. */
const CLIENT_CACHE_ENTRIES = 1000;

/**
 * A directory that remembers each answer, unknown keys included, for `ttlMs`: a warm function pays
 * no DynamoDB round trip to know its caller.
 */
export function cachedDirectory(
  directory: ClientDirectory,
  now: () => number,
  ttlMs = CLIENT_CACHE_MS,
): ClientDirectory {
  const entries = new Map<string, { holder: Promise<KeyHolder | undefined>; until: number }>();
  return {
    findByKeyHash(keyHash) {
      const cached = entries.get(keyHash);
      if (cached && cached.until > now()) return cached.holder;
      entries.delete(keyHash);
      if (entries.size >= CLIENT_CACHE_ENTRIES) entries.delete(entries.keys().next().value as string);
      const holder = directory.findByKeyHash(keyHash);
      entries.set(keyHash, { holder, until: now() + ttlMs });
      // A failed read is not an answer: the next call asks again.
      holder.catch(() => entries.delete(keyHash));
      return holder;
    },
  };
}

export interface IdentifyDeps {
  directory: ClientDirectory;
  now: () => number;
  /** Calls without a key are refused. */
  requireApiKey: boolean;
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
  const holder = await deps.directory.findByKeyHash(hashApiKey(apiKey));
  if (!holder || (holder.revokedAt !== undefined && holder.revokedAt <= deps.now())) throw new InvalidApiKeyError();
  if (holder.client.status !== 'active') throw new ClientDisabledError();
  return holder.client;
}
