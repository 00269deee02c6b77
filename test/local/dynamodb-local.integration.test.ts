import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { JavaMissingError, localClient, startDynamoDbLocal } from '../../functions/local/dynamodb-local.js';

const path = process.env.PATH;

afterEach(() => {
  process.env.PATH = path;
});

describe('startDynamoDbLocal', () => {
  it('says clearly that Java is missing instead of failing obscurely', async () => {
    process.env.PATH = '/nonexistent';
    const error = await startDynamoDbLocal().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JavaMissingError);
    expect((error as Error).message).toMatch(/needs Java 17 or newer/);
    expect((error as Error).message).toMatch(/DYNAMODB_ENDPOINT/);
  });

  it('starts a DynamoDB Local that answers, and stops it', async () => {
    const dynamo = await startDynamoDbLocal();
    const client = localClient(dynamo.endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames');
    await dynamo.stop();
    expect(await dynamo.exited).not.toBeUndefined();
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
    client.destroy();
  });
});
