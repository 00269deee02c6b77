import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dynamoClient } from '../../functions/adapters/dynamo/client.js';
import {
  checkTables,
  createTables,
  JavaMissingError,
  type RunningDynamoDb,
  startDynamoDbLocal,
} from '../../functions/local/dynamodb-local.js';
import { createTableInput, STATE_TABLE } from '../../functions/tables.js';
import { listeningSockets } from './listening-sockets.js';

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
    const client = dynamoClient(dynamo.endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames');
    await dynamo.stop();
    expect(await dynamo.exited).not.toBeUndefined();
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
    client.destroy();
  });
});

describe('the DynamoDB Local that startDynamoDbLocal starts', () => {
  let dynamo: RunningDynamoDb;

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  it('listens on 127.0.0.1 only', () => {
    const port = Number(new URL(dynamo.endpoint).port);
    expect(new URL(dynamo.endpoint).hostname).toBe('127.0.0.1');
    const sockets = listeningSockets(dynamo.pid as number);
    // An IPv6 socket bound to the IPv4 loopback shows as ::ffff:127.0.0.1; 0.0.0.0 or :: would be every interface.
    expect(sockets.map(({ address, port: p }) => `${address.replace(/^::ffff:/, '')}:${p}`)).toEqual([
      `127.0.0.1:${port}`,
    ]);
  });

  it('shows one set of tables whatever access key and region a request is signed with', async () => {
    const ours = dynamoClient(dynamo.endpoint);
    const developers = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' },
    });
    await ours.send(
      new CreateTableCommand({
        TableName: 'shared-check',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      }),
    );
    expect((await developers.send(new ListTablesCommand({}))).TableNames).toContain('shared-check');
    ours.destroy();
    developers.destroy();
  });

  it('checkTables passes once the tables exist, and names each table that does not answer', async () => {
    const client = dynamoClient(dynamo.endpoint);
    const names = { stateTable: 'check-state', customersTable: 'check-customers', clientsTable: 'check-clients' };
    const missing = await checkTables(client, names).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(Error);
    expect((missing as Error).message).toMatch(/check-state: ResourceNotFoundException/);
    expect((missing as Error).message).toMatch(/check-customers: ResourceNotFoundException/);
    expect((missing as Error).message).toMatch(/check-clients: ResourceNotFoundException/);
    await createTables(client, names);
    await expect(checkTables(client, names)).resolves.toBeUndefined();
    client.destroy();
  });

  it('createTables adds the sessions index to a state table an earlier release created without it', async () => {
    const client = dynamoClient(dynamo.endpoint);
    const names = { stateTable: 'old-state', customersTable: 'old-customers', clientsTable: 'old-clients' };
    const current = createTableInput(STATE_TABLE, names.stateTable);
    const withoutSessions = {
      ...current,
      AttributeDefinitions: current.AttributeDefinitions.filter(
        (attribute) => !['sessionsOf', 'absoluteExpiresAt'].includes(attribute.AttributeName),
      ),
      GlobalSecondaryIndexes: current.GlobalSecondaryIndexes?.filter((index) => index.IndexName === 'due'),
    };
    await client.send(new CreateTableCommand(withoutSessions));
    const indexes = async () =>
      (
        (await client.send(new DescribeTableCommand({ TableName: names.stateTable }))).Table?.GlobalSecondaryIndexes ??
        []
      )
        .map((index) => `${index.IndexName}:${index.IndexStatus}`)
        .sort();
    expect(await indexes()).toEqual(['due:ACTIVE']);
    await createTables(client, names);
    expect(await indexes()).toEqual(['due:ACTIVE', 'sessions:ACTIVE']);
    // A second start changes nothing.
    await createTables(client, names);
    expect(await indexes()).toEqual(['due:ACTIVE', 'sessions:ACTIVE']);
    client.destroy();
  });

  it('creates the due index only with the expiry sweep, adds it when the sweep is turned on, and keeps it when off', async () => {
    const client = dynamoClient(dynamo.endpoint);
    const names = { stateTable: 'sweep-state', customersTable: 'sweep-customers', clientsTable: 'sweep-clients' };
    const indexes = async () =>
      (
        (await client.send(new DescribeTableCommand({ TableName: names.stateTable }))).Table?.GlobalSecondaryIndexes ??
        []
      )
        .map((index) => `${index.IndexName}:${index.IndexStatus}`)
        .sort();
    await createTables(client, names);
    expect(await indexes()).toEqual(['sessions:ACTIVE']);
    await createTables(client, { ...names, expirySweep: true });
    expect(await indexes()).toEqual(['due:ACTIVE', 'sessions:ACTIVE']);
    // Turned off again: the index stays (nothing writes to it); a start changes nothing.
    await createTables(client, { ...names, expirySweep: false });
    expect(await indexes()).toEqual(['due:ACTIVE', 'sessions:ACTIVE']);
    client.destroy();
  });
});
