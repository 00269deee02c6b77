import type { ClientPolicy } from './client-policy.js';
import {
  type ApiKeyInfo,
  type ClientRegistry,
  type ClientStatus,
  type ClientWithKeys,
  hashApiKey,
  newApiKey,
  newClientId,
  newKeyId,
  UnknownClientError,
} from './clients.js';
import { parsePolicy } from '../policy-rules.js';

/**
 * The use cases of `npm run clients` (functions/clients/main.ts). What they return is what the
 * operator sees: dates as ISO strings, keys by their public id, and an API key only from the two
 * calls that create one, since nothing can show it again.
 */
export interface ManageDeps {
  registry: ClientRegistry;
  now: () => number;
}

export interface KeyView {
  keyId: string;
  createdAt: string;
  /** null while the key works. */
  revokedAt: string | null;
}

export interface ClientView {
  clientId: string;
  name: string;
  status: ClientStatus;
  policy: ClientPolicy;
  createdAt: string;
  updatedAt: string;
  keys: KeyView[];
}

export interface NewClient {
  clientId: string;
  name: string;
  status: ClientStatus;
  policy: ClientPolicy;
  apiKey: string;
  keyId: string;
}

export interface NewKey {
  clientId: string;
  keyId: string;
  apiKey: string;
}

export interface RevokedKey {
  clientId: string;
  keyId: string;
  revokedAt: string;
}

/** Input that breaks a rule, named by its field. */
export class ClientInputError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ClientInputError';
  }
}

export const MAX_NAME_LENGTH = 100;
// Control characters and line breaks would garble the one-line listings and log lines a name lands in.
const UNPRINTABLE = /[\p{Cc}\u2028\u2029]/u;

/** The name, trimmed; throws ClientInputError naming `name`. */
export function checkName(input: string): string {
  const name = input.trim();
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_LENGTH) {
    throw new ClientInputError('name', `must be 1 to ${MAX_NAME_LENGTH} characters (got ${length} after trimming)`);
  }
  if (UNPRINTABLE.test(name)) throw new ClientInputError('name', 'must not contain control characters or line breaks');
  return name;
}

/** Creates a client with its first key; the key is in the answer and nowhere else. */
export async function addClient(deps: ManageDeps, name: string, policyInput: unknown = {}): Promise<NewClient> {
  const checkedName = checkName(name);
  const policy = parsePolicy(policyInput);
  const now = deps.now();
  const clientId = newClientId();
  const apiKey = newApiKey();
  const keyId = newKeyId();
  await deps.registry.create(
    { id: clientId, name: checkedName, status: 'active', policy, createdAt: now, updatedAt: now },
    { keyId, keyHash: hashApiKey(apiKey), createdAt: now },
  );
  return { clientId, name: checkedName, status: 'active', policy, apiKey, keyId };
}

/** A further key for a client, so that an app can move to a new key before the old one is revoked. */
export async function addKey(deps: ManageDeps, clientId: string): Promise<NewKey> {
  const apiKey = newApiKey();
  const keyId = newKeyId();
  await deps.registry.addKey(clientId, { keyId, keyHash: hashApiKey(apiKey), createdAt: deps.now() });
  return { clientId, keyId, apiKey };
}

/** Throws UnknownClientError, or UnknownKeyError when the key is unknown or already revoked. */
export async function revokeKey(deps: ManageDeps, clientId: string, keyId: string): Promise<RevokedKey> {
  const now = deps.now();
  await deps.registry.revokeKey(clientId, keyId, now);
  return { clientId, keyId, revokedAt: iso(now) };
}

/** Replaces the whole policy: fields left out take the deployment's values again. */
export async function updatePolicy(deps: ManageDeps, clientId: string, policyInput: unknown): Promise<ClientView> {
  const policy = parsePolicy(policyInput);
  return viewOf(await deps.registry.updatePolicy(clientId, policy, deps.now()));
}

export async function disableClient(deps: ManageDeps, clientId: string): Promise<ClientView> {
  return viewOf(await deps.registry.setStatus(clientId, 'disabled', deps.now()));
}

export async function enableClient(deps: ManageDeps, clientId: string): Promise<ClientView> {
  return viewOf(await deps.registry.setStatus(clientId, 'active', deps.now()));
}

export async function listClients(deps: ManageDeps): Promise<ClientView[]> {
  return (await deps.registry.list()).map(viewOf);
}

/** Throws UnknownClientError. */
export async function showClient(deps: ManageDeps, clientId: string): Promise<ClientView> {
  const client = await deps.registry.get(clientId);
  if (!client) throw new UnknownClientError(clientId);
  return viewOf(client);
}

function viewOf(client: ClientWithKeys): ClientView {
  return {
    clientId: client.id,
    name: client.name,
    status: client.status,
    policy: client.policy,
    createdAt: iso(client.createdAt),
    updatedAt: iso(client.updatedAt),
    keys: client.keys.map(keyView),
  };
}

function keyView(key: ApiKeyInfo): KeyView {
  return {
    keyId: key.keyId,
    createdAt: iso(key.createdAt),
    revokedAt: key.revokedAt === undefined ? null : iso(key.revokedAt),
  };
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();
