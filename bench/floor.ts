import { createHmac } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

/**
 * The floor of the cold-start benchmark: the least a function of this service could do, a keyed
 * hash of its input and one DynamoDB read, with the same client, bundled and started the same way.
 * No function that reads DynamoDB can start faster than this; the bench reports each one as a
 * multiple of it. The key is fixed: a floor that read a secret would hide that cost in the base.
 */
const client = new DynamoDBClient({});
const table = process.env.OTP_STATE_TABLE ?? 'otp-state';

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const { target } = JSON.parse(event.body ?? '{}') as { target?: unknown };
  const key = createHmac('sha256', 'floor-key').update(String(target)).digest('base64url');
  const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `floor#${key}` } } }));
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ found: Item !== undefined }),
  };
}
