import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { IdempotencyClaim, IdempotencyCompletion, IdempotencyRecord } from '../../core/ports.js';
import type { Dynamo } from './client.js';
import { dueEntry, dueUpdate } from './due-index.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';

/**
 * Idempotency-Key records of sends (core/idempotency.ts). No transaction touches them, so no write
 * here can meet a TransactionConflict (retry.ts) and none is retried.
 */

/**
 * Takes the record in one conditional put: free, expired (TTL is lazy), or pending with its lease
 * run out. A refused put returns the record as it was (ALL_OLD), so that the caller learns who holds
 * the key without a read, and the answer is consistent with the condition that refused it.
 */
export async function takeIdempotencyKey(
  dynamo: Dynamo,
  claim: IdempotencyClaim,
): Promise<IdempotencyRecord | undefined> {
  const pk = stateKey.idempotency(claim.recordKey);
  try {
    await dynamo.client.send(
      new PutItemCommand({
        TableName: dynamo.tables.stateTable,
        Item: marshall({
          [STATE_PK]: pk,
          state: 'pending',
          fingerprint: claim.fingerprint,
          attempt: claim.attempt,
          leaseUntil: claim.leaseUntil,
          expiresAt: claim.expiresAt,
          [TTL]: ttlOf(claim.expiresAt),
          ...dueEntry(dynamo, pk, claim.expiresAt),
        }),
        ConditionExpression:
          'attribute_not_exists(#pk) OR #expiresAt <= :now OR (#state = :pending AND #leaseUntil <= :now)',
        ExpressionAttributeNames: {
          '#pk': STATE_PK,
          '#expiresAt': 'expiresAt',
          '#state': 'state',
          '#leaseUntil': 'leaseUntil',
        },
        ExpressionAttributeValues: marshall({ ':now': claim.now, ':pending': 'pending' }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return undefined;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const old = error.Item ? unmarshall(error.Item) : {};
    // This very claim: the SDK tried the put again after its first answer was lost on the way back.
    if (old.attempt === claim.attempt && old.state === 'pending') return undefined;
    const fingerprint = String(old.fingerprint ?? '');
    if (old.state === 'done' && typeof old.sealed === 'string') {
      return { state: 'done', fingerprint, sealed: old.sealed, expiresAt: Number(old.expiresAt ?? 0) };
    }
    return { state: 'pending', fingerprint, leaseUntil: Number(old.leaseUntil ?? 0) };
  }
}

/** Seals the answer onto the record, only while this attempt still holds it. */
export async function completeIdempotencyKey(dynamo: Dynamo, completion: IdempotencyCompletion): Promise<boolean> {
  const pk = stateKey.idempotency(completion.recordKey);
  const due = dueUpdate(dynamo, pk, completion.expiresAt);
  const set = ['#state = :done', '#sealed = :sealed', '#expiresAt = :expiresAt', '#ttl = :ttl', ...due.set];
  try {
    await dynamo.client.send(
      new UpdateItemCommand({
        TableName: dynamo.tables.stateTable,
        Key: marshall({ [STATE_PK]: pk }),
        UpdateExpression: `SET ${set.join(', ')} REMOVE #leaseUntil`,
        ConditionExpression: '#attempt = :attempt AND #state = :pending',
        ExpressionAttributeNames: {
          '#state': 'state',
          '#sealed': 'sealed',
          '#expiresAt': 'expiresAt',
          '#ttl': TTL,
          '#leaseUntil': 'leaseUntil',
          '#attempt': 'attempt',
          ...due.names,
        },
        ExpressionAttributeValues: marshall({
          ':done': 'done',
          ':pending': 'pending',
          ':sealed': completion.sealed,
          ':expiresAt': completion.expiresAt,
          ':ttl': ttlOf(completion.expiresAt),
          ':attempt': completion.attempt,
          ...due.values,
        }),
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Deletes the record if this attempt still holds it; a record taken over is not ours to delete. */
export async function releaseIdempotencyKey(dynamo: Dynamo, recordKey: string, attempt: string): Promise<void> {
  try {
    await dynamo.client.send(
      new DeleteItemCommand({
        TableName: dynamo.tables.stateTable,
        Key: marshall({ [STATE_PK]: stateKey.idempotency(recordKey) }),
        ConditionExpression: '#attempt = :attempt AND #state = :pending',
        ExpressionAttributeNames: { '#attempt': 'attempt', '#state': 'state' },
        ExpressionAttributeValues: marshall({ ':attempt': attempt, ':pending': 'pending' }),
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
