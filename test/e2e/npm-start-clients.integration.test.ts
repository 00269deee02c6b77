import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoClientRegistry } from '../../functions/adapters/dynamo/clients.js';
import { dynamoClient } from '../../functions/adapters/dynamo/client.js';
import { hashApiKey } from '../../functions/core/clients.js';
import { addClient } from '../../functions/core/manage-clients.js';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { stateFilePath } from '../../functions/local/state-file.js';
import { isAlive, type NpmStart, serveOnFreshTables, startNpm, waitFor, waitUntilReady } from './npm-start-harness.js';

const run = promisify(execFile);

/**
 * `npm start` and `npm run clients` together, as a developer uses them. Each server gets a temporary
 * directory of its own, so that servers other tests start are not "the one npm start that runs".
 */
const started: NpmStart[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const npm of started) npm.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function privateTmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'otp-npm-start-clients-'));
  dirs.push(dir);
  return dir;
}

async function stop(npm: NpmStart) {
  npm.process.kill('SIGTERM');
  await npm.exited;
  await waitFor('the server to stop', async () => (npm.output().includes('Stopped.') ? true : undefined), 10_000);
}

/** The CLI as a developer runs it next to npm start: no DYNAMODB_ENDPOINT, the same TMPDIR. */
async function clients(args: string[], tmp: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env.DYNAMODB_ENDPOINT;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'functions/clients/main.ts', ...args], { env });
  return JSON.parse(stdout);
}

describe('npm start with clients', () => {
  it('creates the client `local` on first start and prints its key, which `npm run clients -- show` knows', async () => {
    const tmp = privateTmp();
    const port = await freePort();
    const npm = startNpm({ PORT: String(port), TMPDIR: tmp });
    started.push(npm);
    await waitUntilReady(npm, `http://127.0.0.1:${port}`);

    const banner =
      /API key: +(otpk_[A-Za-z0-9_-]{43}) \(client local, (cli_[A-Za-z0-9_-]+); keys are optional here: OTP_REQUIRE_API_KEY=false\)/.exec(
        npm.output(),
      );
    expect(banner, npm.output()).not.toBeNull();
    const [, apiKey = '', clientId = ''] = banner ?? [];

    // The state file says where this server's tables are, for the CLI.
    const stateFile = stateFilePath(port, tmp);
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    const endpoint = /DynamoDB: +(http:\/\/127\.0\.0\.1:\d+)/.exec(npm.output())?.[1];
    expect(state).toEqual({
      pid: expect.any(Number),
      endpoint,
      clientsTable: 'otp-clients',
      stateTable: 'otp-state',
      customersTable: 'otp-customers',
      url: `http://127.0.0.1:${port}`,
    });
    expect(isAlive(state.pid)).toBe(true);

    const shown = await clients(['show', clientId], tmp);
    expect(shown).toMatchObject({ clientId, name: 'local', status: 'active', policy: {} });
    expect(shown.keys).toEqual([
      { keyId: expect.stringMatching(/^key_/), createdAt: expect.any(String), revokedAt: null },
    ]);
    // The printed key is that client's.
    const client = dynamoClient(endpoint);
    try {
      const holder = await new DynamoClientRegistry(client, 'otp-clients').findByKeyHash(hashApiKey(apiKey));
      expect(holder).toMatchObject({ client: { id: clientId }, keyId: shown.keys[0].keyId });
    } finally {
      client.destroy();
    }
    // The key is printed once, in the banner, and nowhere in the logs.
    expect(npm.output().split(apiKey)).toHaveLength(2);

    await stop(npm);
    expect(existsSync(stateFile)).toBe(false);
    expect(readdirSync(tmp).filter((name) => name.startsWith('otp-service-local-'))).toEqual([]);
  }, 180_000);

  it('creates no client where clients exist, and says how many and how to list them', async () => {
    const { npm, tmp, tables } = await serveOnFreshTables({}, ({ client, clientsTable }) =>
      addClient({ registry: new DynamoClientRegistry(client, clientsTable), now: Date.now }, 'Existing'),
    );
    started.push(npm);
    dirs.push(tmp);
    const { clientsTable } = tables;

    expect(npm.output()).toContain(`  clients:   1 in ${clientsTable} (npm run clients -- list)`);
    expect(npm.output()).not.toContain('API key:');
    expect(await clients(['list'], tmp)).toMatchObject([{ name: 'Existing' }]);
    await stop(npm);
  }, 180_000);
});
