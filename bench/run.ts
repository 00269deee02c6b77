/**
 * `npm run bench`: bundle sizes, init times, DynamoDB requests and capacity per operation, cost per
 * million logins and throughput of the local server. Writes bench/results.json and bench/RESULTS.md.
 * `--smoke` runs the same code on tiny numbers (used by the tests); `--out DIR` writes elsewhere.
 */
import './env.js';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local.js';
import { FUNCTION_DEFAULTS } from '../lib/function-defaults.js';
import { buildBundles } from './bundles.js';
import { benchBuilds } from './levers.js';
import { measureColdStarts } from './cold-start.js';
import { costPerMillionLogins } from './cost.js';
import { runLoad } from './load.js';
import { measureCleanup, measureDurations, measureOperations } from './operations.js';
import { renderReport } from './report.js';

const smoke = process.argv.includes('--smoke');
/** `--render`: writes RESULTS.md again from results.json and the hand-written notes, measuring nothing. */
const renderOnly = process.argv.includes('--render');
const outIndex = process.argv.indexOf('--out');
const outDir = outIndex > 0 ? (process.argv[outIndex + 1] ?? '') : fileURLToPath(new URL('.', import.meta.url));
const plan = smoke
  ? { initRuns: 2, logins: 7, cleanupLogins: 3, levels: [1, 2], seconds: 0.5 }
  : { initRuns: 15, logins: 45, cleanupLogins: 20, levels: [1, 4, 16], seconds: 5 };

const step = (text: string) => process.stdout.write(`${text}\n`);

async function writeReport(results: Parameters<typeof renderReport>[0]) {
  const notes = await readFile(fileURLToPath(new URL('notes.md', import.meta.url)), 'utf8').catch(() => '');
  // Written by hand from `npm run mutate` (stryker.config.json), which the bench does not run.
  const mutation = await readFile(fileURLToPath(new URL('mutation.md', import.meta.url)), 'utf8').catch(() => '');
  await writeFile(join(outDir, 'RESULTS.md'), renderReport(results, notes, mutation));
}

async function main() {
  if (renderOnly) {
    await writeReport(
      JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8')) as Parameters<typeof renderReport>[0],
    );
    step(`bench: wrote ${join(outDir, 'RESULTS.md')} from results.json`);
    return;
  }
  const started = Date.now();
  step(`bench${smoke ? ' (smoke)' : ''}: building bundles`);
  const buildDir = join(tmpdir(), `otp-bench-${process.pid}`);
  const bundles = await buildBundles(benchBuilds(), buildDir);

  step('bench: starting DynamoDB Local');
  const dynamo = await startDynamoDbLocal();
  try {
    step(`bench: cold starts (import + first invocation), ${plan.initRuns} interleaved rounds`);
    const coldStart = await measureColdStarts(
      dynamo.endpoint,
      Object.fromEntries(bundles.map((bundle) => [bundle.name, bundle.file])),
      plan.initRuns,
    );
    step('bench: DynamoDB requests and capacity per operation');
    const operations = await measureOperations(dynamo.endpoint);
    const cleanup = await measureCleanup(dynamo.endpoint, plan.cleanupLogins);
    operations.push(...cleanup.operations);
    step(`bench: handler durations over ${plan.logins} logins`);
    const durations = await measureDurations(dynamo.endpoint, plan.logins);
    const cost = costPerMillionLogins(operations, durations, cleanup, FUNCTION_DEFAULTS.memorySize);
    step(`bench: load on the local server, ${plan.levels.join(', ')} clients, ${plan.seconds} s each`);
    const load = await runLoad(dynamo.endpoint, plan.levels, plan.seconds);

    const results = {
      date: new Date().toISOString(),
      smoke,
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        os: `${platform()} ${release()}`,
        node: process.version,
      },
      // The build folder is temporary: keep everything but its path.
      bundles: bundles.map((bundle) => ({ ...bundle, file: undefined })),
      coldStart,
      operations,
      cleanup: { ...cleanup, operations: undefined },
      durations,
      cost,
      load,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    await writeReport(results);
    step(`bench: wrote ${join(outDir, 'RESULTS.md')} and results.json in ${results.seconds} s`);
  } finally {
    await dynamo.stop();
    await rm(buildDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
