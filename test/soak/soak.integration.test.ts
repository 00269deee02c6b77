import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { customerKey, stateKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import { checkInvariants, type InvariantName } from '../../bench/soak/checker.js';
import { freshTables, PEPPER } from '../support.js';

/** The checker over seeded tables, with the answers `records` says the server gave. */
const checkSeeded = (
  tables: Parameters<typeof checkInvariants>[0]['tables'],
  records: Parameters<typeof checkInvariants>[0]['records'],
) =>
  checkInvariants({
    endpoint: inject('dynamoEndpoint'),
    tables,
    env: { OTP_PEPPER: PEPPER, OTP_DELIVERY: 'local', OTP_DEV_MODE: 'true' },
    records,
  });

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INVARIANTS: InvariantName[] = [
  'no-5xx',
  'code-single-use',
  'session-from-code',
  'attempts-max',
  'counter-limits',
  'refused-not-counted',
  'one-customer-per-target',
  'sessions-readable',
  'refresh-families',
];

/** `npm run soak` (the script it runs) on fresh tables of the run's DynamoDB Local. */
function runSoak(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/soak/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // It stops what it started on SIGTERM; only a hung soak meets this.
  const guard = setTimeout(() => child.kill('SIGTERM'), 55_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    }),
  );
}

describe('npm run soak', () => {
  it('loads npm start for a few seconds and finds every invariant holding, each on something', async () => {
    const { code, output } = await runSoak(['--seconds', '12', '--endpoint', inject('dynamoEndpoint')]);
    expect(code, output).toBe(0);
    for (const name of INVARIANTS) {
      const line = output.split('\n').find((text) => text.trim().split(/\s+/)[1] === name);
      expect(line, `${name} in:\n${output}`).toMatch(/^\s+PASS /);
      expect(Number(/\(checked (\d+)\)/.exec(line ?? '')?.[1]), line).toBeGreaterThan(0);
    }
    expect(output).toMatch(/Result: PASS \(9 of 9 invariants hold\)/);
    expect(output).toMatch(/^\s+all\s+\d+\s+[\d.]+\s+[\d.]+/m);
  }, 60_000);

  it('refuses an argument out of bounds before starting anything', async () => {
    const { code, output } = await runSoak(['--seconds', '100000']);
    expect(code).toBe(2);
    expect(output).toMatch(/--seconds takes a whole number from 1 to 1800/);
  });
});

describe('the soak checker', () => {
  it('reports FAIL for the invariant a seeded broken state breaks, and PASS for the others', async () => {
    const { client, ...tables } = await freshTables();
    const email = 'twice@example.com';
    const key = opaqueKey(PEPPER, 'target', email);
    const put = (table: string, item: Record<string, unknown>) =>
      client.send(new PutItemCommand({ TableName: table, Item: marshall(item) }));
    try {
      // A code with more attempts than its maximum.
      await put(tables.stateTable, {
        pk: stateKey.code(opaqueKey(PEPPER, 'target', 'ada@example.com'), 'login'),
        codeHash: 'x',
        attempts: 5,
        maxAttempts: 3,
        expiresAt: Date.now() + 60_000,
      });
      // An IP counter past the per-IP limit (30 an hour).
      await put(tables.stateTable, { pk: stateKey.ipCounter('somenet', 1), sends: 31 });
      // Two customers holding one e-mail address, one lookup item.
      for (const id of ['c1', 'c2']) {
        await put(tables.customersTable, { pk: customerKey.customer(id), id, email, emailKey: key, createdAt: 1 });
      }
      await put(tables.customersTable, { pk: customerKey.target(key), customerId: 'c1', channel: 'email' });
    } finally {
      client.destroy();
    }
    const results = await checkSeeded(tables, []);
    const verdict = Object.fromEntries(results.map((result) => [result.name, result.pass]));
    expect(verdict).toEqual({
      'no-5xx': true,
      'code-single-use': true,
      'session-from-code': true,
      'attempts-max': false,
      'counter-limits': false,
      // The IP counter holds 31 sends that no answer accounts for.
      'refused-not-counted': false,
      'one-customer-per-target': false,
      'sessions-readable': true,
      'refresh-families': true,
    });
    const byName = new Map(results.map((result) => [result.name, result]));
    expect(byName.get('attempts-max')?.violations).toEqual(['code item with 5 attempts (max 3)']);
    expect(byName.get('counter-limits')?.violations).toEqual(['IP counter at 31 (limit 30)']);
    expect(byName.get('one-customer-per-target')?.violations).toContain(`2 customers hold ${email.slice(0, 12)}…`);
  });

  it('takes a refresh item with no family for a refused login unless an answer handed its token out', async () => {
    const { client, ...tables } = await freshTables();
    const refreshItem = (token: string, sid: string) => ({
      pk: stateKey.refresh(createHash('sha256').update(token).digest('base64url')),
      sid,
      sessionHash: 'h',
      absoluteExpiresAt: Date.now() + 60_000,
    });
    try {
      for (const [token, sid] of [
        ['never-handed-out', 'refused-login'],
        ['handed-out', 'lost-family'],
      ] as const) {
        await client.send(
          new PutItemCommand({ TableName: tables.stateTable, Item: marshall(refreshItem(token, sid)) }),
        );
      }
    } finally {
      client.destroy();
    }
    const results = await checkSeeded(tables, [
      {
        scenario: 'seeded',
        route: 'refresh',
        status: 200,
        start: 1,
        end: 2,
        ip: '127.0.0.1',
        refreshToken: 'handed-out',
      },
    ]);
    const families = results.find((result) => result.name === 'refresh-families');
    expect(families?.violations).toEqual(['refresh item of family lost-family, which is not stored']);
    expect(families?.detail).toContain('1 refresh tokens of logins refused beside their put');
  });
});
