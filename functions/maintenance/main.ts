/**
 * `npm run migrate:lowercase-emails`: the operator's runner of functions/maintenance/lowercase-emails.ts.
 * Prints the summary as JSON on stdout and exits 0; bad arguments exit 2 and errors exit 1, with the
 * message on stderr.
 *
 * The summary names the keys of conflicts, which are e-mail addresses, in full, unlike the service's
 * logs (maskTarget in functions/core/targets.ts): this is a tool run by hand by someone with access
 * to the table, and a person needs both keys to resolve each conflict.
 */
import { dynamoClient } from '../adapters/dynamo/client.js';
import { parseMigrationArgs, USAGE, UsageError } from './args.js';
import { migrateLowercaseEmails } from './lowercase-emails.js';

async function main(): Promise<number> {
  let args: ReturnType<typeof parseMigrationArgs>;
  try {
    args = parseMigrationArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const client = dynamoClient(args.endpoint);
  try {
    const summary = await migrateLowercaseEmails({ client, tableName: args.table, dryRun: args.dryRun });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (summary.conflicts.length > 0) {
      process.stderr.write(
        `${summary.conflicts.length} conflict(s) left as they were: resolve them by hand (README, "Upgrading: e-mail addresses are now lower-cased").\n`,
      );
    }
    if (summary.unfinished > 0) {
      process.stderr.write(`${summary.unfinished} item(s) were busy with other writes: run the migration again.\n`);
    }
    return 0;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`Migration of ${args.table} failed: ${reason}\n`);
    return 1;
  } finally {
    client.destroy();
  }
}

process.exitCode = await main();
