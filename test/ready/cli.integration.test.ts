import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../fault-proxy.js';
import { freshTables } from '../support.js';

const run = promisify(execFile);

/**
 * `npm run ready` (issue 14, item 2): the operators' readiness check reads every table, exits 0 when
 * they answer and 1 within seconds when the database is gone, naming each table's failure.
 */
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(inject('dynamoEndpoint'));
});
afterAll(async () => {
  await proxy.close();
});

async function ready(env: Record<string, string>): Promise<{ code: number; output: Record<string, any>; ms: number }> {
  const started = performance.now();
  const outcome = await run(process.execPath, ['--import', 'tsx', 'functions/ready/main.ts'], {
    env: { ...process.env, ...env },
  }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  return {
    code: outcome.code,
    output: JSON.parse(outcome.stdout) as Record<string, any>,
    ms: performance.now() - started,
  };
}

describe('npm run ready', () => {
  it('exits 0 when every table answers, and 1 within seconds when the database is gone', async () => {
    const { client, ...tables } = await freshTables();
    client.destroy();
    const env = {
      DYNAMODB_ENDPOINT: proxy.endpoint,
      OTP_STATE_TABLE: tables.stateTable,
      OTP_CUSTOMERS_TABLE: tables.customersTable,
      OTP_CLIENTS_TABLE: tables.clientsTable,
    };
    const up = await ready(env);
    expect(up).toMatchObject({
      code: 0,
      output: {
        ready: true,
        tables: { [tables.stateTable]: 'ok', [tables.customersTable]: 'ok', [tables.clientsTable]: 'ok' },
      },
    });

    await proxy.refuse();
    try {
      const down = await ready(env);
      expect(down.code).toBe(1);
      expect(down.output.ready).toBe(false);
      expect(down.output.tables[tables.stateTable]).toMatch(/ECONNREFUSED/);
      expect(down.ms).toBeLessThan(10_000);
    } finally {
      await proxy.pass();
    }
  });

  it('a table that does not exist is not ready', async () => {
    const down = await ready({ DYNAMODB_ENDPOINT: inject('dynamoEndpoint'), OTP_STATE_TABLE: 'no-such-table-here' });
    expect(down.code).toBe(1);
    expect(down.output.tables['no-such-table-here']).toMatch(/ResourceNotFoundException/);
  });
});
