import type { AddressInfo } from 'node:net';
import { handler as health } from '../functions/handlers/health.js';
import { createSendOtpHandler } from '../functions/handlers/send-otp.js';
import { createSessionHandler } from '../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../functions/handlers/verify-otp.js';
import { createLocalServer } from '../functions/local/server.js';
import { percentile } from './bundles.js';
import { benchDeps } from './harness.js';
import { difference } from './meter.js';

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
 * fixed number of concurrent clients for a fixed time. Each flow uses its own target, so the send
 * limits never refuse one; the per-IP limit is off because every client shares one address.
 */
export async function runLoad(endpoint: string, levels: number[], secondsPerLevel: number): Promise<LoadResult[]> {
  const deps = await benchDeps(endpoint, { OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0' });
  const server = createLocalServer({
    health,
    'send-otp': createSendOtpHandler(deps),
    'verify-otp': createVerifyOtpHandler(deps),
    session: createSessionHandler(deps),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const results: LoadResult[] = [];
  let next = 0;
  try {
    for (const concurrency of levels) {
      const flowMs: number[] = [];
      const steps = { send: [] as number[], verify: [] as number[], session: [] as number[] };
      let errors = 0;
      const before = deps.meter.snapshot();
      const started = performance.now();
      const deadline = started + secondsPerLevel * 1000;
      const client = async () => {
        while (performance.now() < deadline) {
          const target = `load-${next++}@example.com`;
          const flowStart = performance.now();
          try {
            const sent = await post(base, '/v1/otp/send', { target }, steps.send);
            const verified = await post(base, '/v1/otp/verify', { target, code: sent.mockCode }, steps.verify);
            await get(base, '/v1/session', String(verified.sessionToken), steps.session);
            flowMs.push(performance.now() - flowStart);
          } catch {
            errors++;
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, client));
      const seconds = (performance.now() - started) / 1000;
      const used = difference(deps.meter.snapshot(), before);
      results.push({
        concurrency,
        seconds: Math.round(seconds * 100) / 100,
        flows: flowMs.length,
        errors,
        flowsPerSecond: Math.round((flowMs.length / seconds) * 10) / 10,
        p50Ms: percentile(flowMs, 50),
        p99Ms: percentile(flowMs, 99),
        stepMedianMs: {
          send: percentile(steps.send, 50),
          verify: percentile(steps.verify, 50),
          session: percentile(steps.session, 50),
        },
        dynamoRequestsPerFlow: Math.round((used.requests / Math.max(1, flowMs.length)) * 10) / 10,
        dynamoMsPerRequest: Math.round((used.requestMs / Math.max(1, used.requests)) * 10) / 10,
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return results;
}

async function post(base: string, path: string, body: unknown, times: number[]): Promise<Record<string, unknown>> {
  const started = performance.now();
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  times.push(performance.now() - started);
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
  return json;
}

async function get(base: string, path: string, token: string, times: number[]): Promise<void> {
  const started = performance.now();
  const response = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  times.push(performance.now() - started);
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
}
