import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
// Through the package's own name and its `exports` (package.json), as an app that installed it
// imports it; vitest.config.ts and tsconfig.json read the `otp-source` condition, the TypeScript
// source, so that the test needs no build (an app gets dist/, npm run build:cdk).
import { OtpService, type OtpServiceProps } from 'otp-service/cdk';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HANDLERS, ROUTES } from '../../functions/routes.js';
import { esbuildOptions } from '../../lib/function-defaults.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, Record<string, string>>;
};

describe('otp-service/cdk in a fresh app', () => {
  it('synthesises the functions, tables and API of OtpService in a stack of its own', () => {
    // What an app of its own writes (README, "Use as a construct in your own CDK app"), with bundling skipped.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const props: OtpServiceProps = {
      stage: 'dev',
      sms: { allowedCountries: ['US'] },
      email: { from: 'Acme <no-reply@acme.example>' },
    };
    const otp = new OtpService(stack, 'Otp', props);
    const t = Template.fromStack(stack);

    const functions = Object.values(t.findResources('AWS::Lambda::Function')).map(
      (fn) => (fn as { Properties: { Description?: string } }).Properties.Description,
    );
    for (const name of [...HANDLERS, 'cleanup']) expect(functions).toContain(`OTP service: ${name}`);
    t.resourceCountIs('AWS::DynamoDB::GlobalTable', 3);
    t.hasResourceProperties('AWS::ApiGateway::RestApi', { Name: 'otp-service-dev' });
    // One method per route, and one ANY per route path for the 405 (lib/gateway-responses.ts).
    t.resourceCountIs('AWS::ApiGateway::Method', ROUTES.length + new Set(ROUTES.map((route) => route.path)).size);
    t.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'dev', TracingEnabled: true });
    expect(Object.keys(otp.functions).sort()).toEqual([...HANDLERS].sort());
  });

  it('points the export at compiled JavaScript and declarations for apps, and at the source for this repo', () => {
    expect(packageJson.exports['./cdk']).toEqual({
      'otp-source': './lib/index.ts',
      types: './dist/lib/index.d.ts',
      default: './dist/lib/index.js',
    });
  });
});

describe('the package as npm installs it', () => {
  it('carries every file of the repository that a function bundle is built from (an app bundles them when it synthesises)', async () => {
    // What `npm install` of a git URL or a tarball gets: the files `npm pack` lists (package.json `files`).
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const packed = new Set((JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((file) => file.path));
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const needed = new Set<string>();
    for (const name of [...HANDLERS, 'cleanup', 'authorizer']) {
      const entry = fileURLToPath(new URL(`../../functions/handlers/${name}.ts`, import.meta.url));
      const result = await build({
        ...esbuildOptions(entry, '/dev/null'),
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      for (const input of Object.keys(result.metafile.inputs)) {
        const path = relative(root, input);
        if (!path.startsWith('node_modules/') && !path.startsWith('..')) needed.add(path);
      }
    }
    expect(needed.size).toBeGreaterThan(50);
    expect([...needed].filter((path) => !packed.has(path))).toEqual([]);
  }, 120_000);
});
