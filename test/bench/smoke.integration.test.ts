import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
let out: string | undefined;

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe('npm run bench, smoke mode', () => {
  it('measures every part on tiny numbers and writes both result files', async () => {
    out = await mkdtemp(join(tmpdir(), 'otp-bench-smoke-'));
    await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
      env: { ...process.env, DYNAMODB_ENDPOINT: '' },
      timeout: 120_000,
    });
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as {
      smoke: boolean;
      bundles: { name: string; bytes: number }[];
      init: { medianMs: number }[];
      operations: { operation: string; requests: number; writeUnits: number }[];
      cost: { perMillionLogins: { total: number } };
      load: { flows: number; errors: number }[];
    };
    expect(results.smoke).toBe(true);
    expect(results.bundles.map((bundle) => bundle.name)).toEqual([
      'health',
      'send-otp',
      'verify-otp',
      'session',
      'cleanup',
    ]);
    expect(results.init.every((init) => init.medianMs > 0)).toBe(true);
    const session = results.operations.find((operation) => operation.operation === 'session check');
    expect(session?.requests).toBe(1);
    const send = results.operations.find((operation) => operation.operation === 'send: first code to a target');
    expect(send?.writeUnits).toBeGreaterThan(0);
    expect(results.cost.perMillionLogins.total).toBeGreaterThan(0);
    expect(results.load.every((level) => level.flows > 0 && level.errors === 0)).toBe(true);
    const report = await readFile(join(out, 'RESULTS.md'), 'utf8');
    expect(report).toContain('Smoke run on tiny numbers');
    expect(report).toContain('## Targets');
  }, 150_000);
});
