import {
  DynamoDBClient,
  PutItemCommand,
  TransactionCanceledException,
  TransactionConflictException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoOtpStore } from '../../functions/adapters/dynamo-store.js';
import { RateLimitedError } from '../../functions/core/errors.js';

// DynamoDB Local serialises writes and never reports a transaction conflict, while DynamoDB does
// when a write meets a transaction in flight. These faults are injected at the SDK boundary.
const dynamo = mockClient(DynamoDBClient);
const store = new DynamoOtpStore(new DynamoDBClient({ region: 'us-east-1' }), {
  stateTable: 'state',
  customersTable: 'customers',
});

const conflict = () => new TransactionConflictException({ message: 'conflict', $metadata: {} });
const cancelled = (codes: string[]) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

const reservation = {
  targetKey: 'k',
  ipKey: 'ip',
  now: Date.UTC(2036, 0, 1, 12),
  perHour: 5,
  perDay: 10,
  perIpPerHour: 30,
  cooldownSeconds: 30,
};

beforeEach(() => dynamo.reset());

describe('writes that meet a transaction in flight', () => {
  it('are tried again instead of failing the request', async () => {
    dynamo.on(PutItemCommand).rejectsOnce(conflict()).resolves({});
    await store.saveCode({ codeKey: 'c', codeHash: 'h', channel: 'sms', sentAt: 1, expiresAt: 2 });
    expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 2);

    dynamo
      .on(UpdateItemCommand)
      .rejectsOnce(conflict())
      .resolves({ Attributes: { codeHash: { S: 'h' } } });
    await expect(store.recordAttempt('c', 1, 3)).resolves.toMatchObject({ kind: 'counted', codeHash: 'h' });
  });

  it('give up after a few tries rather than loop', async () => {
    dynamo.on(PutItemCommand).rejects(conflict());
    await expect(
      store.saveCode({ codeKey: 'c', codeHash: 'h', channel: 'sms', sentAt: 1, expiresAt: 2 }),
    ).rejects.toThrow(TransactionConflictException);
    expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 5);
  });
});

describe('send reservations that conflict', () => {
  it('are tried again until they go through', async () => {
    dynamo
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled(['TransactionConflict', 'None']))
      .rejectsOnce(cancelled(['None', 'TransactionConflict']))
      .resolves({});
    await store.reserveSend(reservation);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 3);
  });

  it('answer 429 with Retry-After 1 when the target stays contended', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled(['TransactionConflict', 'None']));
    const error = await store.reserveSend(reservation).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(1);
  });

  it('answer 429 too when a single-item reservation stays contended', async () => {
    dynamo.on(UpdateItemCommand).rejects(conflict());
    const error = await store.reserveSend({ ...reservation, ipKey: undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(dynamo).toHaveReceivedCommandTimes(UpdateItemCommand, 5);
  });

  it('are not tried again when a limit refused them', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled(['None', 'ConditionalCheckFailed']));
    await expect(store.reserveSend(reservation)).rejects.toThrow(/network/);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
  });
});
