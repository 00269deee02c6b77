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
 * The expiry sweep (OTP_EXPIRY_SWEEP, off by default): with it, every item that expires lists itself
 * in the sparse `due` index under the UTC hour it expires in, spread over a few shards so that no
 * index partition takes every write of an hour, and the scheduled cleanup deletes what has expired
 * before TTL does. Without it, items carry no index attributes, the table has no `due` index, and
 * TTL alone removes expired items (free, within a few days); every condition checks expiry itself, so
 * an expired item is never honoured either way. The attributes change only with the expiry: updates
 * that leave them as they were cost no index write.
 */
const DUE_INDEX = STATE_TABLE.dueIndex;
const DUE_SHARDS = 4;

/** Whether a store lists its items in the `due` index; `Dynamo` carries it (client.ts). */
export interface ExpirySweep {
  expirySweep?: boolean;
}

/** The index bucket and sort value of an item expiring at `expiresAt`. */
function due(pk: string, expiresAt: number): { bucket: string; at: number } {
  let hash = 0;
  for (let i = 0; i < pk.length; i++) hash = (hash * 31 + pk.charCodeAt(i)) >>> 0;
  return { bucket: dueBucket(windowOf(expiresAt, HOUR_MS).index, hash % DUE_SHARDS), at: expiresAt };
}

/** As item attributes, for a put; none without the sweep. */
export function dueEntry(sweep: ExpirySweep, pk: string, expiresAt: number): Record<string, string | number> {
  if (!sweep.expirySweep) return {};
  const { bucket, at } = due(pk, expiresAt);
  return { [DUE_INDEX.partitionKey]: bucket, [DUE_INDEX.sortKey]: at };
}

/** An update's part of setting the index attributes: clauses for its SET, and their names and values. */
export interface DueUpdate {
  set: string[];
  names: Record<string, string>;
  values: Record<string, string | number>;
}

/**
 * For an update expression: sets the index attributes (`keep`: only where the item has none yet);
 * nothing without the sweep, so that the expression names no attribute it does not use.
 */
export function dueUpdate(sweep: ExpirySweep, pk: string, expiresAt: number, keep = false): DueUpdate {
  if (!sweep.expirySweep) return { set: [], names: {}, values: {} };
  const { bucket, at } = due(pk, expiresAt);
  const clause = (name: string, value: string) =>
    keep ? `${name} = if_not_exists(${name}, ${value})` : `${name} = ${value}`;
  return {
    set: [clause('#dueBucket', ':dueBucket'), clause('#dueAt', ':dueAt')],
    names: { '#dueBucket': DUE_INDEX.partitionKey, '#dueAt': DUE_INDEX.sortKey },
    values: { ':dueBucket': bucket, ':dueAt': at },
  };
}

/**
 * Deletes items past their expiry that TTL has not removed yet, at most `limit`, oldest hours
 * first. Each delete re-checks the expiry, since an index entry can lag behind its item. Without the
 * sweep there is no index to read: nothing.
 */
export async function removeExpired(
  dynamo: Dynamo,
  now: number,
  limit: number,
  lookbackHours: number,
): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  if (!dynamo.expirySweep) return removed;
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
            ExpressionAttributeNames: { '#dueBucket': DUE_INDEX.partitionKey, '#dueAt': DUE_INDEX.sortKey },
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
