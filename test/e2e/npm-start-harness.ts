import { type ChildProcess, spawn } from 'node:child_process';

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
