import {
  type CancellationReason,
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoClientRegistry } from '../../../functions/adapters/dynamo/clients.js';
import { UnknownClientError, UnknownKeyError } from '../../../functions/core/clients.js';

// What DynamoDB answers when a revoke or add-key loses a race after the registry read the client:
// DynamoDB Local serialises the writes, so these orders are injected at the SDK boundary.
const dynamo = mockClient(DynamoDBClient);
const registry = new DynamoClientRegistry(new DynamoDBClient({ region: 'us-east-1' }), 'clients');

const CLIENT_ITEM = {
  pk: 'client#cli_a',
  id: 'cli_a',
  name: 'Kiosk',
  status: 'active',
  policy: {},
  createdAt: 1,
  updatedAt: 1,
  keys: { key_a: { keyHash: 'hash-a', createdAt: 1 } },
};

const cancelled = (reasons: CancellationReason[]) =>
  new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: reasons });
const refused = (item?: Record<string, unknown>): CancellationReason => ({
  Code: 'ConditionalCheckFailed',
  ...(item ? { Item: marshall(item) } : {}),
});

beforeEach(() => {
  dynamo.reset();
  dynamo.on(GetItemCommand).resolves({ Item: marshall(CLIENT_ITEM) });
});

describe('revokeKey when the transaction is refused after the read', () => {
  it('is UnknownKeyError when another revoke got there first', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled([refused(), refused(CLIENT_ITEM)]));
    await expect(registry.revokeKey('cli_a', 'key_a', 2)).rejects.toThrow(UnknownKeyError);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
  });

  it('is UnknownClientError when the client item is gone', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled([{ Code: 'None' }, refused()]));
    await expect(registry.revokeKey('cli_a', 'key_a', 2)).rejects.toThrow(UnknownClientError);
  });

  it('writes both items under conditions that a parallel revoke cannot pass', async () => {
    dynamo.on(TransactWriteItemsCommand).resolves({});
    await registry.revokeKey('cli_a', 'key_a', 2);
    const [call] = dynamo.commandCalls(TransactWriteItemsCommand);
    const [keyItem, clientItem] = call?.args[0].input.TransactItems ?? [];
    expect(keyItem?.Update?.Key).toEqual(marshall({ pk: 'apikey#hash-a' }));
    expect(keyItem?.Update?.ConditionExpression).toContain('attribute_not_exists(revokedAt)');
    expect(clientItem?.Update?.ConditionExpression).toBe(
      'attribute_exists(#keys.#kid) AND attribute_not_exists(#keys.#kid.revokedAt)',
    );
  });

  it('does not write at all for a key the read shows revoked', async () => {
    dynamo.on(GetItemCommand).resolves({
      Item: marshall({ ...CLIENT_ITEM, keys: { key_a: { keyHash: 'hash-a', createdAt: 1, revokedAt: 2 } } }),
    });
    await expect(registry.revokeKey('cli_a', 'key_a', 3)).rejects.toThrow(UnknownKeyError);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 0);
  });
});

describe('addKey when the transaction is refused', () => {
  it('is UnknownClientError when there is no client item', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled([{ Code: 'None' }, refused()]));
    await expect(registry.addKey('cli_a', { keyId: 'key_b', keyHash: 'hash-b', createdAt: 2 })).rejects.toThrow(
      UnknownClientError,
    );
  });

  it('is passed on as it is when the key item exists already (a hash collision, never a silent overwrite)', async () => {
    const error = cancelled([refused(), { Code: 'None' }]);
    dynamo.on(TransactWriteItemsCommand).rejects(error);
    await expect(registry.addKey('cli_a', { keyId: 'key_b', keyHash: 'hash-a', createdAt: 2 })).rejects.toBe(error);
  });

  it('is tried again while only other transactions are in the way', async () => {
    dynamo
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled([{ Code: 'None' }, { Code: 'TransactionConflict' }]))
      .resolves({});
    await registry.addKey('cli_a', { keyId: 'key_b', keyHash: 'hash-b', createdAt: 2 });
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 2);
  });
});
