/**
 * `npm run soak -- [--seconds N] [--users N] [--endpoint URL]`: runs the local server
 * (functions/local/main.ts, as `npm start` does) on a free port of 127.0.0.1, with a fresh in-memory
 * DynamoDB Local (or fresh tables on the DynamoDB Local at --endpoint), loads it from a generator in
 * its own process (generator-main.ts) with a bounded number of virtual users for a bounded time, then
 * checks the invariants in the database (checker.ts) and prints latency, throughput and a PASS/FAIL
 * line per invariant. Exits 1 when an invariant breaks (a 5xx is one), 2 when it could not run.
 * Everything it starts it stops, by process id: at the end, on failure and on Ctrl+C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../functions/adapters/dynamo/client.js';
import { createTables, freePort } from '../../functions/local/dynamodb-local.js';
import { checkInvariants, type Tables } from './checker.js';
import type { GeneratorSummary } from './generator.js';
import { readRecords } from './records.js';
import { invariantLines, latencyLines, workloadLines } from './report.js';
import { SCENARIOS } from './scenarios.js';
import { SOAK_SERVER_ENV, soakServerEnv } from './settings.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = join(ROOT, 'functions/local/main.ts');
const GENERATOR = join(ROOT, 'bench/soak/generator-main.ts');

export const DEFAULT_SECONDS = 120;
export const MAX_SECONDS = 1800;
export const DEFAULT_USERS = 8;
export const MAX_USERS = 32;

const out = (line = '') => process.stdout.write(`${line}\n`);

interface Options {
  seconds: number;
  users: number;
  endpoint?: string;
  /** Keep the run's directory (the server's log, every answer) for a look afterwards. */
  keep: boolean;
}

class UsageError extends Error {}

function parseArgs(args: readonly string[]): Options {
  const options: Options = { seconds: DEFAULT_SECONDS, users: DEFAULT_USERS, keep: false };
  for (let i = 0; i < args.length; i++) {
    const name = args[i];
    const value = args[i + 1];
    const count = (max: number) => {
      if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
        throw new UsageError(`${name} takes a whole number from 1 to ${max} (got ${value ?? 'nothing'})`);
      }
      i++;
      return Number(value);
    };
    if (name === '--seconds') options.seconds = count(MAX_SECONDS);
    else if (name === '--users') options.users = count(MAX_USERS);
    else if (name === '--keep') options.keep = true;
    else if (name === '--endpoint') {
      const url = value === undefined ? undefined : URL.canParse(value) ? new URL(value) : undefined;
      if (!url || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
        throw new UsageError(
          `--endpoint takes the URL of a DynamoDB Local on this machine (got ${value ?? 'nothing'})`,
        );
      }
      options.endpoint = value;
      i++;
    } else
      throw new UsageError(
        `unknown argument ${name}; usage: npm run soak -- [--seconds N] [--users N] [--endpoint URL] [--keep]`,
      );
  }
  return options;
}

/** The children this run started, to stop by their process ids whatever way it ends. */
const children = new Set<ChildProcess>();

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // Gone meanwhile.
  }
}

function exitedOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM (the server then stops its DynamoDB Local), and SIGKILL to its process group after a grace. */
async function stopAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      stopChild(child);
      const stopped = await Promise.race([
        exitedOf(child).then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000)),
      ]);
      if (!stopped && child.pid !== undefined) {
        try {
          // The server runs in a process group of its own (detached): its DynamoDB Local is in it.
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          stopChild(child, 'SIGKILL');
        }
      }
      children.delete(child);
    }),
  );
}

async function waitUntilHealthy(base: string, server: ChildProcess, log: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`the server exited before it was ready:\n${tail(log)}`);
    }
    const healthy = await fetch(`${base}/v1/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return;
    if (Date.now() > deadline) throw new Error(`the server was not ready in ${timeoutMs / 1000} s:\n${tail(log)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function tail(file: string, lines = 30): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '';
}

/** The server's log lines of level WARN or above, counted by message. */
function warningsOf(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; message?: string };
      if (entry.level && ['WARN', 'ERROR', 'CRITICAL'].includes(entry.level) && entry.message) {
        counts[entry.message] = (counts[entry.message] ?? 0) + 1;
      }
    } catch {
      // Not a log entry of the handlers.
    }
  }
  return counts;
}

/** Runs the soak; resolves to the exit code. */
async function soak(options: Options, tmp: string): Promise<number> {
  const run = randomBytes(4).toString('hex');
  const pepper = randomBytes(32).toString('base64url');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serverLog = join(tmp, 'server.log');
  const recordFile = join(tmp, 'answers.jsonl');
  let tables: Tables = { stateTable: 'otp-state', customersTable: 'otp-customers', clientsTable: 'otp-clients' };
  if (options.endpoint) {
    tables = {
      stateTable: `soak-state-${run}`,
      customersTable: `soak-customers-${run}`,
      clientsTable: `soak-clients-${run}`,
    };
    const client = dynamoClient(options.endpoint);
    try {
      await createTables(client, tables);
    } finally {
      client.destroy();
    }
  }
  const serverEnv: Record<string, string> = {
    ...soakServerEnv(),
    OTP_PEPPER: pepper,
    OTP_DEV_MODE: 'true',
    OTP_DELIVERY: 'local',
    OTP_REQUIRE_API_KEY: 'false',
    OTP_STATE_TABLE: tables.stateTable,
    OTP_CUSTOMERS_TABLE: tables.customersTable,
    OTP_CLIENTS_TABLE: tables.clientsTable,
    PORT: String(port),
    HOST: '127.0.0.1',
    // Warnings and errors only: the info line of every code sent would only fill the log.
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...(options.endpoint ? { DYNAMODB_ENDPOINT: options.endpoint } : {}),
  };
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, ...serverEnv };
  if (!options.endpoint) delete env.DYNAMODB_ENDPOINT;
  for (const name of ['OTP_PEPPER_PREVIOUS', 'OTP_PEPPER_NEXT', 'OTP_SIGNING_KEYS', 'OTP_ALLOWED_CHANNELS'])
    delete env[name];

  const logFd = openSync(serverLog, 'a');
  const server = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  children.add(server);
  await waitUntilHealthy(base, server, serverLog, 120_000);
  const endpoint = options.endpoint ?? /DynamoDB:\s+(\S+)/.exec(readFileSync(serverLog, 'utf8'))?.[1];
  if (!endpoint) throw new Error(`the server did not say where its DynamoDB is:\n${tail(serverLog)}`);

  out(`Soak: ${options.seconds} s, ${options.users} virtual users, server ${base} (pid ${server.pid})`);
  out(
    `  DynamoDB Local at ${endpoint}${options.endpoint ? `, tables ${tables.stateTable}, …` : ' (in memory, started by the server)'}`,
  );
  out('  settings changed from the defaults (everything else, every limit checked below included, is default):');
  for (const [name, { value, why }] of Object.entries(SOAK_SERVER_ENV)) out(`    ${name}=${value}  (${why})`);

  const generator = spawn(
    process.execPath,
    ['--import', 'tsx', GENERATOR, base, String(options.seconds), String(options.users), recordFile, run],
    { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(generator);
  let generatorOut = '';
  let generatorErr = '';
  generator.stdout.on('data', (chunk: Buffer) => (generatorOut += chunk.toString()));
  generator.stderr.on('data', (chunk: Buffer) => (generatorErr += chunk.toString()));
  // The generator stops by itself at its deadline; this only guards against a hung one.
  const guard = setTimeout(() => stopChild(generator, 'SIGKILL'), (options.seconds + 120) * 1000);
  const code = await exitedOf(generator);
  clearTimeout(guard);
  children.delete(generator);
  if (code !== 0) throw new Error(`the load generator failed (exit ${code}):\n${generatorErr.slice(-3000)}`);
  const summary = JSON.parse(generatorOut.trim().split('\n').at(-1) ?? '{}') as GeneratorSummary;
  const records = existsSync(recordFile) ? readRecords(recordFile) : [];

  out();
  for (const line of workloadLines(SCENARIOS, summary.runs, records)) out(line);
  if (summary.errors > 0) out(`  generator errors: ${summary.errors}; first: ${summary.firstError}`);
  out();
  for (const line of latencyLines(records, summary.seconds)) out(line);
  out();
  out('Checking the invariants (scanning the tables, reading every session token handed out)…');
  const started = Date.now();
  const serverWarnings = warningsOf(serverLog);
  const results = await checkInvariants({ endpoint, tables, env: serverEnv, records, baseUrl: base, serverWarnings });
  out(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const warned = Object.entries(serverWarnings).sort((a, b) => b[1] - a[1]);
  out(
    `Server warnings and errors: ${warned.length === 0 ? 'none' : warned.map(([message, count]) => `${message} x${count}`).join(', ')}`,
  );
  for (const line of invariantLines(results)) out(line);
  if (server.exitCode !== null || server.signalCode !== null) {
    throw new Error(`the server stopped during the soak:\n${tail(serverLog)}`);
  }
  await stopAll();
  if (options.endpoint) {
    const client = dynamoClient(options.endpoint);
    try {
      for (const table of [tables.stateTable, tables.customersTable, tables.clientsTable])
        await client.send(new DeleteTableCommand({ TableName: table }));
    } finally {
      client.destroy();
    }
  }
  return results.every((result) => result.pass) && summary.errors === 0 ? 0 : 1;
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'otp-soak-'));
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`\nsoak: ${signal}, stopping what it started…\n`);
      void stopAll().finally(() => {
        rmSync(tmp, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }
  let code: number;
  try {
    code = await soak(options, tmp);
  } catch (error) {
    if (interrupted) return;
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    code = 2;
  }
  await stopAll();
  if (options.keep) process.stderr.write(`soak: the server's log and every answer are kept in ${tmp}\n`);
  else rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}

void main();
