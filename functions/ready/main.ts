/**
 * `npm run --silent ready -- [--stage STAGE] [--region REGION]`: the readiness check for operators
 * (adapters/dynamo/readiness.ts), against a deployed stack's tables (found by its outputs) or a local
 * database (DYNAMODB_ENDPOINT, or the one `npm start` that runs). Prints JSON and exits 0 when every
 * table answers, 1 when one does not, 2 for a bad command line. It reads as the functions read, with
 * their request limits, so it answers within seconds when the database does not.
 *
 * Not a route of the API: `GET /v1/health` stays a liveness check that touches nothing, and a public
 * route that reads the database on every call would be one more way to spend the table's capacity.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient, FUNCTION_REQUEST_LIMITS, type TableNames } from '../adapters/dynamo/client.js';
import { checkReadiness } from '../adapters/dynamo/readiness.js';
import { defaultConnectionDeps, stackName } from '../clients/connection.js';
import { loadConfig } from '../config.js';
import { runningServers } from '../local/state-file.js';

const USAGE = 'Usage: npm run --silent ready -- [--stage STAGE] [--region REGION]';

class UsageError extends Error {}

interface Target {
  via: string;
  client: DynamoDBClient;
  tables: TableNames;
}

function parse(argv: string[]): { stage?: string; region?: string } {
  const options: { stage?: string; region?: string } = {};
  for (let index = 0; index < argv.length; index += 2) {
    const [flag, value] = [argv[index], argv[index + 1]];
    if ((flag !== '--stage' && flag !== '--region') || value === undefined || value.startsWith('--')) {
      throw new UsageError(USAGE);
    }
    options[flag === '--stage' ? 'stage' : 'region'] = value;
  }
  if (options.region !== undefined && options.stage === undefined) throw new UsageError('--region needs --stage.');
  return options;
}

async function resolve(options: { stage?: string; region?: string }, env: NodeJS.ProcessEnv): Promise<Target> {
  if (options.stage !== undefined) {
    const stack = stackName(options.stage);
    const outputs = await defaultConnectionDeps.stackOutputs(stack, options.region);
    const tables = {
      stateTable: outputs?.StateTableName,
      customersTable: outputs?.CustomersTableName,
      clientsTable: outputs?.ClientsTableName,
    };
    if (!tables.stateTable || !tables.customersTable || !tables.clientsTable) {
      throw new UsageError(
        `No stack ${stack} with the table outputs: check --stage, --region and your AWS credentials.`,
      );
    }
    // The operator's own credentials and region (profile, SSO, environment), with the functions' limits.
    const client = new DynamoDBClient({
      ...(options.region ? { region: options.region } : {}),
      maxAttempts: FUNCTION_REQUEST_LIMITS.maxAttempts,
      requestHandler: {
        connectionTimeout: FUNCTION_REQUEST_LIMITS.connectionTimeoutMs,
        requestTimeout: FUNCTION_REQUEST_LIMITS.requestTimeoutMs,
        throwOnRequestTimeout: true,
      },
    });
    return { via: `stack ${stack}`, client, tables: tables as TableNames };
  }
  if (env.DYNAMODB_ENDPOINT?.trim()) {
    const config = loadConfig({ ...env, OTP_DELIVERY: 'local' });
    return {
      via: `DYNAMODB_ENDPOINT ${config.dynamoEndpoint}`,
      client: dynamoClient(config.dynamoEndpoint, FUNCTION_REQUEST_LIMITS),
      tables: config,
    };
  }
  const servers = runningServers();
  const [server] = servers;
  if (servers.length !== 1 || !server) {
    throw new UsageError(
      servers.length > 1
        ? `${servers.length} npm start servers run: set DYNAMODB_ENDPOINT to the one you mean.`
        : 'Nothing says which tables to check: name a deployed stack with --stage STAGE, set DYNAMODB_ENDPOINT, or start npm start.',
    );
  }
  return {
    via: `npm start at ${server.url} (DynamoDB ${server.endpoint})`,
    client: dynamoClient(server.endpoint, FUNCTION_REQUEST_LIMITS),
    tables: server,
  };
}

async function main(): Promise<number> {
  let target: Target;
  try {
    target = await resolve(parse(process.argv.slice(2)), process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
  try {
    const readiness = await checkReadiness(target.client, target.tables);
    process.stdout.write(`${JSON.stringify({ ...readiness, via: target.via }, null, 2)}\n`);
    return readiness.ready ? 0 : 1;
  } finally {
    target.client.destroy();
  }
}

process.exitCode = await main();
