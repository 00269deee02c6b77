import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type Served, serveOnFreshTables } from './npm-start-harness.js';

/**
 * scripts/curl-matrix.sh, the matrix README "Deploy to AWS" runs against a dev stage, run here
 * against the real `npm start`: every line it checks holds for the local server too (the gateway's
 * own answers aside, which only a deployed stage gives).
 */
let served: Served | undefined;

afterAll(() => {
  served?.npm.kill();
  if (served) rmSync(served.tmp, { recursive: true, force: true });
});

describe('the curl matrix', () => {
  it('passes against npm start: every answer as promised', async () => {
    served = await serveOnFreshTables();
    const { stdout } = await promisify(execFile)('bash', ['scripts/curl-matrix.sh', served.base], {
      env: { ...process.env, TARGET: `matrix-${Date.now()}@example.com` },
    });
    expect(stdout).not.toContain('FAIL');
    expect(stdout.match(/^ok {4}/gm)?.length).toBeGreaterThanOrEqual(18);
    expect(stdout).toContain('All answers as promised.');
  }, 120_000);
});
