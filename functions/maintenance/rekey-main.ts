/**
 * `npm run rekey:customers`: the operator's runner of functions/maintenance/rekey-customers.ts, run
 * after a pepper rotation's switch (README, "Rotating the pepper"). Prints the summary as JSON on
 * stdout and exits 0; a bad command line (no previous pepper included) exits 2 and errors exit 1,
 * with the message on stderr. The peppers are never printed; conflicts name addresses in full, for
 * the person who resolves them (as migrate:customers does, functions/maintenance/main.ts).
 */
import { dynamoClient } from '../adapters/dynamo/client.js';
import { ConfigError } from '../config.js';
import { parseMigrationArgs, UsageError } from './args.js';
import { rotationPeppers } from './pepper.js';
import { rekeyCustomers, type RekeySummary } from './rekey-customers.js';

const REKEY_USAGE = `Usage: npm run rekey:customers -- --table NAME [--endpoint URL] [--pepper-secret-arn ARN] [--dry-run]

  --table NAME               the customers table (in AWS: the stack output CustomersTableName)
  --endpoint URL             a DynamoDB Local; without it, the AWS SDK's default credentials and region
  --pepper-secret-arn ARN    the stack's pepper secret: its AWSCURRENT and AWSPREVIOUS versions are read;
                             or set OTP_PEPPER and OTP_PEPPER_PREVIOUS (one way, never both)
  --dry-run                  report what would change and write nothing`;

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let args: ReturnType<typeof parseMigrationArgs>;
  let peppers: Awaited<ReturnType<typeof rotationPeppers>>;
  try {
    args = parseMigrationArgs(process.argv.slice(2));
    if (args === 'help') {
      process.stdout.write(`${REKEY_USAGE}\n`);
      return 0;
    }
    peppers = await rotationPeppers(process.env, args.pepperSecretArn);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n\n${REKEY_USAGE}\n`);
      return 2;
    }
    process.stderr.write(`Could not read the peppers: ${reasonOf(error)}\n`);
    return 1;
  }
  const client = dynamoClient(args.endpoint);
  try {
    const summary = await rekeyCustomers({ client, tableName: args.table, ...peppers, dryRun: args.dryRun });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    explain(summary);
    return 0;
  } catch (error) {
    process.stderr.write(`Re-key of ${args.table} failed: ${reasonOf(error)}\n`);
    return 1;
  } finally {
    client.destroy();
  }
}

/** What the summary asks of the operator before the previous pepper may be dropped, on stderr. */
function explain(summary: RekeySummary): void {
  const section = 'README, "Rotating the pepper"';
  const lines: string[] = [];
  if (summary.conflicts.length > 0) {
    lines.push(
      `${summary.conflicts.length} conflict(s): resolve them before dropping the previous pepper (${section}).`,
    );
  }
  if (summary.unknownKeys.length > 0) {
    lines.push(`${summary.unknownKeys.length} customer(s) keyed with neither pepper: see ${section}.`);
  }
  if (summary.unfinished > 0) lines.push(`${summary.unfinished} identifier(s) were busy: run it again.`);
  if (lines.length === 0 && !summary.dryRun) {
    lines.push('Every customer is keyed with the current pepper: the previous one may be dropped.');
  }
  for (const line of lines) process.stderr.write(`${line}\n`);
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

process.exitCode = await main();
