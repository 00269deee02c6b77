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
import { dynamoStore } from '../../../functions/adapters/dynamo/store.js';

// DynamoDB Local serialises writes and never reports a transaction conflict, while DynamoDB does
// when a write meets a transaction in flight. These faults are injected at the SDK boundary.
const dynamo = mockClient(DynamoDBClient);
const store = dynamoStore(new DynamoDBClient({ region: 'us-east-1' }), {
  stateTable: 'state',
  customersTable: 'customers',
  clientsTable: 'clients',
});

const conflict = () => new TransactionConflictException({ message: 'conflict', $metadata: {} });
const cancelled = (codes: string[]) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

const reservation = {
  mailboxKey: 'k',
  tokenBound: false,
  ipKey: 'ip',
  now: Date.UTC(2036, 0, 1, 12),
  perHour: 5,
  perDay: 10,
  perIpPerHour: 30,
  cooldownSeconds: 30,
};

const CODE = {
  targetKey: 'k',
  purpose: 'login',
  codeHash: 'h',
  tokenHash: 't',
  maxAttempts: 3,
  requireToken: false,
  channel: 'sms',
  sentAt: 1,
  expiresAt: 2,
} as const;

beforeEach(() => dynamo.reset());

describe('writes that meet a transaction in flight', () => {
  it('are tried again instead of failing the request', async () => {
    dynamo.on(PutItemCommand).rejectsOnce(conflict()).resolves({});
    await store.saveCode(CODE);
    expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 2);

    dynamo
      .on(UpdateItemCommand)
      .rejectsOnce(conflict())
      .resolves({ Attributes: { codeHash: { S: 'h' } } });
    await expect(store.recordAttempt(CODE, 1, 3)).resolves.toMatchObject({ kind: 'counted', codeHash: 'h' });
  });

  it('give up after a few tries rather than loop', async () => {
    dynamo.on(PutItemCommand).rejects(conflict());
    await expect(store.saveCode(CODE)).rejects.toThrow(TransactionConflictException);
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
    await expect(store.reserveSend(reservation)).resolves.toBeUndefined();
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 3);
  });

  it('are reported as contended for a second when the target stays contended', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled(['TransactionConflict', 'None']));
    await expect(store.reserveSend(reservation)).resolves.toEqual({
      limit: 'contended',
      until: reservation.now + 1000,
    });
  });

  it('are reported as contended too when a single-item reservation stays contended', async () => {
    dynamo.on(UpdateItemCommand).rejects(conflict());
    await expect(store.reserveSend({ ...reservation, ipKey: undefined })).resolves.toMatchObject({
      limit: 'contended',
    });
    expect(dynamo).toHaveReceivedCommandTimes(UpdateItemCommand, 5);
  });

  it('are not tried again when a limit refused them, and name that limit', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled(['None', 'ConditionalCheckFailed']));
    await expect(store.reserveSend(reservation)).resolves.toMatchObject({ limit: 'ip-hourly' });
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
  });
});
