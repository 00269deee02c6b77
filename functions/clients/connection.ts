import { runningServers as localServers, type LocalServerState } from '../local/state-file.js';
import { TABLE_NAME, UsageError, type WhereOptions } from './args.js';

/** The clients table the CLI works on, and how it was found (for messages). */
export type Connection =
  | { kind: 'local'; endpoint: string; table: string; via: string }
  | { kind: 'aws'; table: string; region?: string; via: string };

/** No table could be found, or the one named cannot be reached; the message says what to do. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

export const DEFAULT_CLIENTS_TABLE = 'otp-clients';
export const CLIENTS_TABLE_OUTPUT = 'ClientsTableName';
export const stackName = (stage: string) => `OtpService-${stage}`;

export interface ConnectionDeps {
  /** The `npm start` servers that run now (functions/local/state-file.ts). */
  runningServers: () => LocalServerState[];
  /** The outputs of a deployed stack, by key; undefined when there is no such stack. */
  stackOutputs: (stackName: string, region?: string) => Promise<Record<string, string> | undefined>;
}

const THREE_WAYS = [
  'Nothing says which clients table to use. One of:',
  'start the local server (npm start) and run this again;',
  'or set DYNAMODB_ENDPOINT to a DynamoDB Local (the "DynamoDB:" URL npm start prints);',
  'or name a deployed stack with --stage STAGE (or its table with --table NAME) and AWS credentials.',
].join(' ');

/**
 * An explicit endpoint wins; then an explicit stage or table, which mean AWS; and only then the
 * local server, so that a running `npm start` never redirects a command meant for a deployment.
 */
export async function resolveConnection(
  where: WhereOptions,
  env: Record<string, string | undefined>,
  deps: ConnectionDeps,
): Promise<Connection> {
  const endpoint = env.DYNAMODB_ENDPOINT?.trim();
  if (endpoint) {
    if (!/^https?:\/\/\S+$/.test(endpoint)) {
      throw new UsageError(`DYNAMODB_ENDPOINT "${endpoint}" is not an http(s) URL such as http://127.0.0.1:8000.`);
    }
    if (where.stage !== undefined || where.region !== undefined) {
      throw new UsageError(
        `--${where.stage !== undefined ? 'stage' : 'region'} is for AWS, but DYNAMODB_ENDPOINT (${endpoint}) is set: unset it to manage a deployed stack.`,
      );
    }
    const fromEnv = env.OTP_CLIENTS_TABLE?.trim();
    if (where.table === undefined && fromEnv && !TABLE_NAME.test(fromEnv)) {
      throw new UsageError(
        `OTP_CLIENTS_TABLE "${fromEnv}" is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -).`,
      );
    }
    const table = where.table ?? (fromEnv || DEFAULT_CLIENTS_TABLE);
    return { kind: 'local', endpoint, table, via: `DYNAMODB_ENDPOINT ${endpoint}` };
  }

  if (where.table !== undefined) {
    return { kind: 'aws', table: where.table, region: where.region, via: `AWS table ${where.table}` };
  }
  if (where.stage !== undefined) {
    const stack = stackName(where.stage);
    const outputs = await deps.stackOutputs(stack, where.region).catch((error: unknown) => {
      throw new ConnectionError(`Could not read the stack ${stack} from AWS: ${reasonOf(error)}${awsHint(error)}`);
    });
    if (!outputs) {
      throw new ConnectionError(
        `No stack ${stack} in ${where.region ?? 'the default region'}: check --stage, --region and the AWS account of your credentials.`,
      );
    }
    const table = outputs[CLIENTS_TABLE_OUTPUT];
    if (!table) {
      throw new ConnectionError(
        `The stack ${stack} has no output ${CLIENTS_TABLE_OUTPUT}: deploy this version of the stack, or name the table with --table.`,
      );
    }
    return { kind: 'aws', table, region: where.region, via: `stack ${stack}` };
  }
  if (where.region !== undefined) {
    throw new UsageError('--region needs --stage STAGE or --table NAME to say which table.');
  }

  const servers = deps.runningServers();
  if (servers.length > 1) {
    throw new ConnectionError(
      `${servers.length} npm start servers run (${servers.map((server) => server.url).join(', ')}): set DYNAMODB_ENDPOINT to the "DynamoDB:" URL of the one you mean.`,
    );
  }
  const [server] = servers;
  if (!server) throw new ConnectionError(THREE_WAYS);
  return {
    kind: 'local',
    endpoint: server.endpoint,
    table: server.clientsTable,
    via: `npm start at ${server.url} (DynamoDB ${server.endpoint})`,
  };
}

/** What the CLI uses in real life: the state files in the temporary directory, and CloudFormation. */
export const defaultConnectionDeps: ConnectionDeps = {
  runningServers: () => localServers(),
  stackOutputs: async (stack, region) => {
    // Loaded only on this path: local use never pays for the CloudFormation client.
    const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
    const client = new CloudFormationClient(region ? { region } : {});
    try {
      const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stack }));
      const outputs: Record<string, string> = {};
      for (const output of Stacks?.[0]?.Outputs ?? []) {
        if (output.OutputKey && output.OutputValue) outputs[output.OutputKey] = output.OutputValue;
      }
      return Stacks?.[0] ? outputs : undefined;
    } catch (error) {
      // CloudFormation answers a missing stack with a ValidationError that says so.
      if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
        return undefined;
      }
      throw error;
    } finally {
      client.destroy();
    }
  },
};

/** What to do about the two ways an operator's machine most often fails to reach AWS. */
export function awsHint(error: unknown): string {
  const text = error instanceof Error ? `${error.name} ${error.message}` : '';
  if (/Region is missing/i.test(text)) return ' (pass --region REGION or set AWS_REGION)';
  if (/CredentialsProviderError|Could not load credentials/i.test(text)) {
    return ' (set AWS_PROFILE, run aws sso login, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)';
  }
  return '';
}

export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s+/g, ' ').trim();
}
