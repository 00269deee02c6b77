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
import {
  type BuildLevers,
  bundlingFor,
  CHANNEL_DEFINES,
  defaultLevers,
  esbuildOptions,
  STOCK_BUILD,
} from '../../lib/function-defaults.js';

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

/** Builds a handler as the stack does, loads it in a fresh Node process and says what `handler` is. */
async function buildAndLoad(
  name: string,
  levers?: BuildLevers,
  file = name,
  extraEnv: Record<string, string> = {},
): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'otp-bundles-'));
  const outfile = join(dir, `${file}.mjs`);
  const entry = fileURLToPath(new URL(`../../functions/handlers/${name}.ts`, import.meta.url));
  await build({ ...esbuildOptions(entry, outfile, levers), logLevel: 'silent' });
  expect((await stat(outfile)).size).toBeGreaterThan(0);

  const env = {
    PATH: process.env.PATH,
    ...FUNCTION_ENV,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    ...extraEnv,
  };
  const script = `const m = await import(${JSON.stringify(`file://${outfile}`)}); console.log(typeof m.handler);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
  return stdout.trim();
}

describe('Lambda bundles, built as the stack builds them', () => {
  it.each(BUNDLED)('%s loads in a fresh Node process and exports handler', async (name) => {
    expect(await buildAndLoad(name)).toBe('function');
  });

  it('send-otp built for the SMS channel only (channels) loads with the SMS deployment', async () => {
    expect(await buildAndLoad('send-otp', defaultLevers({ channels: ['sms'] }), 'send-otp-sms')).toBe('function');
  });

  it('send-otp built with the phone metadata of the US loads where the US is allowed', async () => {
    expect(await buildAndLoad('send-otp', defaultLevers({ phoneCountries: ['US'] }), 'send-otp-us')).toBe('function');
  });

  it('send-otp built for the US refuses to start where its allow-list was widened to GB, naming the variable', async () => {
    await expect(
      buildAndLoad('send-otp', defaultLevers({ phoneCountries: ['US'] }), 'send-otp-us-gb', {
        OTP_SMS_ALLOWED_COUNTRIES: 'US,GB',
      }),
    ).rejects.toThrow(/OTP_SMS_ALLOWED_COUNTRIES allows GB, but this function was built with the phone numbers of /);
  });

  it('send-otp built for e-mail only refuses to start where SMS is allowed, naming the variable', async () => {
    await expect(buildAndLoad('send-otp', defaultLevers({ channels: ['email'] }), 'send-otp-email')).rejects.toThrow(
      /OTP_ALLOWED_CHANNELS allows sms, but this function was built without its sender/,
    );
  });
});

describe('build levers (lib/function-defaults.ts)', () => {
  /** The packages a build of the session function is made of. */
  async function packagesOf(levers?: BuildLevers): Promise<Set<string>> {
    const entry = fileURLToPath(new URL('../../functions/handlers/session.ts', import.meta.url));
    const { metafile } = await build({
      ...esbuildOptions(entry, '/dev/null', levers),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const packages = Object.keys(metafile.inputs).flatMap((path) => {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      return match?.[1] ? [match[1]] : [];
    });
    return new Set(packages);
  }

  it('the stack build takes credentials from the environment only and leaves the X-Ray SDK out', async () => {
    const packages = await packagesOf();
    expect(packages.has('@aws-sdk/credential-provider-env')).toBe(true);
    for (const left of [
      '@aws-sdk/credential-provider-node',
      '@aws-sdk/credential-provider-ini',
      '@aws-sdk/nested-clients',
    ]) {
      expect(packages.has(left)).toBe(false);
    }
    expect(packages.has('aws-xray-sdk-core')).toBe(false);
    expect(packages.has('@aws-lambda-powertools/tracer')).toBe(false);
  });

  it('keeps the X-Ray SDK where asked (xraySdkTracing), and the whole chain in the stock build', async () => {
    const traced = await packagesOf(defaultLevers({ xraySdk: true }));
    expect(traced.has('aws-xray-sdk-core')).toBe(true);
    expect(traced.has('@aws-sdk/credential-provider-node')).toBe(false);
    const stock = await packagesOf(STOCK_BUILD);
    expect(stock.has('@aws-sdk/credential-provider-node')).toBe(true);
    expect(stock.has('aws-xray-sdk-core')).toBe(true);
  });

  /**
   * The files a build of a handler carries: its output's inputs. The metafile's own `inputs` list
   * every module esbuild read, those it then left out as unused too.
   */
  async function bundled(handler: string, levers?: BuildLevers): Promise<string[]> {
    const entry = fileURLToPath(new URL(`../../functions/handlers/${handler}.ts`, import.meta.url));
    const { metafile } = await build({
      ...esbuildOptions(entry, '/dev/null', levers),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    return Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs));
  }
  const storeModules = (files: string[]) =>
    files.flatMap((path) => /functions\/adapters\/dynamo\/([^/]+)\.ts$/.exec(path)?.[1] ?? []);
  const hasPackage = (files: string[], name: string) => files.some((path) => path.includes(`node_modules/${name}/`));

  it('builds the session function with the store modules of its use cases only (functions/wiring.ts)', async () => {
    const modules = storeModules(await bundled('session'));
    expect(modules).toEqual(expect.arrayContaining(['sessions', 'families']));
    for (const left of [
      'send-limits',
      'sms-limits',
      'stamps',
      'login',
      'idempotency',
      'failures',
      'codes',
      'refresh',
    ]) {
      expect(modules).not.toContain(left);
    }
  });

  it('leaves the SNS client out of an e-mail-only build, and the SES client out of an SMS-only one', async () => {
    const both = await bundled('send-otp');
    expect(hasPackage(both, '@aws-sdk/client-sns')).toBe(true);
    expect(hasPackage(both, '@aws-sdk/client-ses')).toBe(true);
    const emailOnly = await bundled('send-otp', defaultLevers({ channels: ['email'] }));
    expect(hasPackage(emailOnly, '@aws-sdk/client-sns')).toBe(false);
    expect(hasPackage(emailOnly, '@aws-sdk/client-ses')).toBe(true);
    const smsOnly = await bundled('send-otp', defaultLevers({ channels: ['sms'] }));
    expect(hasPackage(smsOnly, '@aws-sdk/client-sns')).toBe(true);
    expect(hasPackage(smsOnly, '@aws-sdk/client-ses')).toBe(false);
  });

  it('passes the same levers to NodejsFunction as esbuild options', () => {
    const bundling = bundlingFor(defaultLevers());
    expect(bundling.define).toEqual({ 'process.env.OTP_BUILD_XRAY_SDK': '"off"' });
    expect(bundling.esbuildArgs?.['--alias']).toEqual([
      `@aws-sdk/credential-provider-node=${fileURLToPath(new URL('../../functions/adapters/lambda-credentials.ts', import.meta.url))}`,
    ]);
    expect(bundlingFor(defaultLevers({ xraySdk: true })).define).toEqual({});
    expect(bundlingFor(defaultLevers({ channels: ['email'] })).define).toEqual({
      'process.env.OTP_BUILD_XRAY_SDK': '"off"',
      [CHANNEL_DEFINES.sms]: '"off"',
    });
    expect(bundlingFor(defaultLevers({ channels: ['sms', 'email'] })).define).not.toHaveProperty(CHANNEL_DEFINES.sms);
  });
});
