import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * The DynamoDB client of every function, the local server and the tests. With an endpoint (DynamoDB
 * Local) the region and key are fixed, whatever AWS_REGION, AWS_PROFILE or AWS_ACCESS_KEY_ID the
 * shell has: DynamoDB Local keeps one database per key and region, so the process that creates the
 * tables and the handlers that use them must agree, and a developer's real credentials have no
 * business there. Without one it is the SDK's default client, as in Lambda.
 */
export function dynamoClient(endpoint?: string): DynamoDBClient {
  if (endpoint === undefined) return new DynamoDBClient({});
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: LOCAL_KEY, secretAccessKey: LOCAL_KEY },
  });
}

/** What DynamoDB Local files the tables under; set these to inspect them with the AWS CLI. */
export const LOCAL_REGION = 'local';
export const LOCAL_KEY = 'local';

export interface TableNames {
  stateTable: string;
  customersTable: string;
  clientsTable: string;
}

/** What every module of the store works with. */
export interface Dynamo {
  client: DynamoDBClient;
  tables: TableNames;
}
