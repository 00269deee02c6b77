import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DynamoClientRegistry } from '../../functions/adapters/dynamo/clients.js';
import { hashApiKey, identifyClient } from '../../functions/core/clients.js';
import { stateFilePath, writeStateFile } from '../../functions/local/state-file.js';
import { freshTables } from '../support.js';

const run = promisify(execFile);

/** A temporary directory of its own: state files of servers that other tests start stay out of it. */
const privateTmp = mkdtempSync(join(tmpdir(), 'otp-clients-cli-test-'));
afterAll(() => rmSync(privateTmp, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run --silent clients -- ...` as an operator runs it; never rejects, so every exit can be read. */
async function clients(args: string[], env: Record<string, string | undefined> = {}): Promise<Outcome> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TMPDIR: privateTmp, AWS_EC2_METADATA_DISABLED: 'true' };
  delete childEnv.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'functions/clients/main.ts', ...args], {
      env: childEnv,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function table() {
  const { client, clientsTable } = await freshTables();
  const env = { DYNAMODB_ENDPOINT: inject('dynamoEndpoint'), OTP_CLIENTS_TABLE: clientsTable };
  const ok = async (args: string[]) => {
    const outcome = await clients(args, env);
    expect(outcome, outcome.stderr).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(outcome.stdout);
  };
  const identify = (apiKey: string) =>
    identifyClient(
      { directory: new DynamoClientRegistry(client, clientsTable), now: Date.now, requireApiKey: true },
      apiKey,
    );
  return { client, clientsTable, env, ok, identify };
}

/** A refusal: non-zero, nothing on stdout, one line on stderr. */
function expectRefusal(outcome: Outcome, code: number, message: RegExp | string) {
  expect(outcome.code, outcome.stderr).toBe(code);
  expect(outcome.stdout).toBe('');
  expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(outcome.stderr).toMatch(message);
}

describe('npm run clients against DYNAMODB_ENDPOINT', () => {
  it('adds, shows, lists, updates, disables, enables, adds and revokes keys, printing JSON', async () => {
    const { client, clientsTable, ok, identify } = await table();

    const added = await ok(['add', '--name', 'Kiosk', '--policy', '{"trust":"relaxed","smsCountries":["de"]}']);
    expect(added).toEqual({
      clientId: expect.stringMatching(/^cli_/),
      name: 'Kiosk',
      status: 'active',
      policy: { trust: 'relaxed', smsCountries: ['DE'] },
      apiKey: expect.stringMatching(/^otpk_/),
      keyId: expect.stringMatching(/^key_/),
    });
    expect((await identify(added.apiKey))?.id).toBe(added.clientId);

    const shown = await ok(['show', added.clientId]);
    expect(shown).toEqual({
      clientId: added.clientId,
      name: 'Kiosk',
      status: 'active',
      policy: { trust: 'relaxed', smsCountries: ['DE'] },
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: shown.createdAt,
      keys: [{ keyId: added.keyId, createdAt: shown.createdAt, revokedAt: null }],
    });
    expect(await ok(['list'])).toEqual([shown]);

    const updated = await ok(['update', added.clientId, '--policy', '{"trust":"trusted","otpRequiredFor":["payout"]}']);
    expect(updated.policy).toEqual({ trust: 'trusted', otpRequiredFor: ['payout'] });
    expect((await ok(['disable', added.clientId])).status).toBe('disabled');
    await expect(identify(added.apiKey)).rejects.toMatchObject({ slug: 'client-disabled' });
    expect((await ok(['enable', added.clientId])).status).toBe('active');

    const second = await ok(['add-key', added.clientId]);
    expect(second).toEqual({
      clientId: added.clientId,
      keyId: expect.stringMatching(/^key_/),
      apiKey: expect.stringMatching(/^otpk_/),
    });
    const revoked = await ok(['revoke-key', added.clientId, added.keyId]);
    expect(revoked).toEqual({ clientId: added.clientId, keyId: added.keyId, revokedAt: expect.any(String) });
    await expect(identify(added.apiKey)).rejects.toMatchObject({ slug: 'invalid-api-key' });
    expect((await identify(second.apiKey))?.id).toBe(added.clientId);

    const after = await ok(['show', added.clientId]);
    expect(after.keys).toEqual([
      { keyId: added.keyId, createdAt: expect.any(String), revokedAt: revoked.revokedAt },
      { keyId: second.keyId, createdAt: expect.any(String), revokedAt: null },
    ]);
    // Keys and hashes appear nowhere but in the answers of add and add-key, and hashes not even there.
    const listed = JSON.stringify(await ok(['list']));
    for (const apiKey of [added.apiKey, second.apiKey]) {
      expect(listed).not.toContain(apiKey);
      expect(listed).not.toContain(hashApiKey(apiKey));
      expect(JSON.stringify([added, second])).not.toContain(hashApiKey(apiKey));
    }
    const items = (await client.send(new ScanCommand({ TableName: clientsTable }))).Items ?? [];
    expect(items).toHaveLength(3);
  }, 120_000);

  it('prints help and exits 0', async () => {
    const outcome = await clients(['--help']);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('Usage: npm run --silent clients -- COMMAND');
    expect(outcome.stdout).toContain('revoke-key CLIENT_ID KEY_ID');
  });

  it('refuses bad input with one line naming the argument or field, and writes nothing', async () => {
    const { client, clientsTable, env, ok } = await table();
    const added = await ok(['add', '--name', 'Kiosk']);
    const cases: [string[], number, RegExp | string][] = [
      [['remove', added.clientId], 2, /^Unknown command "remove"/],
      [['show'], 2, /^CLIENT_ID is missing/],
      [['revoke-key', added.clientId], 2, /^KEY_ID is missing/],
      [['list', 'extra'], 2, /^Unexpected argument "extra"/],
      [['add'], 2, /^--name is required/],
      [['add', '--name', 'Kiosk', '--policy', '{trust:1}'], 2, /^--policy is not valid JSON/],
      [['show', 'cli_nobody'], 1, /^No client with id cli_nobody\.$/m],
      [['add-key', 'cli_nobody'], 1, /^No client with id cli_nobody\.$/m],
      [['revoke-key', added.clientId, 'key_nothing'], 1, `Client ${added.clientId} has no live key key_nothing.`],
      [
        ['update', added.clientId, '--policy', '{"codeLength":4,"trust":"lax"}'],
        1,
        /^policy\.codeLength: must be a whole number from 6 to 10; policy\.trust: /,
      ],
      [['add', '--name', 'x'.repeat(101)], 1, /^name: must be 1 to 100 characters/],
      [['add', '--name', 'Kiosk', '--policy', '{"colour":"red"}'], 1, /^policy\.colour: is not a policy field/],
    ];
    const outcomes = await Promise.all(cases.map(([args]) => clients(args, env)));
    cases.forEach(([, code, message], i) => expectRefusal(outcomes[i] as Outcome, code, message));

    expect((await ok(['show', added.clientId])).policy).toEqual({});
    expect((await client.send(new ScanCommand({ TableName: clientsTable }))).Items).toHaveLength(2);
  }, 120_000);

  it('says so when the table does not exist, or DynamoDB does not answer', async () => {
    const missing = await clients(['list'], {
      DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
      OTP_CLIENTS_TABLE: 'no-such-clients-table',
    });
    expectRefusal(missing, 1, /^The table no-such-clients-table does not exist \(DYNAMODB_ENDPOINT http/);
    const down = await clients(['list'], { DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' });
    expectRefusal(down, 1, /^Failed on otp-clients \(DYNAMODB_ENDPOINT http:\/\/127\.0\.0\.1:1\): .*ECONNREFUSED/);
  }, 60_000);
});

describe('npm run clients without DYNAMODB_ENDPOINT', () => {
  it('finds the running npm start through its state file, and ignores a stale one', async () => {
    const { clientsTable } = await freshTables();
    const state = {
      endpoint: inject('dynamoEndpoint'),
      clientsTable,
      stateTable: 'otp-state',
      customersTable: 'otp-customers',
    };
    // A server that was killed left its file; this test's own process stands in for a live one.
    writeStateFile(stateFilePath(1, privateTmp), { ...state, pid: 2 ** 22 + 1, url: 'http://127.0.0.1:1' });
    const none = await clients(['list'], { DYNAMODB_ENDPOINT: undefined });
    expectRefusal(none, 1, /^Nothing says which clients table to use\. One of: start the local server \(npm start\)/);

    writeStateFile(stateFilePath(2, privateTmp), { ...state, pid: process.pid, url: 'http://127.0.0.1:2' });
    const added = await clients(['add', '--name', 'Found'], { DYNAMODB_ENDPOINT: undefined });
    expect(added.code, added.stderr).toBe(0);
    const listed = await clients(['list'], { DYNAMODB_ENDPOINT: undefined });
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: 'Found' }]);

    // Two that run: it will not guess.
    writeStateFile(stateFilePath(3, privateTmp), { ...state, pid: process.pid, url: 'http://127.0.0.1:3' });
    expectRefusal(
      await clients(['list'], { DYNAMODB_ENDPOINT: undefined }),
      1,
      /^2 npm start servers run \(.*\): set DYNAMODB_ENDPOINT/,
    );
  }, 60_000);

  it('goes to AWS for --stage and says what is missing there', async () => {
    const outcome = await clients(['list', '--stage', 'qa'], {
      DYNAMODB_ENDPOINT: undefined,
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: join(privateTmp, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(privateTmp, 'none'),
    });
    expectRefusal(outcome, 1, /^Could not read the stack OtpService-qa from AWS: .*Region is missing \(pass --region/);
  }, 60_000);
});
