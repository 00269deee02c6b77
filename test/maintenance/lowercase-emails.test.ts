import {
  DynamoDBClient,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { migrateLowercaseEmails } from '../../functions/maintenance/lowercase-emails.js';

// DynamoDB Local serialises writes and never reports a transaction conflict, while DynamoDB does
// when a write meets a transaction in flight; the conflict is injected at the SDK boundary.
const dynamo = mockClient(DynamoDBClient);
const client = new DynamoDBClient({ region: 'us-east-1' });

const customer = (pk: string, id: string) => ({
  pk: { S: pk },
  id: { S: id },
  channel: { S: 'email' },
  createdAt: { N: '1' },
});
const cancelled = (codes: string[]) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('migrateLowercaseEmails against a mocked DynamoDB', () => {
  beforeEach(() => dynamo.reset());

  it('pages through the scan with the page size it was given', async () => {
    dynamo
      .on(ScanCommand)
      .resolvesOnce({ Items: [customer('A@x.io', '1')], LastEvaluatedKey: { pk: { S: 'A@x.io' } } })
      .resolvesOnce({ Items: [customer('b@x.io', '2')] });
    dynamo.on(TransactWriteItemsCommand).resolves({});

    const summary = await migrateLowercaseEmails({ client, tableName: 'customers', pageSize: 1 });

    expect(summary).toMatchObject({ scanned: 2, migrated: 1, skipped: 1 });
    const scans = dynamo.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(scans).toEqual([
      { TableName: 'customers', Limit: 1, ExclusiveStartKey: undefined },
      { TableName: 'customers', Limit: 1, ExclusiveStartKey: { pk: { S: 'A@x.io' } } },
    ]);
  });

  it('retries a transaction conflict, and leaves an item still contended for the next run', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [customer('A@x.io', '1'), customer('B@x.io', '2')] });
    dynamo
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled(['TransactionConflict', 'None']))
      .resolvesOnce({})
      .rejects(cancelled(['None', 'TransactionConflict']));

    const summary = await migrateLowercaseEmails({ client, tableName: 'customers' });

    expect(summary).toEqual({ dryRun: false, scanned: 2, migrated: 1, conflicts: [], skipped: 0, unfinished: 1 });
    expect(dynamo.commandCalls(TransactWriteItemsCommand).length).toBeGreaterThan(2);
  });

  it('stops on any other error', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [customer('A@x.io', '1')] });
    dynamo.on(TransactWriteItemsCommand).rejects(new Error('AccessDenied'));
    await expect(migrateLowercaseEmails({ client, tableName: 'customers' })).rejects.toThrow('AccessDenied');
  });

  it('refuses a page size out of bounds', async () => {
    await expect(migrateLowercaseEmails({ client, tableName: 'customers', pageSize: 0 })).rejects.toThrow(RangeError);
    await expect(migrateLowercaseEmails({ client, tableName: 'customers', pageSize: 5000 })).rejects.toThrow(
      RangeError,
    );
  });
});
