import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Runs the CDK app entry point as `cdk synth` would, with context, and no synthesis output kept. */
async function synthApp(context: Record<string, string>) {
  const outdir = await mkdtemp(join(tmpdir(), 'otp-cdk-'));
  const env = {
    ...process.env,
    CDK_CONTEXT_JSON: JSON.stringify({ ...context, 'aws:cdk:bundling-stacks': [] }),
    CDK_OUTDIR: outdir,
  };
  try {
    return await run(process.execPath, ['--import', 'tsx', 'bin/otp-service.ts'], { env }).then(
      (result) => ({ code: 0, ...result }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

describe('the CDK app', () => {
  it('synthesises a dev stage', async () => {
    const result = await synthApp({ stage: 'dev', smsCountries: 'US' });
    expect(result.stderr).not.toContain('Invalid context');
    expect(result.code).toBe(0);
  }, 60_000);

  it('refuses dev mode in prod with a clear message', async () => {
    const result = await synthApp({ stage: 'prod', devMode: 'true', smsCountries: 'US' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid context "devMode": is refused in the prod stage');
  }, 60_000);

  it('refuses a bad setting naming it', async () => {
    const result = await synthApp({ stage: 'dev', smsCountries: 'United States' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid context "smsCountries"');
  }, 60_000);
});
