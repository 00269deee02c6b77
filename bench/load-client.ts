/**
 * The load generator, run by bench/load.ts in its own process so that its clients do not share an
 * event loop with the server they measure. Arguments: base URL, clients, seconds, target prefix.
 * Runs complete logins (send, verify, session check) until the time is up, then prints one JSON line.
 */
import { percentile } from './bundles.js';

export interface LoadClientResult {
  flows: number;
  errors: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  stepMedianMs: { send: number; verify: number; session: number };
  firstError?: string;
}

async function main() {
  const [base = '', clients = '1', seconds = '1', prefix = 'load'] = process.argv.slice(2);
  const flowMs: number[] = [];
  const steps = { send: [] as number[], verify: [] as number[], session: [] as number[] };
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const deadline = started + Number(seconds) * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const target = `${prefix}-${next++}@example.com`;
      const flowStart = performance.now();
      try {
        const sent = await post(base, '/v1/otp/send', { target }, steps.send);
        const verified = await post(base, '/v1/otp/verify', { target, code: sent.mockCode }, steps.verify);
        await get(base, '/v1/session', String(verified.sessionToken), steps.session);
        flowMs.push(performance.now() - flowStart);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Number(clients) }, client));
  const result: LoadClientResult = {
    flows: flowMs.length,
    errors,
    seconds: (performance.now() - started) / 1000,
    p50Ms: percentile(flowMs, 50),
    p99Ms: percentile(flowMs, 99),
    stepMedianMs: {
      send: percentile(steps.send, 50),
      verify: percentile(steps.verify, 50),
      session: percentile(steps.session, 50),
    },
    ...(firstError ? { firstError } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
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

main().catch((error: unknown) => {
  process.stderr.write(`load client failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
