import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { HANDLERS } from '../../functions/routes.js';
import { esbuildOptions } from '../../lib/function-defaults.js';

const run = promisify(execFile);

/**
 * The variables the stack gives the functions of a production SMS deployment, with a pepper of the
 * strength config.ts asks for inline instead of a secret: enough for a bundle to load. The cold-start
 * benchmark runs them with the deployed configuration itself (bench/cold-start.ts).
 */
const FUNCTION_ENV = {
  OTP_STAGE: 'prod',
  OTP_DELIVERY: 'aws',
  OTP_ALLOWED_CHANNELS: 'sms',
  OTP_SMS_ALLOWED_COUNTRIES: 'US',
  OTP_PEPPER: randomBytes(32).toString('base64url'),
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'WARN',
};
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Lambda bundles, built as the stack builds them', () => {
  it.each([...HANDLERS, 'cleanup'])('%s loads in a fresh Node process and exports handler', async (name) => {
    dir ??= await mkdtemp(join(tmpdir(), 'otp-bundles-'));
    const outfile = join(dir, `${name}.mjs`);
    const entry = fileURLToPath(new URL(`../../functions/handlers/${name}.ts`, import.meta.url));
    await build({ ...esbuildOptions(entry, outfile), logLevel: 'silent' });
    expect((await stat(outfile)).size).toBeGreaterThan(0);

    const env = { PATH: process.env.PATH, ...FUNCTION_ENV };
    const script = `const m = await import(${JSON.stringify(`file://${outfile}`)}); console.log(typeof m.handler);`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
    expect(stdout.trim()).toBe('function');
  });
});
