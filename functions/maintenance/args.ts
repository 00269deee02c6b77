import { parseArgs } from 'node:util';

export interface MigrationArgs {
  /** The customers table. */
  table: string;
  /** A DynamoDB Local; without it the AWS SDK's default credentials and region are used. */
  endpoint?: string;
  /** The Secrets Manager secret holding the pepper, when OTP_PEPPER does not give it. */
  pepperSecretArn?: string;
  dryRun: boolean;
}

export const USAGE = `Usage: npm run migrate:customers -- --table NAME [--endpoint URL] [--pepper-secret-arn ARN] [--dry-run]

  --table NAME               the customers table (in AWS: the stack output CustomersTableName)
  --endpoint URL             a DynamoDB Local, e.g. the one \`npm start\` prints; without it, the AWS
                             SDK's default credentials and region are used
  --pepper-secret-arn ARN    the stack's pepper secret in Secrets Manager; or set OTP_PEPPER to the
                             pepper itself (one of the two, never both)
  --dry-run                  report what would change and write nothing`;

/** A refused command line; the runner prints the message and the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

// DynamoDB's own rule for table names, checked here so that a typo fails before any request is sent.
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
// The rule of OTP_PEPPER_SECRET_ARN in functions/config.ts, for the same reason.
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$/;

/** `help` when --help was asked for; throws UsageError on anything else it cannot use. */
export function parseMigrationArgs(argv: string[]): MigrationArgs | 'help' {
  let values: {
    table?: string;
    endpoint?: string;
    'pepper-secret-arn'?: string;
    'dry-run'?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        table: { type: 'string' },
        endpoint: { type: 'string' },
        'pepper-secret-arn': { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';

  const table = values.table?.trim();
  if (!table) throw new UsageError('--table is required: the customers table (stack output CustomersTableName).');
  if (!TABLE_NAME.test(table)) {
    throw new UsageError(`--table "${table}" is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -).`);
  }

  let endpoint: string | undefined;
  if (values.endpoint !== undefined) {
    endpoint = values.endpoint.trim();
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UsageError(`--endpoint "${endpoint}" is not an http(s) URL, e.g. http://127.0.0.1:8000.`);
    }
  }

  let pepperSecretArn: string | undefined;
  if (values['pepper-secret-arn'] !== undefined) {
    pepperSecretArn = values['pepper-secret-arn'].trim();
    if (!SECRET_ARN.test(pepperSecretArn)) {
      throw new UsageError(
        `--pepper-secret-arn "${pepperSecretArn}" is not the ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME).`,
      );
    }
  }
  return { table, endpoint, pepperSecretArn, dryRun: values['dry-run'] ?? false };
}
