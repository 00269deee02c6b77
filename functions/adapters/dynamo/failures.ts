import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { FailureCount } from '../../core/ports.js';
import type { Dynamo } from './client.js';
import { DUE_NAMES, DUE_SET, dueEntry, dueValues } from './due-index.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';
import { retryConflicts } from './retry.js';

/** Consecutive failed verifications of a mailbox (any of its tags), while the last one is under a window old. */
export async function failures(dynamo: Dynamo, mailboxKey: string, now: number): Promise<FailureCount> {
  const result = await dynamo.client.send(
    new GetItemCommand({
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: stateKey.failures(mailboxKey) }),
    }),
  );
  const item = result.Item ? unmarshall(result.Item) : {};
  const expiresAt = Number(item.expiresAt ?? 0);
  return expiresAt > now ? { count: Number(item.failures ?? 0), expiresAt } : { count: 0, expiresAt: now };
}

/** Counts a wrong code and returns the count; it lapses `windowMs` after the last failure. */
export async function recordFailure(
  dynamo: Dynamo,
  mailboxKey: string,
  now: number,
  windowMs: number,
): Promise<number> {
  const pk = stateKey.failures(mailboxKey);
  const expiresAt = now + windowMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await retryConflicts(() =>
        dynamo.client.send(
          new UpdateItemCommand({
            TableName: dynamo.tables.stateTable,
            Key: marshall({ [STATE_PK]: pk }),
            UpdateExpression: `ADD failures :one SET expiresAt = :expiresAt, #ttl = :ttl, ${DUE_SET}`,
            ConditionExpression: 'attribute_not_exists(#pk) OR expiresAt > :now',
            ExpressionAttributeNames: { '#pk': STATE_PK, '#ttl': TTL, ...DUE_NAMES },
            ExpressionAttributeValues: marshall({
              ':one': 1,
              ':now': now,
              ':expiresAt': expiresAt,
              ':ttl': ttlOf(expiresAt),
              ...dueValues(pk, expiresAt),
            }),
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      );
      return Number(unmarshall(result.Attributes ?? {}).failures ?? 1);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || attempt >= 3) throw error;
    }
    // The count expired but TTL has not deleted it yet: start again from one, unless another
    // failure just did (then count on top of it).
    try {
      await retryConflicts(() =>
        dynamo.client.send(
          new PutItemCommand({
            TableName: dynamo.tables.stateTable,
            Item: marshall({
              [STATE_PK]: pk,
              failures: 1,
              expiresAt,
              [TTL]: ttlOf(expiresAt),
              ...dueEntry(pk, expiresAt),
            }),
            ConditionExpression: 'expiresAt <= :now',
            ExpressionAttributeValues: marshall({ ':now': now }),
          }),
        ),
      );
      return 1;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

/** A successful verification ends the run of failures. */
export async function clearFailures(dynamo: Dynamo, mailboxKey: string): Promise<void> {
  await retryConflicts(() =>
    dynamo.client.send(
      new DeleteItemCommand({
        TableName: dynamo.tables.stateTable,
        Key: marshall({ [STATE_PK]: stateKey.failures(mailboxKey) }),
      }),
    ),
  );
}
