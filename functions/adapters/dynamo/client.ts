import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/**
 * How long one DynamoDB request may take and how often it is tried. The SDK's own defaults suit no
 * function here: no connection timeout, and DynamoDB's default socket timeout of 300 s, so that a
 * database that stops answering holds a request until Lambda kills it (10 s, lib/function-defaults.ts)
 * and the caller reads the gateway's 504 instead of a 503 it can retry.
 */
export interface RequestLimits {
  /** Tries per request, the first included; the SDK's standard retry mode waits between them. */
  maxAttempts: number;
  /** For the TCP (and TLS) connection. */
  connectionTimeoutMs: number;
  /** For the whole request, connection included: past it the try fails (TimeoutError) and may be retried. */
  requestTimeoutMs: number;
}

/**
 * The functions' limits. A DynamoDB request answers in milliseconds; a second without an answer is a
 * database in trouble. Three tries of at most a second each, with the standard mode's backoff between
 * them (at most 0.15 s after a timeout, at most 3 s in all after throttling), end within about 3.5 s, so that a
 * request that fails and then gives back what it counted (core/verify-code.ts) still answers well
 * within the function's 10 s and the gateway's 29 s.
 */
export const FUNCTION_REQUEST_LIMITS: RequestLimits = {
  maxAttempts: 3,
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 1000,
};

/**
 * The DynamoDB client of every function, the local server and the tests. With an endpoint (DynamoDB
 * Local) the region and key are fixed, whatever AWS_REGION, AWS_PROFILE or AWS_ACCESS_KEY_ID the
 * shell has: DynamoDB Local keeps one database per key and region, so the process that creates the
 * tables and the handlers that use them must agree, and a developer's real credentials have no
 * business there. Without one it is the SDK's default client, as in Lambda. `limits` bound each
 * request (the functions pass FUNCTION_REQUEST_LIMITS); without them the SDK's defaults hold, which
 * suit the command-line tools' long scans.
 */
export function dynamoClient(endpoint?: string, limits?: RequestLimits): DynamoDBClient {
  const bounded: DynamoDBClientConfig = limits
    ? {
        maxAttempts: limits.maxAttempts,
        requestHandler: {
          connectionTimeout: limits.connectionTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          // Without it, this version of the SDK only warns when the request timeout passes.
          throwOnRequestTimeout: true,
        },
      }
    : {};
  if (endpoint === undefined) return new DynamoDBClient(bounded);
  return new DynamoDBClient({
    ...bounded,
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
  /** Items list themselves in the `due` index for the cleanup to delete (OTP_EXPIRY_SWEEP, due-index.ts). */
  expirySweep?: boolean;
}
