import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { handler as health } from '../functions/handlers/health.js';
import { handler as openapi } from '../functions/handlers/openapi.js';
import { handler as wellKnown } from '../functions/handlers/well-known.js';
import { createLocalServer } from '../functions/local/server.js';
import { benchDeps, benchHandlers } from './harness.js';
import type { LoadClientResult } from './load-client.js';
import { difference } from './meter.js';

const run = promisify(execFile);
const CLIENT = fileURLToPath(new URL('load-client.ts', import.meta.url));

export interface LoadResult {
  concurrency: number;
  seconds: number;
  flows: number;
  errors: number;
  flowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Median client-side latency of each step of a flow. */
  stepMedianMs: { send: number; verify: number; session: number };
  /** DynamoDB requests per flow, and their mean duration: the part of a flow spent waiting on the database. */
  dynamoRequestsPerFlow: number;
  dynamoMsPerRequest: number;
}

/**
 * Complete logins (send, verify, session check) through the local server on 127.0.0.1, by a
 * fixed number of concurrent clients for a fixed time. The server (the local server module with the
 * real handlers) runs here; the clients run in a child process (bench/load-client.ts). Each flow
 * uses its own target, so the send limits never refuse one; the per-IP limit is off because every
 * client shares one address.
 */
export async function runLoad(endpoint: string, levels: number[], secondsPerLevel: number): Promise<LoadResult[]> {
  const deps = await benchDeps(endpoint, { OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0' });
  const { send, verify, session, sessions, refresh, policy } = benchHandlers(deps);
  const server = createLocalServer({
    health,
    'send-otp': send,
    'verify-otp': verify,
    session,
    sessions,
    refresh,
    policy,
    'well-known': wellKnown,
    openapi,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const results: LoadResult[] = [];
  try {
    for (const concurrency of levels) {
      const before = deps.meter.snapshot();
      const args = [
        '--import',
        'tsx',
        CLIENT,
        base,
        String(concurrency),
        String(secondsPerLevel),
        `load${concurrency}`,
      ];
      // The child stops by itself at its deadline; the timeout only guards against a hung one.
      const { stdout } = await run(process.execPath, args, {
        env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        timeout: (secondsPerLevel + 60) * 1000,
      });
      const client = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as LoadClientResult;
      const used = difference(deps.meter.snapshot(), before);
      if (client.firstError) process.stderr.write(`bench: load at ${concurrency}: ${client.firstError}\n`);
      results.push({
        concurrency,
        seconds: Math.round(client.seconds * 100) / 100,
        flows: client.flows,
        errors: client.errors,
        flowsPerSecond: Math.round((client.flows / client.seconds) * 10) / 10,
        p50Ms: client.p50Ms,
        p99Ms: client.p99Ms,
        stepMedianMs: client.stepMedianMs,
        dynamoRequestsPerFlow: Math.round((used.requests / Math.max(1, client.flows)) * 10) / 10,
        dynamoMsPerRequest: Math.round((used.requestMs / Math.max(1, used.requests)) * 10) / 10,
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return results;
}
