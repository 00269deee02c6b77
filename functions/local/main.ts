/**
 * `npm start`: the whole service on one machine. Starts DynamoDB Local (unless DYNAMODB_ENDPOINT
 * points at one), creates the tables, and serves the deployed handler exports over HTTP with dev
 * mode on and codes printed to a local outbox instead of SNS and SES.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient, FUNCTION_REQUEST_LIMITS, LOCAL_KEY, LOCAL_REGION } from '../adapters/dynamo/client.js';
import { checkReadiness } from '../adapters/dynamo/readiness.js';
import { DynamoClientRegistry } from '../adapters/dynamo/clients.js';
import { accessTokenAlgorithm, ConfigError, loadConfig } from '../config.js';
import { OPENAPI_PATH } from '../routes.js';
import { initialKeySet, serializeKeySet } from '../core/signing-keys.js';
import { addClient, listClients } from '../core/manage-clients.js';
import {
  checkTables,
  createTables,
  JavaMissingError,
  type RunningDynamoDb,
  startDynamoDbLocal,
} from './dynamodb-local.js';
import {
  ArgumentError,
  claimDataDir,
  type DataDir,
  dataDirArgument,
  keptPepper,
  keptSigningKeys,
  openDataDir,
} from './data-dir.js';
import { keepLocalMessages } from '../adapters/local-outbox.js';
import { parseAllowedHosts } from './host-check.js';
import { OUTBOX_PATH, outboxLogFor } from './outbox-route.js';
import { createLocalServer, DOCS_PATH, type Handlers, READY_PATH } from './server.js';
import { TRY_PATH, tryPages } from './try-page.js';
import { removeStateFile, stateFilePath, writeStateFile } from './state-file.js';

/** The default OTP_CORS_ORIGINS of npm start: pages served from this machine, on any port. */
const LOCAL_CORS_ORIGINS = 'http://localhost:*,http://127.0.0.1:*,http://[::1]:*';

const out = (text: string) => process.stdout.write(`${text}\n`);

/** Set once DynamoDB Local runs, so that no way out of this process leaves the java child behind. */
let dynamo: RunningDynamoDb | undefined;

async function fail(text: string): Promise<never> {
  process.stderr.write(`\n${text}\n\n`);
  await dynamo?.stop();
  process.exit(1);
}

/**
 * Local defaults: dev mode and the console outbox, unless the caller set them. The pepper and the
 * signing keys, unless set, are made for this run, or kept in the data dir when there is one.
 */
function applyLocalDefaults(
  env: NodeJS.ProcessEnv,
  dataDir: DataDir | undefined,
): { generatedPepper: boolean; generatedKeys: boolean } {
  env.OTP_DEV_MODE ??= 'true';
  env.OTP_DELIVERY ??= 'local';
  // The README's walk-through calls the API without a key; a key that comes is still checked.
  env.OTP_REQUIRE_API_KEY ??= 'false';
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Metrics go to CloudWatch in EMF lines on stdout: here they would only bury the outbox.
  env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  // No X-Ray daemon here (functions/http/tracer.ts).
  env.POWERTOOLS_TRACE_ENABLED ??= 'false';
  // A web app's dev server on this machine may call, whatever its port; a page from anywhere else,
  // which `*` would let read mockCode and sessions of this server, may not. Empty turns CORS off.
  env.OTP_CORS_ORIGINS ??= LOCAL_CORS_ORIGINS;
  const generatedPepper = !env.OTP_PEPPER;
  // Without a data dir, codes from a previous run are gone with the in-memory database anyway.
  if (generatedPepper) env.OTP_PEPPER = dataDir ? keptPepper(dataDir) : randomBytes(32).toString('base64url');
  // Without a data dir, access tokens of a previous run name sessions that the in-memory database has lost anyway.
  const generatedKeys = !env.OTP_SIGNING_KEYS && !env.OTP_SIGNING_KEYS_SECRET_ARN;
  // Of the configured algorithm: inline keys never rotate to another one (config.ts refuses them).
  if (generatedKeys) {
    const algorithm = accessTokenAlgorithm(env);
    env.OTP_SIGNING_KEYS = dataDir
      ? keptSigningKeys(dataDir, algorithm)
      : serializeKeySet(initialKeySet(Date.now(), algorithm));
  }
  return { generatedPepper, generatedKeys };
}

/**
 * The URL this server answers on, as tokens name it in `iss` and the discovery document points at
 * it; a server listening on every interface is named by the loopback address.
 */
function localIssuer(host: string, port: number): string {
  const named = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${named.includes(':') ? `[${named}]` : named}:${port}`;
}

function portFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT?.trim() || '3000';
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65_535) {
    throw new ConfigError('PORT', `must be a port number from 1 to 65535 (got "${raw}").`);
  }
  return Number(raw);
}

/** The API reference page that `npm run openapi` wrote beside openapi.json (functions/openapi/html.ts). */
async function referencePage(): Promise<string> {
  return readFile(new URL('../../openapi.html', import.meta.url), 'utf8');
}

async function loadHandlers(): Promise<Handlers> {
  // Imported only now: each handler module reads its configuration when it loads, as on Lambda.
  const [health, send, verify, session, sessions, refresh, policy, wellKnown, openapi] = await Promise.all([
    import('../handlers/health.js'),
    import('../handlers/send-otp.js'),
    import('../handlers/verify-otp.js'),
    import('../handlers/session.js'),
    import('../handlers/sessions.js'),
    import('../handlers/refresh.js'),
    import('../handlers/policy.js'),
    import('../handlers/well-known.js'),
    import('../handlers/openapi.js'),
  ]);
  return {
    health: health.handler,
    'send-otp': send.handler,
    'verify-otp': verify.handler,
    session: session.handler,
    sessions: sessions.handler,
    refresh: refresh.handler,
    policy: policy.handler,
    'well-known': wellKnown.handler,
    openapi: openapi.handler,
  };
}

/**
 * The banner's lines about clients. A table without clients gets one named `local`, so that calls
 * with a key can be tried at once; its key is printed here because nothing can show it again.
 */
async function localClientLines(client: DynamoDBClient, clientsTable: string, requireApiKey: boolean) {
  const deps = { registry: new DynamoClientRegistry(client, clientsTable), now: Date.now };
  const existing = await listClients(deps);
  if (existing.length > 0) {
    return [`  clients:   ${existing.length} in ${clientsTable} (npm run clients -- list)`];
  }
  const created = await addClient(deps, 'local');
  const keys = requireApiKey
    ? 'keys are required here: OTP_REQUIRE_API_KEY=true'
    : 'keys are optional here: OTP_REQUIRE_API_KEY=false';
  return [`  API key:   ${created.apiKey} (client local, ${created.clientId}; ${keys})`];
}

async function main(): Promise<void> {
  let generated: ReturnType<typeof applyLocalDefaults>;
  let port: number;
  let config: ReturnType<typeof loadConfig>;
  let dataDir: DataDir | undefined;
  const host = process.env.HOST?.trim() || '127.0.0.1';
  try {
    const dir = dataDirArgument(process.argv.slice(2));
    dataDir = dir === undefined ? undefined : openDataDir(dir);
    if (dataDir) {
      const release = claimDataDir(dataDir);
      // Synchronous, so that it runs on every way out, process.exit and uncaught errors included.
      process.once('exit', () => {
        try {
          release();
        } catch {
          // Removed by hand meanwhile: nothing to release.
        }
      });
    }
  } catch (error) {
    if (error instanceof ArgumentError) return fail(error.message);
    return fail(`Cannot use the data directory: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    // Inside: it reads OTP_ACCESS_TOKEN_ALGORITHM, and a bad value is told as every other one.
    generated = applyLocalDefaults(process.env, dataDir);
    port = portFrom(process.env);
    process.env.OTP_ISSUER ??= localIssuer(host, port);
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
  const { generatedPepper, generatedKeys } = generated;

  if (!config.dynamoEndpoint) {
    try {
      dynamo = await startDynamoDbLocal({ dbPath: dataDir?.dynamoDb });
    } catch (error) {
      if (error instanceof JavaMissingError) return fail(error.message);
      return fail(`Could not start DynamoDB Local: ${error instanceof Error ? error.message : String(error)}`);
    }
    process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  }
  const endpoint = process.env.DYNAMODB_ENDPOINT as string;
  // The configuration exactly as each handler module will read it when it loads, and its client:
  // the tables are created and checked under the very endpoint, region and key the handlers use.
  const handlerConfig = loadConfig(process.env);
  const client = dynamoClient(handlerConfig.dynamoEndpoint);
  let clientLines: string[];
  try {
    try {
      await createTables(client, handlerConfig);
      await checkTables(client, handlerConfig);
    } catch (error) {
      return fail(
        [
          `DynamoDB at ${endpoint} is not usable, so the service would answer 500: not starting.`,
          error instanceof Error ? error.message : String(error),
          `The service signs its DynamoDB requests with access key "${LOCAL_KEY}" and region "${LOCAL_REGION}" whatever AWS variables are set;`,
          'a DynamoDB Local of your own keeps its tables under that key and region unless it runs with -sharedDb.',
        ].join('\n'),
      );
    }
    try {
      clientLines = await localClientLines(client, handlerConfig.clientsTable, handlerConfig.requireApiKey);
    } catch (error) {
      return fail(
        `Could not read or create the local client in ${handlerConfig.clientsTable}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  } finally {
    client.destroy();
  }

  // Before the handlers load: the send handler's outbox keeps its messages from its first send on.
  const outbox = outboxLogFor(handlerConfig);
  if (outbox) keepLocalMessages(outbox);
  const allowedHosts = parseAllowedHosts(process.env.OTP_LOCAL_ALLOWED_HOSTS);
  // Bounded as the handlers' own client, so that /ready answers within seconds when DynamoDB is gone.
  const readyClient = dynamoClient(handlerConfig.dynamoEndpoint, FUNCTION_REQUEST_LIMITS);
  const server = createLocalServer(await loadHandlers(), (line) => out(`  ${line}`), {
    readiness: () => checkReadiness(readyClient, handlerConfig),
    pages: {
      [DOCS_PATH]: await referencePage(),
      ...(await tryPages({ requireApiKey: handlerConfig.requireApiKey })),
    },
    corsOrigins: handlerConfig.corsOrigins,
    outbox,
    allowedHosts,
  });
  // Tells `npm run clients` where this server's tables are (functions/clients/connection.ts).
  const stateFile = stateFilePath(port);
  // Synchronous, so that it runs on every way out, process.exit and uncaught errors included.
  process.once('exit', () => removeStateFile(stateFile));
  let stopping = false;
  const stop = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    out(`\n${reason}: stopping…`);
    removeStateFile(stateFile);
    server.close();
    server.closeAllConnections();
    await dynamo?.stop();
    out('Stopped.');
    process.exit(exitCode);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stop(signal, 0));
  // npm forwards SIGTERM only to its `sh -c`, which dies without passing it on: when this process is
  // orphaned that way, stop as if signalled, so that DynamoDB Local never outlives the server.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('parent process ended', 0);
  }, 500).unref();
  void dynamo?.exited.then((code) => {
    if (!stopping) void stop(`DynamoDB Local exited unexpectedly (code ${code})`, 1);
  });

  server.once('error', (error: NodeJS.ErrnoException) => {
    void fail(`Cannot listen on ${host}:${port}: ${error.code ?? error.message}. Set PORT to a free port.`);
  });
  server.listen(port, host, () => {
    const { port: actual } = server.address() as AddressInfo;
    const url = `http://${host}:${actual}`;
    writeStateFile(stateFile, {
      pid: process.pid,
      endpoint,
      clientsTable: handlerConfig.clientsTable,
      stateTable: handlerConfig.stateTable,
      customersTable: handlerConfig.customersTable,
      url,
    });
    out(
      [
        '',
        `OTP service (local) listening on http://${host}:${actual}`,
        ...(dynamo
          ? [
              `  DynamoDB:  ${endpoint} (DynamoDB Local, ${dataDir ? `data in ${dataDir.dynamoDb}` : 'in memory'}, pid ${dynamo.pid})`,
              '             listening on 127.0.0.1 only; one database for any access key and region (-sharedDb)',
            ]
          : [`  DynamoDB:  ${endpoint} (yours; requests signed with key "${LOCAL_KEY}", region "${LOCAL_REGION}")`]),
        `  tables:    ${config.stateTable}, ${config.customersTable}, ${config.clientsTable}`,
        ...clientLines,
        `  delivery:  ${config.delivery === 'local' ? 'local outbox (codes are printed below, nothing is sent)' : 'AWS SNS and SES'}`,
        `  dev mode:  ${config.devMode ? 'on (responses include mockCode)' : 'off'}`,
        `  hosts:     ${allowedHosts === '*' ? 'requests to any Host name (OTP_LOCAL_ALLOWED_HOSTS=*)' : `requests to localhost or an IP address${allowedHosts.length > 0 ? `, or ${allowedHosts.join(', ')}` : ''} (OTP_LOCAL_ALLOWED_HOSTS)`}`,
        `  CORS:      ${config.corsOrigins === undefined ? 'off (OTP_CORS_ORIGINS is empty)' : `web apps at ${config.corsOrigins === '*' ? 'any origin' : config.corsOrigins.join(', ')} may call`}`,
        ...(generatedPepper
          ? [
              dataDir
                ? `  pepper:    kept in ${dataDir.pepperFile}`
                : '  pepper:    generated for this run (set OTP_PEPPER, or use --data-dir, to keep one)',
            ]
          : []),
        `  tokens:    issuer ${config.issuer}, keys at ${config.issuer}/.well-known/jwks.json` +
          (generatedKeys
            ? dataDir
              ? ` (kept in ${dataDir.signingKeysFile})`
              : ' (generated for this run; set OTP_SIGNING_KEYS, or use --data-dir, to keep them)'
            : ''),
        `  page:      ${url}${TRY_PATH} to try the flow in a browser (send, outbox, verify, refresh, revoke)`,
        ...(outbox
          ? [`  outbox:    ${url}${OUTBOX_PATH}?to=TARGET, the last messages (dev mode; this machine only)`]
          : []),
        `  API:       reference at ${url}${DOCS_PATH}, OpenAPI document at ${url}${OPENAPI_PATH}`,
        `  try:       curl -s http://${host}:${actual}/v1/health (liveness; ${url}${READY_PATH} also reads every table)`,
        'Ready. Ctrl+C stops it.',
        '',
      ].join('\n'),
    );
  });
}

main().catch((error: unknown) =>
  fail(`Start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
);
