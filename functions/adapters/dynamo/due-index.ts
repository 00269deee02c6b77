import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { HOUR_MS, windowOf } from '../../core/windows.js';
import { STATE_TABLE } from '../../tables.js';
import type { Dynamo } from './client.js';
import { dueBucket, kindOf, STATE_PK } from './keys.js';
import { retryConflicts } from './retry.js';

/**
 * The `due` index lists an item under the UTC hour it expires in, spread over a few shards so that
 * no index partition takes every write of an hour. The attributes change only with the expiry:
 * updates that leave them as they were cost no index write.
 */
const DUE_INDEX = STATE_TABLE.dueIndex;
const DUE_SHARDS = 4;

/** For an update expression: sets the index attributes from `dueValues`. */
export const DUE_SET = '#dueBucket = :dueBucket, #dueAt = :dueAt';
export const DUE_NAMES = { '#dueBucket': DUE_INDEX.partitionKey, '#dueAt': DUE_INDEX.sortKey };

/** The index bucket and sort value of an item expiring at `expiresAt`. */
function due(pk: string, expiresAt: number): { bucket: string; at: number } {
  let hash = 0;
  for (let i = 0; i < pk.length; i++) hash = (hash * 31 + pk.charCodeAt(i)) >>> 0;
  return { bucket: dueBucket(windowOf(expiresAt, HOUR_MS).index, hash % DUE_SHARDS), at: expiresAt };
}

/** As item attributes, for a put. */
export function dueEntry(pk: string, expiresAt: number): Record<string, string | number> {
  const { bucket, at } = due(pk, expiresAt);
  return { [DUE_INDEX.partitionKey]: bucket, [DUE_INDEX.sortKey]: at };
}

/** As expression values, for an update's DUE_SET. */
export function dueValues(pk: string, expiresAt: number): Record<string, string | number> {
  const { bucket, at } = due(pk, expiresAt);
  return { ':dueBucket': bucket, ':dueAt': at };
}

/**
 * Deletes items past their expiry that TTL has not removed yet, at most `limit`, oldest hours
 * first. Each delete re-checks the expiry, since an index entry can lag behind its item.
 */
export async function removeExpired(
  dynamo: Dynamo,
  now: number,
  limit: number,
  lookbackHours: number,
): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  let budget = limit;
  const current = windowOf(now, HOUR_MS).index;
  for (let hour = current - lookbackHours; hour <= current && budget > 0; hour++) {
    for (let shard = 0; shard < DUE_SHARDS && budget > 0; shard++) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamo.client.send(
          new QueryCommand({
            TableName: dynamo.tables.stateTable,
            IndexName: DUE_INDEX.name,
            KeyConditionExpression: '#dueBucket = :bucket AND #dueAt <= :now',
            ExpressionAttributeNames: DUE_NAMES,
            ExpressionAttributeValues: marshall({ ':bucket': dueBucket(hour, shard), ':now': now }),
            Limit: Math.min(budget, 100),
            ExclusiveStartKey: start,
          }),
        );
        const keys = (page.Items ?? []).flatMap((item) => {
          const pk: unknown = unmarshall(item)[STATE_PK];
          return typeof pk === 'string' ? [pk] : [];
        });
        const deleted = await Promise.all(keys.map((pk) => deleteIfDue(dynamo, pk, now)));
        keys.forEach((pk, index) => {
          if (!deleted[index]) return;
          const kind = kindOf(pk);
          removed[kind] = (removed[kind] ?? 0) + 1;
          budget--;
        });
        start = page.LastEvaluatedKey;
      } while (start && budget > 0);
    }
  }
  return removed;
}

async function deleteIfDue(dynamo: Dynamo, pk: string, now: number): Promise<boolean> {
  try {
    await retryConflicts(() =>
      dynamo.client.send(
        new DeleteItemCommand({
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: pk }),
          ConditionExpression: '#dueAt <= :now',
          ExpressionAttributeNames: { '#dueAt': DUE_INDEX.sortKey },
          ExpressionAttributeValues: marshall({ ':now': now }),
        }),
      ),
    );
    return true;
  } catch (error) {
    // Already gone, or given a later expiry since the index was read.
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
