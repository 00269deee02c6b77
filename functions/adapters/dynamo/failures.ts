import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { FailureCount, GuessReservation, GuessReservationOutcome, ReservedGuess } from '../../core/ports.js';
import type { Dynamo } from './client.js';
import { dueEntry, dueUpdate } from './due-index.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';
import { retryConflicts } from './retry.js';

/**
 * A mailbox's run of wrong codes is one item (stateKey.failures):
 * - `failures`: wrong codes plus guesses reserved and not yet settled: the number every reservation
 *   is conditioned on, so that parallel guesses can never take more places than the cap;
 * - `pending`: the reserved guesses not yet settled; `failures - pending` is the wrong codes proven;
 * - `run`: an id of this run, so that a guess reserved before a right code ended the run (and
 *   deleted the item) cannot settle into, or give a place back to, the run that follows;
 * - `expiresAt`: a day after the last wrong code; only a wrong code moves it.
 * Items written before reservations existed have no `pending` and no `run`: their `failures` are
 * wrong codes, as `pending` absent (0) says.
 */
const wrongCodes = (item: Record<string, unknown>): number => Number(item.failures ?? 0) - Number(item.pending ?? 0);

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
  return expiresAt > now ? { count: wrongCodes(item), expiresAt } : { count: 0, expiresAt: now };
}

/**
 * Takes one place in the mailbox's run before the guess is compared: `ADD failures` conditioned on
 * `failures < limit`, so that no concurrency lets more guesses be compared than the limit allows.
 * A run whose window has passed (TTL has not deleted it yet) starts again at one.
 */
export async function reserveGuess(dynamo: Dynamo, request: GuessReservation): Promise<GuessReservationOutcome> {
  const { mailboxKey, now, limit } = request;
  const pk = stateKey.failures(mailboxKey);
  const expiresAt = now + request.windowMs;
  // Set only by the item's first write, like its expiry.
  const due = dueUpdate(dynamo, pk, expiresAt, true);
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await retryConflicts(() =>
        dynamo.client.send(
          new UpdateItemCommand({
            TableName: dynamo.tables.stateTable,
            Key: marshall({ [STATE_PK]: pk }),
            // The expiry is set only by the item's first write: a reservation is no wrong code, and a
            // guess against nothing must not keep a run alive.
            UpdateExpression: `ADD failures :one, pending :one SET ${[
              '#run = if_not_exists(#run, :run)',
              'expiresAt = if_not_exists(expiresAt, :expiresAt)',
              '#ttl = if_not_exists(#ttl, :ttl)',
              ...due.set,
            ].join(', ')}`,
            ConditionExpression: 'attribute_not_exists(#pk) OR (expiresAt > :now AND failures < :limit)',
            ExpressionAttributeNames: { '#pk': STATE_PK, '#run': 'run', '#ttl': TTL, ...due.names },
            ExpressionAttributeValues: marshall({
              ':one': 1,
              ':now': now,
              ':limit': limit,
              ':run': randomUUID(),
              ':expiresAt': expiresAt,
              ':ttl': ttlOf(expiresAt),
              ...due.values,
            }),
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      const item = unmarshall(result.Attributes ?? {});
      return {
        kind: 'reserved',
        guess: { mailboxKey, run: String(item.run) },
        place: Number(item.failures),
        expiresAt: Number(item.expiresAt),
      };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = error.Item ? unmarshall(error.Item) : {};
      const oldExpiry = Number(old.expiresAt ?? 0);
      if (oldExpiry > now) return { kind: 'refused', wrongCodes: wrongCodes(old), expiresAt: oldExpiry };
      if (attempt >= 3) throw error;
    }
    // The run expired but TTL has not deleted it yet: start a new one, unless another guess just did
    // (then reserve in it).
    const run = randomUUID();
    try {
      await retryConflicts(() =>
        dynamo.client.send(
          new PutItemCommand({
            TableName: dynamo.tables.stateTable,
            Item: marshall({
              [STATE_PK]: pk,
              failures: 1,
              pending: 1,
              run,
              expiresAt,
              [TTL]: ttlOf(expiresAt),
              ...dueEntry(dynamo, pk, expiresAt),
            }),
            ConditionExpression: 'expiresAt <= :now',
            ExpressionAttributeValues: marshall({ ':now': now }),
          }),
        ),
      );
      return { kind: 'reserved', guess: { mailboxKey, run }, place: 1, expiresAt };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

/**
 * The reserved guess was compared and was wrong: it stays counted, and the run now lapses a day
 * after it. Returns the wrong codes of the run, or 0 when a right code ended the run meanwhile.
 */
export async function settleWrongGuess(
  dynamo: Dynamo,
  guess: ReservedGuess,
  now: number,
  windowMs: number,
): Promise<number> {
  const pk = stateKey.failures(guess.mailboxKey);
  const expiresAt = now + windowMs;
  const due = dueUpdate(dynamo, pk, expiresAt);
  try {
    const result = await retryConflicts(() =>
      dynamo.client.send(
        new UpdateItemCommand({
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: pk }),
          UpdateExpression: `ADD pending :minusOne SET ${['expiresAt = :expiresAt', '#ttl = :ttl', ...due.set].join(', ')}`,
          ConditionExpression: '#run = :run',
          ExpressionAttributeNames: { '#run': 'run', '#ttl': TTL, ...due.names },
          ExpressionAttributeValues: marshall({
            ':minusOne': -1,
            ':run': guess.run,
            ':expiresAt': expiresAt,
            ':ttl': ttlOf(expiresAt),
            ...due.values,
          }),
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return wrongCodes(unmarshall(result.Attributes ?? {}));
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 0;
    throw error;
  }
}

/** The reserved guess was not compared (no live code, code used up, refused): its place is given back. */
export async function releaseGuess(dynamo: Dynamo, guess: ReservedGuess): Promise<void> {
  try {
    await retryConflicts(() =>
      dynamo.client.send(
        new UpdateItemCommand({
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: stateKey.failures(guess.mailboxKey) }),
          UpdateExpression: 'ADD failures :minusOne, pending :minusOne',
          ConditionExpression: '#run = :run AND pending > :zero',
          ExpressionAttributeNames: { '#run': 'run' },
          ExpressionAttributeValues: marshall({ ':minusOne': -1, ':zero': 0, ':run': guess.run }),
        }),
      ),
    );
  } catch (error) {
    // A right code ended the run meanwhile: there is nothing to give back.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
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
