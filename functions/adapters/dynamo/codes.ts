import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  type TransactWriteItem,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttemptOutcome, CodeRef, StoredCode } from '../../core/ports.js';
import type { Channel } from '../../core/purposes.js';
import type { Dynamo } from './client.js';
import { dueEntry } from './due-index.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';
import { retryConflicts } from './retry.js';

export const codeKeyOf = (code: CodeRef) => stateKey.code(code.targetKey, code.purpose);

/**
 * The transaction item that consumes a code with what it grants (a session, a target given to a
 * customer): only the code that was checked, only while it lives, so a code yields one grant.
 */
export function consumeCode(dynamo: Dynamo, code: CodeRef, codeHash: string, now: number): TransactWriteItem {
  return {
    Delete: {
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: codeKeyOf(code) }),
      ConditionExpression: 'codeHash = :hash AND expiresAt > :now',
      ExpressionAttributeValues: marshall({ ':hash': codeHash, ':now': now }),
    },
  };
}

/** Stores a code, replacing any earlier code for the same target and purpose. */
export async function saveCode(dynamo: Dynamo, code: StoredCode): Promise<void> {
  const pk = codeKeyOf(code);
  await retryConflicts(() =>
    dynamo.client.send(
      new PutItemCommand({
        TableName: dynamo.tables.stateTable,
        Item: marshall({
          [STATE_PK]: pk,
          codeHash: code.codeHash,
          tokenHash: code.tokenHash,
          maxAttempts: code.maxAttempts,
          ...(code.requireToken ? { requireToken: true } : {}),
          ...(code.testTarget ? { testTarget: true } : {}),
          ...(code.issuedTo ? { issuedTo: code.issuedTo } : {}),
          ...(code.customerId ? { customerId: code.customerId } : {}),
          attempts: 0,
          channel: code.channel,
          ...(code.country ? { country: code.country } : {}),
          sentAt: code.sentAt,
          expiresAt: code.expiresAt,
          [TTL]: ttlOf(code.expiresAt),
          ...dueEntry(dynamo, pk, code.expiresAt),
        }),
      }),
    ),
  );
}

/** Removes a code that could not be delivered, unless a newer code has replaced it. */
export async function discardCode(dynamo: Dynamo, code: CodeRef, codeHash: string): Promise<void> {
  try {
    await retryConflicts(() =>
      dynamo.client.send(
        new DeleteItemCommand({
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: codeKeyOf(code) }),
          ConditionExpression: 'codeHash = :hash',
          ExpressionAttributeValues: marshall({ ':hash': codeHash }),
        }),
      ),
    );
  } catch (error) {
    // A newer code replaced this one: it is not ours to delete.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * Counts one attempt before any comparison; refused once the code's attempts are used up or it
 * expired. The limit is the one stored with the code by its sender (`maxAttempts` only for a code
 * stored before codes carried one). With a token, the condition also requires the code to be that
 * token's; without one, a code that requires its token is not counted. A guess that may not use the
 * code spends none of its attempts.
 */
export async function recordAttempt(
  dynamo: Dynamo,
  code: CodeRef,
  now: number,
  maxAttempts: number,
  tokenHash?: string,
): Promise<AttemptOutcome> {
  const token = tokenHash === undefined ? 'attribute_not_exists(requireToken)' : 'tokenHash = :token';
  try {
    const result = await retryConflicts(() =>
      dynamo.client.send(
        new UpdateItemCommand({
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: codeKeyOf(code) }),
          UpdateExpression: 'ADD attempts :one',
          ConditionExpression:
            'attribute_exists(#pk) AND expiresAt > :now AND ' +
            '(attempts < maxAttempts OR (attribute_not_exists(maxAttempts) AND attempts < :max)) AND ' +
            token,
          ExpressionAttributeNames: { '#pk': STATE_PK },
          ExpressionAttributeValues: marshall({
            ':one': 1,
            ':max': maxAttempts,
            ':now': now,
            ...(tokenHash === undefined ? {} : { ':token': tokenHash }),
          }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    const item = unmarshall(result.Attributes ?? {});
    return {
      kind: 'counted',
      codeHash: String(item.codeHash ?? ''),
      channel: item.channel as Channel,
      testTarget: item.testTarget === true,
      issuedTo: typeof item.issuedTo === 'string' ? item.issuedTo : undefined,
      customerId: typeof item.customerId === 'string' ? item.customerId : undefined,
      ...(typeof item.country === 'string' ? { sms: { country: item.country, sentAt: Number(item.sentAt) } } : {}),
      attempts: Number(item.attempts ?? 1),
      requireToken: item.requireToken === true,
    };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const old = error.Item ? unmarshall(error.Item) : undefined;
    if (!old || Number(old.expiresAt ?? 0) <= now) return { kind: 'missing' };
    // Another token's code, or a code that wants its token, is to this caller no code at all.
    if (tokenHash === undefined ? old.requireToken === true : old.tokenHash !== tokenHash) return { kind: 'missing' };
    return { kind: 'exhausted' };
  }
}

/**
 * Gives back an attempt counted for a guess that was then not compared (its target refused it), so
 * that a code's attempts count only comparisons: a guess refused for its target must not use up a
 * code it never tried. Only while the code is the one counted (same hash) and still holds attempts.
 */
export async function releaseAttempt(dynamo: Dynamo, code: CodeRef, codeHash: string): Promise<void> {
  try {
    await retryConflicts(() =>
      dynamo.client.send(
        new UpdateItemCommand({
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: codeKeyOf(code) }),
          UpdateExpression: 'ADD attempts :minusOne',
          ConditionExpression: 'codeHash = :hash AND attempts > :zero',
          ExpressionAttributeValues: marshall({ ':minusOne': -1, ':zero': 0, ':hash': codeHash }),
        }),
      ),
    );
  } catch (error) {
    // Consumed or replaced meanwhile: nothing to give back.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
