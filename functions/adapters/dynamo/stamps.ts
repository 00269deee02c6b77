import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Dynamo } from './client.js';
import { dueUpdate } from './due-index.js';
import { STATE_PK, TTL, ttlOf } from './keys.js';
import { retryConflicts } from './retry.js';

/**
 * Sets `attribute` to `until` on a counter item that the writes it refuses check anyway (a lock, a
 * pause, a token-bound stage), unless the item holds a later time already. An item that does not
 * exist yet is created with the expiry its own counts will give it (`expiresAt`), so that its index
 * entry is written once.
 */
export async function stampUntil(
  dynamo: Dynamo,
  pk: string,
  attribute: string,
  until: number,
  expiresAt: number,
): Promise<void> {
  const due = dueUpdate(dynamo, pk, expiresAt);
  try {
    await retryConflicts(() =>
      dynamo.client.send(
        new UpdateItemCommand({
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: pk }),
          UpdateExpression: `SET ${['#stamp = :until', '#ttl = :ttl', ...due.set].join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#stamp) OR #stamp < :until',
          ExpressionAttributeNames: { '#stamp': attribute, '#ttl': TTL, ...due.names },
          ExpressionAttributeValues: marshall({
            ':until': until,
            ':ttl': ttlOf(expiresAt),
            ...due.values,
          }),
        }),
      ),
    );
  } catch (error) {
    // Stamped until later already, by a write that landed first.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
