import {
  type CancellationReason,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { Dynamo } from './client.js';

/** Writes that collide with a transaction in flight are tried this often before giving up. */
const CONFLICT_TRIES = 5;

/**
 * A single-item write that meets a running transaction on the same item is refused with
 * TransactionConflictException, which the SDK does not retry. Such collisions last milliseconds.
 */
export async function retryConflicts<Output>(request: () => Promise<Output>): Promise<Output> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (!isConflict(error) || attempt >= CONFLICT_TRIES) throw error;
      await pause(attempt);
    }
  }
}

/** A transaction, tried again while it is cancelled only by other transactions in flight. */
export async function transact(dynamo: Dynamo, items: TransactWriteItem[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await dynamo.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return;
    } catch (error) {
      const refused = cancellationReasons(error).some((reason) => reason.Code === 'ConditionalCheckFailed');
      if (refused || !isConflict(error) || attempt >= CONFLICT_TRIES) throw error;
      await pause(attempt);
    }
  }
}

/** Why a transaction was cancelled, one reason per item in order (`None` for the items that were fine). */
export function cancellationReasons(error: unknown): CancellationReason[] {
  return error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
}

export function isConflict(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    return cancellationReasons(error).some((reason) => reason.Code === 'TransactionConflict');
  }
  return error instanceof Error && error.name === 'TransactionConflictException';
}

function pause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
}
