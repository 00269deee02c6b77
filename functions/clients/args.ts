import { parseArgs } from 'node:util';

export type ClientCommand =
  | { command: 'add'; name: string; policy?: unknown }
  | { command: 'list' }
  | { command: 'show' | 'disable' | 'enable' | 'add-key'; clientId: string }
  | { command: 'update'; clientId: string; policy: unknown }
  | { command: 'revoke-key'; clientId: string; keyId: string };

/** Where the clients table is, as the command line says (functions/clients/connection.ts decides). */
export interface WhereOptions {
  table?: string;
  stage?: string;
  region?: string;
}

export interface ClientsArgs {
  command: ClientCommand;
  where: WhereOptions;
}

export const USAGE = `Usage: npm run --silent clients -- COMMAND [ARGUMENTS] [--stage STAGE | --table NAME] [--region REGION]

Commands (each prints JSON):
  add --name NAME [--policy JSON]   a new client and its first API key, shown this once
  list                              every client with its keys' ids (never a key or a hash)
  show CLIENT_ID                    one client
  update CLIENT_ID --policy JSON    replaces the client's policy (README, "Clients and policies")
  disable CLIENT_ID                 its keys are answered 403 client-disabled
  enable CLIENT_ID                  active again
  add-key CLIENT_ID                 a further API key, shown this once
  revoke-key CLIENT_ID KEY_ID       that key stops working within 60 seconds

Where it connects, the first that applies:
  1. DYNAMODB_ENDPOINT is set: that DynamoDB (e.g. the "DynamoDB:" URL npm start prints); the table
     is --table, or OTP_CLIENTS_TABLE, or otp-clients.
  2. --stage STAGE or --table NAME: AWS, with the usual credentials (AWS_PROFILE, ...) and --region or
     the default region; --stage reads the table from the output ClientsTableName of the stack
     OtpService-STAGE, --table names it.
  3. Otherwise the one npm start running on this machine, found by itself.`;

/** A refused command line; the message names the argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const COMMANDS = ['add', 'list', 'show', 'update', 'disable', 'enable', 'add-key', 'revoke-key'] as const;
type CommandName = (typeof COMMANDS)[number];

/** The positional arguments each command takes, by name, and the options it takes besides where. */
const SHAPES: Record<CommandName, { positionals: string[]; options: ('name' | 'policy')[] }> = {
  add: { positionals: [], options: ['name', 'policy'] },
  list: { positionals: [], options: [] },
  show: { positionals: ['CLIENT_ID'], options: [] },
  update: { positionals: ['CLIENT_ID'], options: ['policy'] },
  disable: { positionals: ['CLIENT_ID'], options: [] },
  enable: { positionals: ['CLIENT_ID'], options: [] },
  'add-key': { positionals: ['CLIENT_ID'], options: [] },
  'revoke-key': { positionals: ['CLIENT_ID', 'KEY_ID'], options: [] },
};

// DynamoDB's own rule for table names, and the stack's for stages (functions/settings-rules.ts).
export const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const STAGE = /^[a-z][a-z0-9-]{0,31}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
// Ids as functions/core/clients.ts makes them, with room to spare; anything else cannot be one.
const ID = /^[A-Za-z0-9_-]{1,100}$/;

/** `help` when --help was asked for; throws UsageError on anything it cannot use. */
export function parseClientsArgs(argv: string[]): ClientsArgs | 'help' {
  let values: { name?: string; policy?: string; table?: string; stage?: string; region?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        name: { type: 'string' },
        policy: { type: 'string' },
        table: { type: 'string' },
        stage: { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';

  const [name, ...rest] = positionals;
  if (name === undefined) throw new UsageError(`COMMAND is missing: one of ${COMMANDS.join(', ')}.`);
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`Unknown command "${name}": one of ${COMMANDS.join(', ')}.`);
  }
  const command = name as CommandName;
  const shape = SHAPES[command];
  if (rest.length < shape.positionals.length) {
    throw new UsageError(`${shape.positionals[rest.length]} is missing: ${command} ${shape.positionals.join(' ')}.`);
  }
  if (rest.length > shape.positionals.length) {
    throw new UsageError(`Unexpected argument "${rest[shape.positionals.length]}" after ${command}.`);
  }
  const ids = rest.map((value, i) => {
    if (!ID.test(value))
      throw new UsageError(`${shape.positionals[i]} "${value}" is not an id (1-100 of A-Z a-z 0-9 _ -).`);
    return value;
  });
  for (const option of ['name', 'policy'] as const) {
    if (values[option] !== undefined && !shape.options.includes(option)) {
      throw new UsageError(`--${option} does not go with ${command}.`);
    }
  }

  return { command: commandOf(command, ids, values), where: whereOf(values) };
}

function commandOf(
  command: CommandName,
  [clientId = '', keyId = '']: string[],
  values: { name?: string; policy?: string },
): ClientCommand {
  switch (command) {
    case 'add':
      if (values.name === undefined) throw new UsageError('--name is required: add --name NAME [--policy JSON].');
      return {
        command,
        name: values.name,
        ...(values.policy === undefined ? {} : { policy: policyJson(values.policy) }),
      };
    case 'list':
      return { command };
    case 'update':
      if (values.policy === undefined) throw new UsageError('--policy is required: update CLIENT_ID --policy JSON.');
      return { command, clientId, policy: policyJson(values.policy) };
    case 'revoke-key':
      return { command, clientId, keyId };
    default:
      return { command, clientId };
  }
}

function policyJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      `--policy is not valid JSON (${reason}); quote it for the shell: --policy '{"trust":"relaxed"}'.`,
    );
  }
}

function whereOf(values: { table?: string; stage?: string; region?: string }): WhereOptions {
  const where: WhereOptions = {};
  if (values.table !== undefined) {
    if (!TABLE_NAME.test(values.table)) {
      throw new UsageError(`--table "${values.table}" is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -).`);
    }
    where.table = values.table;
  }
  if (values.stage !== undefined) {
    if (!STAGE.test(values.stage)) {
      throw new UsageError(`--stage "${values.stage}" is not a stage name (lower case, such as dev, staging or prod).`);
    }
    where.stage = values.stage;
  }
  if (values.region !== undefined) {
    if (!REGION.test(values.region)) {
      throw new UsageError(`--region "${values.region}" is not an AWS region such as eu-west-1.`);
    }
    where.region = values.region;
  }
  if (where.stage !== undefined && where.table !== undefined) {
    throw new UsageError('--stage and --table both name the table: give one of them.');
  }
  return where;
}
