import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { freshTables } from '../support.js';

/** One `npm start`, run as a developer would, in its own process group so that a test can end all of it. */
export interface NpmStart {
  process: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Everything it printed so far, stdout and stderr together. */
  output: () => string;
  /** Ends the whole process group if it still runs (a test that failed half-way). */
  kill: () => void;
}

/** What the test run set up for itself must not leak into the server under test. */
const TEST_ONLY = ['DYNAMODB_ENDPOINT', 'OTP_PEPPER', 'OTP_DELIVERY', 'OTP_DEV_MODE', 'OTP_SIGNING_KEYS'];

/** `args` go to the server after `--`, as in `npm start -- --data-dir .data`. */
export function startNpm(extraEnv: Record<string, string> = {}, args: readonly string[] = []): NpmStart {
  let output = '';
  const env: NodeJS.ProcessEnv = { ...process.env, POWERTOOLS_LOG_LEVEL: 'INFO' };
  for (const name of TEST_ONLY) delete env[name];
  Object.assign(env, extraEnv);
  const child = spawn('npm', ['start', ...(args.length > 0 ? ['--', ...args] : [])], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    process: child,
    exited,
    output: () => output,
    kill: () => {
      if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  context: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far:\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Resolves once GET /v1/health answers 200; rejects with the server's output if it exits first. */
export async function waitUntilReady(npm: NpmStart, base: string, timeoutMs = 90_000): Promise<void> {
  let exited = false;
  void npm.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`npm start exited before it was ready:\n${npm.output()}`);
    if (
      await fetch(`${base}/v1/health`).then(
        (response) => response.ok,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`npm start was not ready in ${timeoutMs} ms:\n${npm.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** What serveOnFreshTables started: end `npm` and remove `tmp` when the test is done. */
export interface Served {
  npm: NpmStart;
  base: string;
  /** The server's own TMPDIR (its state file lands there). */
  tmp: string;
  tables: Omit<FreshTables, 'client'>;
}

type FreshTables = Awaited<ReturnType<typeof freshTables>>;

/**
 * The real `npm start` on a free port, on tables of its own in the run's DynamoDB Local (no second
 * Java process to wait for), with a TMPDIR of its own; resolves once it is ready. `before` runs on
 * the fresh tables before the server starts.
 */
export async function serveOnFreshTables(
  extraEnv: Record<string, string> = {},
  before: (tables: FreshTables) => Promise<unknown> = async () => {},
): Promise<Served> {
  const { client, ...tables } = await freshTables();
  try {
    await before({ client, ...tables });
  } finally {
    client.destroy();
  }
  const tmp = mkdtempSync(join(tmpdir(), 'otp-npm-start-'));
  const port = await freePort();
  const npm = startNpm({
    PORT: String(port),
    TMPDIR: tmp,
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    OTP_STATE_TABLE: tables.stateTable,
    OTP_CUSTOMERS_TABLE: tables.customersTable,
    OTP_CLIENTS_TABLE: tables.clientsTable,
    ...extraEnv,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(npm, base);
  } catch (error) {
    npm.kill();
    throw error;
  }
  return { npm, base, tmp, tables };
}
