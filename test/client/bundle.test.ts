import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The client must run where apps run: a browser or React Native, with `fetch` and nothing of
 * Node. tsconfig.client.json type-checks it without Node's types; here esbuild bundles it for the
 * browser, where an import of a Node built-in fails the build, and reports its weight.
 */
describe('client bundle', () => {
  it('bundles for the browser with no Node built-in, and stays small', async () => {
    const result = await build({
      entryPoints: ['client/index.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2020',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.every((input) => input.startsWith('client/'))).toBe(true);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).not.toMatch(/\b(process|Buffer|require)\b/);
    // What the client costs an app, minified before gzip: about 7 KB when this was written.
    expect(code.length).toBeLessThan(12_000);
  });
});

describe('otp-service/client', () => {
  it('points apps at the compiled JavaScript and declarations (npm run build:client), and this repo at the source', () => {
    const { exports } = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
    expect(exports['./client']).toEqual({
      'otp-source': './client/index.ts',
      types: './dist/client/index.d.ts',
      default: './dist/client/index.js',
    });
  });
});
