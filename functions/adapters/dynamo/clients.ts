import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  type TransactWriteItem,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ClientPolicy } from '../../core/client-policy.js';
import {
  type ApiKeyInfo,
  CLIENT_STATUSES,
  type Client,
  type ClientRegistry,
  type ClientStatus,
  type ClientWithKeys,
  type KeyHolder,
  type NewApiKey,
  UnknownClientError,
  UnknownKeyError,
  BrokenClientError,
} from '../../core/clients.js';
import { checkPolicy, PolicyError } from '../../policy-rules.js';
import type { Dynamo } from './client.js';
import { CLIENT_PK, clientsKey } from './keys.js';
import { cancellationReasons, retryConflicts, transact } from './retry.js';

/**
 * A client's item: name, status, policy and a map of its keys (keyId -> {keyHash, createdAt,
 * revokedAt?}). The hash is kept there so that a key named by its public id can be revoked; it never
 * leaves this module.
 */
interface StoredKey {
  keyHash: string;
  createdAt: number;
  revokedAt?: number;
}

/** The item that leads from a key's SHA-256 to its client: one read for an unknown key. */
interface StoredApiKey {
  clientId: string;
  keyId: string;
  createdAt: number;
  revokedAt?: number;
}

/** A stored client that cannot be read as one: refused rather than guessed at. */
export class StoredClientError extends BrokenClientError {
  constructor(clientId: string, problem: string) {
    super(clientId, `The stored client ${clientId} is broken: ${problem}.`);
    this.name = 'StoredClientError';
  }
}

const CLIENT_PREFIX = clientsKey.client('');

/**
 * The clients table on DynamoDB. Every rule that must hold while operators and functions act at once
 * is a condition expression: a key item is written and revoked in the same transaction as its entry
 * in the client's item, so the two never disagree, and each key's entry is updated by its own path
 * (`keys.<keyId>`), so concurrent key changes of one client never overwrite one another.
 */
export class DynamoClientRegistry implements ClientRegistry {
  private readonly dynamo: Dynamo;

  constructor(
    client: DynamoDBClient,
    private readonly clientsTable: string,
    /** Items read per Scan request of `list`; DynamoDB's own 1 MB page when undefined. */
    private readonly pageSize?: number,
  ) {
    // retry.ts takes the store's Dynamo; this registry only ever names the clients table.
    this.dynamo = { client, tables: { clientsTable, stateTable: '', customersTable: '' } };
  }

  async findByKeyHash(keyHash: string): Promise<KeyHolder | undefined> {
    const apiKey = await this.read(clientsKey.apiKey(keyHash));
    if (!apiKey) return undefined;
    const { clientId, keyId, revokedAt } = apiKey as unknown as StoredApiKey;
    const item = await this.read(clientsKey.client(String(clientId)));
    // Both items are written in one transaction; a key without its client's record is no key.
    const stored = item ? storedKeys(item)[keyId] : undefined;
    if (!item || !stored || stored.keyHash !== keyHash) return undefined;
    const holder: KeyHolder = { client: clientFrom(item), keyId };
    const revoked = revokedAt ?? stored.revokedAt;
    if (revoked !== undefined) holder.revokedAt = revoked;
    return holder;
  }

  async create(client: Client, key: NewApiKey): Promise<void> {
    const stored: StoredKey = { keyHash: key.keyHash, createdAt: key.createdAt };
    await transact(this.dynamo, [
      {
        Put: {
          TableName: this.clientsTable,
          Item: marshall(
            {
              [CLIENT_PK]: clientsKey.client(client.id),
              id: client.id,
              name: client.name,
              status: client.status,
              policy: client.policy,
              createdAt: client.createdAt,
              updatedAt: client.updatedAt,
              keys: { [key.keyId]: stored },
            },
            { removeUndefinedValues: true },
          ),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': CLIENT_PK },
        },
      },
      this.putApiKey(client.id, key),
    ]);
  }

  async list(): Promise<ClientWithKeys[]> {
    const clients: ClientWithKeys[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamo.client.send(
        new ScanCommand({
          TableName: this.clientsTable,
          // Key items outnumber clients and carry nothing to list.
          FilterExpression: 'begins_with(#pk, :prefix)',
          ExpressionAttributeNames: { '#pk': CLIENT_PK },
          ExpressionAttributeValues: marshall({ ':prefix': CLIENT_PREFIX }),
          ConsistentRead: true,
          Limit: this.pageSize,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) clients.push(clientWithKeysFrom(unmarshall(item)));
      start = page.LastEvaluatedKey;
    } while (start);
    return clients.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async get(clientId: string): Promise<ClientWithKeys | undefined> {
    const item = await this.read(clientsKey.client(clientId));
    return item ? clientWithKeysFrom(item) : undefined;
  }

  updatePolicy(clientId: string, policy: ClientPolicy, now: number): Promise<ClientWithKeys> {
    return this.update(clientId, 'policy', policy, now);
  }

  setStatus(clientId: string, status: ClientStatus, now: number): Promise<ClientWithKeys> {
    return this.update(clientId, 'status', status, now);
  }

  async addKey(clientId: string, key: NewApiKey): Promise<void> {
    const stored: StoredKey = { keyHash: key.keyHash, createdAt: key.createdAt };
    try {
      await transact(this.dynamo, [
        this.putApiKey(clientId, key),
        {
          Update: {
            TableName: this.clientsTable,
            Key: marshall({ [CLIENT_PK]: clientsKey.client(clientId) }),
            // Only this key's path is written: keys added at the same time all stay.
            UpdateExpression: 'SET #keys.#kid = :key',
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#keys.#kid)',
            ExpressionAttributeNames: { '#pk': CLIENT_PK, '#keys': 'keys', '#kid': key.keyId },
            ExpressionAttributeValues: marshall({ ':key': stored }),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ]);
    } catch (error) {
      const [, clientReason] = cancellationReasons(error);
      if (clientReason?.Code === 'ConditionalCheckFailed' && !clientReason.Item) {
        throw new UnknownClientError(clientId);
      }
      throw error;
    }
  }

  async revokeKey(clientId: string, keyId: string, now: number): Promise<void> {
    // The key item is addressed by the hash, which only the client's item knows.
    const item = await this.read(clientsKey.client(clientId));
    if (!item) throw new UnknownClientError(clientId);
    const stored = storedKeys(item)[keyId];
    if (!stored || stored.revokedAt !== undefined) throw new UnknownKeyError(clientId, keyId);
    try {
      await transact(this.dynamo, [
        {
          Update: {
            TableName: this.clientsTable,
            Key: marshall({ [CLIENT_PK]: clientsKey.apiKey(stored.keyHash) }),
            UpdateExpression: 'SET revokedAt = :now',
            ConditionExpression: 'attribute_exists(#pk) AND clientId = :cid AND attribute_not_exists(revokedAt)',
            ExpressionAttributeNames: { '#pk': CLIENT_PK },
            ExpressionAttributeValues: marshall({ ':now': now, ':cid': clientId }),
          },
        },
        {
          Update: {
            TableName: this.clientsTable,
            Key: marshall({ [CLIENT_PK]: clientsKey.client(clientId) }),
            UpdateExpression: 'SET #keys.#kid.revokedAt = :now',
            // Checked again here, not trusted from the read above: a parallel revoke may have won.
            ConditionExpression: 'attribute_exists(#keys.#kid) AND attribute_not_exists(#keys.#kid.revokedAt)',
            ExpressionAttributeNames: { '#keys': 'keys', '#kid': keyId },
            ExpressionAttributeValues: marshall({ ':now': now }),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ]);
    } catch (error) {
      const [keyReason, clientReason] = cancellationReasons(error);
      if (clientReason?.Code === 'ConditionalCheckFailed' && !clientReason.Item) {
        throw new UnknownClientError(clientId);
      }
      if (keyReason?.Code === 'ConditionalCheckFailed' || clientReason?.Code === 'ConditionalCheckFailed') {
        throw new UnknownKeyError(clientId, keyId);
      }
      throw error;
    }
  }

  private putApiKey(clientId: string, key: NewApiKey): TransactWriteItem {
    const item: StoredApiKey = { clientId, keyId: key.keyId, createdAt: key.createdAt };
    return {
      Put: {
        TableName: this.clientsTable,
        Item: marshall({ [CLIENT_PK]: clientsKey.apiKey(key.keyHash), ...item }),
        // A key item is never replaced: that would move a key from one client to another.
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CLIENT_PK },
      },
    };
  }

  private async update(
    clientId: string,
    attribute: 'policy' | 'status',
    value: ClientPolicy | ClientStatus,
    now: number,
  ): Promise<ClientWithKeys> {
    try {
      const result = await retryConflicts(() =>
        this.dynamo.client.send(
          new UpdateItemCommand({
            TableName: this.clientsTable,
            Key: marshall({ [CLIENT_PK]: clientsKey.client(clientId) }),
            UpdateExpression: 'SET #attribute = :value, updatedAt = :now',
            // Without it, an update of an unknown id would create a client with no name and no keys.
            ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: { '#pk': CLIENT_PK, '#attribute': attribute },
            ExpressionAttributeValues: marshall({ ':value': value, ':now': now }, { removeUndefinedValues: true }),
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return clientWithKeysFrom(unmarshall(result.Attributes ?? {}));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new UnknownClientError(clientId);
      throw error;
    }
  }

  private async read(pk: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.dynamo.client.send(
      new GetItemCommand({
        TableName: this.clientsTable,
        Key: marshall({ [CLIENT_PK]: pk }),
        // A key must work the moment `add` prints it: an eventually consistent miss would be
        // cached as unknown for a minute. Callers cache, so the doubled read cost is paid rarely.
        ConsistentRead: true,
      }),
    );
    return result.Item ? unmarshall(result.Item) : undefined;
  }
}

function storedKeys(item: Record<string, unknown>): Record<string, StoredKey> {
  const keys = item.keys;
  return typeof keys === 'object' && keys !== null ? (keys as Record<string, StoredKey>) : {};
}

/**
 * A client as the functions use it. The policy is checked again by the rules it was written with: a
 * hand-edited or older item must not widen what a client may do, so a broken one is refused whole.
 */
function clientFrom(item: Record<string, unknown>): Client {
  const id = typeof item.id === 'string' ? item.id : String(item[CLIENT_PK]).slice(CLIENT_PREFIX.length);
  if (typeof item.name !== 'string') throw new StoredClientError(id, 'it has no name');
  const status = item.status as ClientStatus;
  if (!CLIENT_STATUSES.includes(status)) throw new StoredClientError(id, `status "${String(status)}" is unknown`);
  let policy: ClientPolicy;
  try {
    policy = checkPolicy(item.policy ?? {});
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    throw new StoredClientError(id, `${error.message}; replace the policy with \`npm run clients -- update ${id}\``);
  }
  return {
    id,
    name: item.name,
    status,
    policy,
    createdAt: Number(item.createdAt ?? 0),
    updatedAt: Number(item.updatedAt ?? item.createdAt ?? 0),
  };
}

function clientWithKeysFrom(item: Record<string, unknown>): ClientWithKeys {
  const keys: ApiKeyInfo[] = Object.entries(storedKeys(item)).map(([keyId, stored]) => ({
    keyId,
    createdAt: Number(stored.createdAt),
    ...(stored.revokedAt === undefined ? {} : { revokedAt: Number(stored.revokedAt) }),
  }));
  keys.sort((a, b) => a.createdAt - b.createdAt || a.keyId.localeCompare(b.keyId));
  return { ...clientFrom(item), keys };
}
