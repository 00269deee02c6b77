import { COLD_START_ORDER } from '../../bench/cold-start.js';
import { benchBuilds, LEVER_FUNCTIONS, LEVERS } from '../../bench/levers.js';
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
      timeout: 240_000,
    });
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as {
      smoke: boolean;
      bundles: { name: string; bytes: number }[];
      coldStart: {
        name: string;
        expected: number | string;
        answers: (number | string)[];
        total: { medianMs: number };
        firstInvocation: { medianMs: number };
        xFloor: { median: number };
        secretsManagerCalls: number;
        snsCalls: number;
      }[];
      operations: {
        operation: string;
        requests: number;
        roundTrips: number;
        readUnits: number;
        writeUnits: number;
        billedWriteUnits: number;
      }[];
      cleanup: { itemsPerLogin: number; perItem: { billedWriteUnits: number } };
      cost: {
        writeUnitsPerLogin: number;
        cleanup: { writeUnitsPerLogin: number };
        perMillionLogins: { total: number; cleanup: number };
        expirySweep: {
          writeUnitsPerLogin: number;
          cleanup: { writeUnitsPerLogin: number };
          perMillionLogins: { total: number; cleanup: number };
        };
      };
      load: { flows: number; errors: number }[];
    };
    expect(results.smoke).toBe(true);
    // Every function of the stack, after the floor, and beside the login's functions their stock
    // build and one build per lever, in the order they are built and started.
    const functions = benchBuilds().map((build) => build.name);
    expect(functions).toEqual(expect.arrayContaining([...COLD_START_ORDER]));
    for (const name of LEVER_FUNCTIONS) {
      expect(functions).toEqual(expect.arrayContaining([`${name}@stock`, `${name}@env`, `${name}@no-xray`]));
    }
    // Phone metadata is only in the functions that read phone numbers.
    expect(functions.filter((name) => name.endsWith('@phone-us'))).toEqual([
      'send-otp@phone-us',
      'verify-otp@phone-us',
    ]);
    expect(results.bundles.map((bundle) => bundle.name)).toEqual(functions);
    // Every build's import plus first invocation, interleaved with the floor's, each answering as expected.
    const cold = new Map(results.coldStart.map((entry) => [entry.name, entry]));
    expect([...cold.keys()]).toEqual(functions);
    for (const entry of cold.values()) {
      expect(entry.answers.length).toBeGreaterThan(0);
      expect(entry.answers.every((answer) => answer === entry.expected)).toBe(true);
      expect(entry.total.medianMs).toBeGreaterThan(0);
      expect(entry.firstInvocation.medianMs).toBeGreaterThan(0);
      expect(entry.xFloor.median).toBeGreaterThan(0);
    }
    expect(cold.get('floor')?.expected).toBe(200);
    expect(cold.get('floor')?.xFloor.median).toBe(1);
    // Each lever is built in: the stack's build is smaller than the stock one, and so is each lever alone.
    const size = (name: string) => results.bundles.find((bundle) => bundle.name === name)?.bytes ?? 0;
    for (const name of LEVER_FUNCTIONS) {
      expect(size(name)).toBeLessThan(size(`${name}@stock`));
      for (const lever of LEVERS) {
        if (functions.includes(`${name}@${lever.suffix}`)) {
          expect(size(`${name}@${lever.suffix}`)).toBeLessThan(size(`${name}@stock`));
        }
      }
    }
    expect(size('floor@env')).toBeLessThan(size('floor'));
    // The pepper comes from the Secrets Manager stand-in, one read per staging label in parallel
    // (current, previous, pending: adapters/secret-pepper.ts), and send pays its first SNS call.
    expect(cold.get('send-otp')?.secretsManagerCalls).toBe(3);
    expect(cold.get('send-otp')?.snsCalls).toBe(1);
    // Verify reads the pepper's three labels and the signing keys (it issues access tokens).
    expect(cold.get('verify-otp')?.secretsManagerCalls).toBe(4);
    expect(cold.get('floor')?.secretsManagerCalls).toBe(0);
    // The signing keys: well-known reads them at start, the cleanup on each run (to rotate when due).
    expect(cold.get('well-known')?.secretsManagerCalls).toBe(1);
    expect(cold.get('cleanup')?.secretsManagerCalls).toBe(1);
    // The OpenAPI document is bundled in its function: no secret, no table.
    expect(cold.get('openapi')?.secretsManagerCalls).toBe(0);
    const session = results.operations.find((operation) => operation.operation === 'session check');
    expect(session?.requests).toBe(1);
    const send = results.operations.find((operation) => operation.operation === 'send: first code to a target');
    expect(send?.writeUnits).toBeGreaterThan(0);
    // Every request carries an API key: a function's first call reads the client (two GetItems, one
    // after the other), a warm one reads nothing for it, so send and verify keep their round trips.
    const op = (name: string) => results.operations.find((operation) => operation.operation === name);
    expect(op('policy: first call of a function (reads the client)')).toMatchObject({ requests: 2, roundTrips: 2 });
    expect(op('policy: warm')).toMatchObject({ requests: 0, roundTrips: 0 });
    expect(op('send: first call of a function (reads the client)')?.requests).toBe((send?.requests ?? 0) + 2);
    // Request counts, not round trips: which requests overlap depends on the machine's load.
    // Send: the counters, then the code; no read (a mailbox's token-bound stage is learnt from them).
    expect(send?.requests).toBe(2);
    expect(send?.readUnits).toBe(0);
    // Verify: the attempt, the target's lookup item and the guess's place in the run in parallel,
    // then the login transaction beside the read of the customer it found, the run's delete and the
    // refresh token's put (no transaction needs it: adapters/dynamo/refresh.ts, loginFamily).
    expect(op('verify: success, returning customer')?.requests).toBe(7);
    // A refresh reads its token, then rotates in one transaction beside the read of its customer
    // (the access token's trust level): two round trips.
    expect(op('refresh: rotate')?.requests).toBe(3);
    expect(send?.billedWriteUnits).toBeGreaterThanOrEqual(send?.writeUnits ?? 0);
    // The login both ways: TTL alone (the default), and with the expiry sweep, whose index entries
    // and deletes are part of a login's cost.
    const swept = results.cost.expirySweep;
    expect(results.cleanup.itemsPerLogin).toBeGreaterThan(0);
    expect(results.cleanup.perItem.billedWriteUnits).toBeGreaterThan(0);
    expect(swept.cleanup.writeUnitsPerLogin).toBeGreaterThan(0);
    expect(swept.perMillionLogins.cleanup).toBeGreaterThan(0);
    expect(results.cost.cleanup.writeUnitsPerLogin).toBe(0);
    expect(swept.writeUnitsPerLogin).toBeGreaterThan(results.cost.writeUnitsPerLogin);
    expect(swept.perMillionLogins.total).toBeGreaterThan(results.cost.perMillionLogins.total);
    expect(results.cost.perMillionLogins.total).toBeGreaterThan(0);
    expect(results.load.every((level) => level.flows > 0 && level.errors === 0)).toBe(true);
    const report = await readFile(join(out, 'RESULTS.md'), 'utf8');
    expect(report).toContain('Smoke run on tiny numbers');
    expect(report).toContain('## Targets');
    expect(report).toContain('## Cold start: import plus first invocation');
  }, 270_000);
});
