/**
 * `npm run migrate:customers`: the operator's runner of functions/maintenance/migrate-customers.ts.
 * Prints the summary as JSON on stdout and exits 0; a bad command line (no pepper included) exits 2
 * and errors exit 1, with the message on stderr. The pepper is never printed.
 *
 * The summary names the keys of conflicts, which are e-mail addresses and phone numbers, in full,
 * unlike the service's logs (maskTarget in functions/core/targets.ts): this is a tool run by hand by
 * someone with access to the table, and a person needs the key to resolve each conflict.
 */
import { ConfigError } from '../config.js';
import { dynamoClient } from '../adapters/dynamo/client.js';
import { parseMigrationArgs, USAGE, UsageError } from './args.js';
import { migrateCustomers, type MigrationSummary } from './migrate-customers.js';
import { migrationPepper } from './pepper.js';

const README_SECTION = 'README, "Upgrading: customers are stored by id"';

async function main(): Promise<number> {
  // Node 20 is supported here; the SDK's notice would be a second message on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let args: ReturnType<typeof parseMigrationArgs>;
  let pepper: string;
  try {
    args = parseMigrationArgs(process.argv.slice(2));
    if (args === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    pepper = await migrationPepper(process.env, args.pepperSecretArn);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`Could not read the pepper: ${reasonOf(error)}\n`);
    return 1;
  }

  const client = dynamoClient(args.endpoint);
  try {
    const summary = await migrateCustomers({ client, tableName: args.table, pepper, dryRun: args.dryRun });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    explain(summary);
    return 0;
  } catch (error) {
    process.stderr.write(`Migration of ${args.table} failed: ${reasonOf(error)}\n`);
    return 1;
  } finally {
    client.destroy();
  }
}

/** What the summary asks of the operator, one line each, on stderr. */
function explain(summary: MigrationSummary): void {
  const lines: string[] = [];
  if (!summary.pepperChecked) {
    lines.push(
      'No customer stored by id was found to check the pepper against: make sure it is the one the ' +
        "stack's functions use, or the customers moved will not be found by their logins.",
    );
  }
  if (summary.conflicts.length > 0) {
    lines.push(
      `${summary.conflicts.length} conflict(s): the target already belongs to another customer, and the ` +
        `legacy customer was left as it was. Resolve them by hand (${README_SECTION}).`,
    );
  }
  if (summary.unmovable.length > 0) {
    lines.push(
      `${summary.unmovable.length} item(s) could not be moved and were left as they were; each has its reason (${README_SECTION}).`,
    );
  }
  if (summary.unfinished > 0) {
    lines.push(`${summary.unfinished} item(s) were busy with other writes: run the migration again.`);
  }
  for (const line of lines) process.stderr.write(`${line}\n`);
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

process.exitCode = await main();
