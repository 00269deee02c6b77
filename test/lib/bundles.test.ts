import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsManagerStandIn, type StandIn } from '../../bench/stand-ins.js';
import { initialKeySet, serializeKeySet } from '../../functions/core/signing-keys.js';
import { HANDLERS } from '../../functions/routes.js';
import { esbuildOptions } from '../../lib/function-defaults.js';

const run = promisify(execFile);

const SIGNING_KEYS_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:otp-signing-keys-AbCdEf';

/**
 * The variables the stack gives the functions of a production SMS deployment, with a pepper of the
 * strength config.ts asks for inline instead of a secret: enough for a bundle to load. A production
 * stage refuses inline signing keys, so those come from the Secrets Manager stand-in of the bench.
 * The cold-start benchmark runs them with the deployed configuration itself (bench/cold-start.ts).
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
  OTP_SIGNING_KEYS_SECRET_ARN: SIGNING_KEYS_ARN,
  OTP_ISSUER: 'https://abc123defg.execute-api.us-east-1.amazonaws.com/prod',
  AWS_ACCESS_KEY_ID: 'ASIABUNDLETEST000000',
  AWS_SECRET_ACCESS_KEY: 'bundle-test-secret-access-key',
};
let dir: string | undefined;
let secrets: StandIn;

beforeAll(async () => {
  secrets = await secretsManagerStandIn({ [SIGNING_KEYS_ARN]: serializeKeySet(initialKeySet(Date.now())) });
});

afterAll(async () => {
  await secrets.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every function the stack builds: the API's handlers, the cleanup and the authorizer (lib/otp-authorizer.ts). */
const BUNDLED = [...HANDLERS, 'cleanup', 'authorizer'];

describe('Lambda bundles, built as the stack builds them', () => {
  it.each(BUNDLED)('%s loads in a fresh Node process and exports handler', async (name) => {
    dir ??= await mkdtemp(join(tmpdir(), 'otp-bundles-'));
    const outfile = join(dir, `${name}.mjs`);
    const entry = fileURLToPath(new URL(`../../functions/handlers/${name}.ts`, import.meta.url));
    await build({ ...esbuildOptions(entry, outfile), logLevel: 'silent' });
    expect((await stat(outfile)).size).toBeGreaterThan(0);

    const env = { PATH: process.env.PATH, ...FUNCTION_ENV, AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint };
    const script = `const m = await import(${JSON.stringify(`file://${outfile}`)}); console.log(typeof m.handler);`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
    expect(stdout.trim()).toBe('function');
  });
});
