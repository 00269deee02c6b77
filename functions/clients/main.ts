/**
 * `npm run --silent clients -- COMMAND`: manages the clients table (API.md, "Managing clients").
 * Prints JSON on stdout and exits 0; a bad command line exits 2 and any other refusal or failure
 * exits 1, each with one line on stderr that names the argument or field.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../adapters/dynamo/client.js';
import { DynamoClientRegistry, StoredClientError } from '../adapters/dynamo/clients.js';
import { UnknownClientError, UnknownKeyError } from '../core/clients.js';
import * as manage from '../core/manage-clients.js';
import { PolicyError } from '../policy-rules.js';
import { type ClientCommand, parseClientsArgs, USAGE, UsageError } from './args.js';
import {
  awsHint,
  type Connection,
  ConnectionError,
  defaultConnectionDeps,
  reasonOf,
  resolveConnection,
} from './connection.js';

/** Refusals whose message already names what to fix. */
const REFUSALS = [
  UsageError,
  ConnectionError,
  manage.ClientInputError,
  PolicyError,
  UnknownClientError,
  UnknownKeyError,
  StoredClientError,
];

function run(deps: manage.ManageDeps, command: ClientCommand): Promise<unknown> {
  switch (command.command) {
    case 'add':
      return manage.addClient(deps, command.name, command.policy);
    case 'list':
      return manage.listClients(deps);
    case 'show':
      return manage.showClient(deps, command.clientId);
    case 'update':
      return manage.updatePolicy(deps, command.clientId, command.policy);
    case 'disable':
      return manage.disableClient(deps, command.clientId);
    case 'enable':
      return manage.enableClient(deps, command.clientId);
    case 'add-key':
      return manage.addKey(deps, command.clientId);
    case 'revoke-key':
      return manage.revokeKey(deps, command.clientId, command.keyId);
  }
}

function clientFor(connection: Connection): DynamoDBClient {
  if (connection.kind === 'local') return dynamoClient(connection.endpoint);
  // The SDK's default credential chain (profile, SSO, environment): an operator's machine, not Lambda.
  return new DynamoDBClient(connection.region ? { region: connection.region } : {});
}

/** One line: the refusal as it is, anything else with where it happened. */
function messageOf(error: unknown, connection: Connection): string {
  if (REFUSALS.some((kind) => error instanceof kind)) return (error as Error).message.replace(/\s+/g, ' ');
  const name = error instanceof Error ? error.name : '';
  if (name === 'ResourceNotFoundException') {
    return `The table ${connection.table} does not exist (${connection.via}).`;
  }
  const hint = connection.kind === 'aws' ? awsHint(error) : '';
  return `Failed on ${connection.table} (${connection.via}): ${reasonOf(error)}${hint}`;
}

async function main(): Promise<number> {
  // Node 20 is supported here; the SDK's notice would be a second line on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const fail = (message: string, code: number) => {
    process.stderr.write(`${message}\n`);
    return code;
  };

  let parsed: ReturnType<typeof parseClientsArgs>;
  try {
    parsed = parseClientsArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return fail(`${error.message} (npm run clients -- --help)`, 2);
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let connection: Connection;
  try {
    connection = await resolveConnection(parsed.where, process.env, defaultConnectionDeps);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, 2);
    if (error instanceof ConnectionError) return fail(error.message, 1);
    throw error;
  }

  const client = clientFor(connection);
  try {
    const registry = new DynamoClientRegistry(client, connection.table);
    const result = await run({ registry, now: Date.now }, parsed.command);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    return fail(messageOf(error, connection), 1);
  } finally {
    client.destroy();
  }
}

process.exitCode = await main();
