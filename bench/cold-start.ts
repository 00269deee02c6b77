import { HANDLERS } from '../functions/routes.js';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { lambdaContext } from '../functions/local/events.js';
import { initialKeySet, serializeKeySet } from '../functions/core/signing-keys.js';
import { FUNCTION_DEFAULTS } from '../lib/function-defaults.js';
import { percentile } from './bundles.js';
import { BENCH_SMS_COUNTRIES, functionOf } from './levers.js';
import { type BenchDeps, PEPPER, benchDeps, benchEvent, benchHandlers, invoke } from './harness.js';
import { secretsManagerStandIn, snsStandIn, type StandIn } from './stand-ins.js';

const run = promisify(execFile);

/** Every function of the stack, after the floor: what one round starts at least. */
export const COLD_START_ORDER = ['floor', ...HANDLERS, 'cleanup'] as const;

/** What Lambda gives a function: the keys of its role, in environment variables, and its region. */
const REGION = 'us-east-1';
const CREDENTIALS = {
  accessKeyId: 'ASIABENCHCOLDSTART00',
  secretAccessKey: 'bench-secret-access-key-bench-secret-acce',
  sessionToken: 'bench-session-token',
};
const PEPPER_ARN = `arn:aws:secretsmanager:${REGION}:123456789012:secret:otp-pepper-Ab12Cd`;
const SIGNING_KEYS_ARN = `arn:aws:secretsmanager:${REGION}:123456789012:secret:otp-signing-keys-Ef34Gh`;

export interface Spread {
  medianMs: number;
  p90Ms: number;
}

export interface ColdStartResult {
  name: string;
  runs: number;
  /** What the first invocation must answer: an HTTP status, or `result` for the scheduled cleanup. */
  expected: number | 'result';
  /** What each run's first invocation answered. */
  answers: (number | string)[];
  /** Import of the bundle (module load, top-level code, the pepper read at init) plus first invocation. */
  total: Spread;
  import: Spread;
  firstInvocation: Spread;
  /** Median and p90 of `total` over the floor's (bench/floor.ts, built as before issue 13). */
  xFloor: { median: number; p90: number };
  /** The same over `floor@env`, the floor built with the one lever that applies to it. */
  xFloorEnv?: { median: number; p90: number };
  /** Requests the stand-ins received per run (median): proof that the cold start paid for them. */
  secretsManagerCalls: number;
  snsCalls: number;
}

/** Runs in the child: import, then one invocation, timed apart; prints one marked line. */
const CHILD = `
const [url, eventJson, contextJson] = process.argv.slice(1);
const event = JSON.parse(eventJson);
const context = { ...JSON.parse(contextJson), getRemainingTimeInMillis: () => 10000, done() {}, fail() {}, succeed() {} };
const t0 = performance.now();
const mod = await import(url);
const t1 = performance.now();
const result = await mod.handler(event, context);
const t2 = performance.now();
const answer = typeof result?.statusCode === 'number' ? result.statusCode : typeof result?.total === 'number' ? 'result' : JSON.stringify(result);
process.stdout.write('\\n@@cold-start ' + JSON.stringify({ importMs: t1 - t0, invokeMs: t2 - t1, answer }) + '\\n');
process.exit(0);
`;

interface Prepared {
  event: unknown;
  expected: number | 'result';
}

interface Sample {
  importMs: number;
  invokeMs: number;
  answer: number | string;
  secrets: number;
  sns: number;
}

/**
 * Import plus first invocation of each bundle, each run in a fresh Node process with the deployed
 * configuration: credentials and region from the environment as Lambda sets them, the stack's
 * variables, the pepper read from Secrets Manager by its ARN, and every AWS endpoint set through
 * the SDK's AWS_ENDPOINT_URL_<SERVICE> variables (DynamoDB Local, and the stand-ins of
 * bench/stand-ins.ts). Runs are interleaved round by round; one unrecorded round goes first, to warm
 * the file cache for all alike.
 */
export async function measureColdStarts(
  dynamoEndpoint: string,
  bundles: Record<string, string>,
  runs: number,
): Promise<ColdStartResult[]> {
  // Seeds codes and sessions for the children. They sign with other keys and another region than this
  // process, and still see these tables: the bench's DynamoDB Local runs with -sharedDb
  // (functions/local/dynamodb-local.ts).
  const deps = await benchDeps(dynamoEndpoint);
  const { tables } = deps;
  // A key set as the scheduled function stores it, fresh, so that the cleanup's first run reads it
  // and has nothing to rotate.
  const secrets = await secretsManagerStandIn({
    [PEPPER_ARN]: PEPPER,
    [SIGNING_KEYS_ARN]: serializeKeySet(initialKeySet(Date.now())),
  });
  const sns = await snsStandIn();
  const home = await mkdtemp(join(tmpdir(), 'otp-cold-home-'));
  // One round starts every bundle once, in the order they were built (bench/levers.ts).
  const names = Object.keys(bundles);
  const samples = new Map<string, Sample[]>(names.map((name) => [name, []]));
  // Each start gets its own targets and address: the variants of one function run in the same round.
  let index = 0;
  try {
    for (let round = -1; round < runs; round++) {
      for (const name of names) {
        index++;
        const prepared = await prepare(functionOf(name), deps, index);
        const env = environment(functionOf(name), tables, {
          dynamoEndpoint,
          secrets,
          sns,
          home,
          bundle: bundles[name] as string,
        });
        const sample = await coldStart(name, bundles[name] as string, prepared, env, secrets, sns);
        if (sample.answer !== prepared.expected) {
          throw new Error(`cold start of ${name}: expected ${prepared.expected}, got ${sample.answer}`);
        }
        if (round >= 0) samples.get(name)?.push(sample);
      }
    }
  } finally {
    await Promise.all([secrets.close(), sns.close(), rm(home, { recursive: true, force: true })]);
  }

  const spread = (values: number[]): Spread => ({ medianMs: percentile(values, 50), p90Ms: percentile(values, 90) });
  const totals = (name: string) => (samples.get(name) ?? []).map((sample) => sample.importMs + sample.invokeMs);
  const floor = spread(totals('floor'));
  const floorEnv = names.includes('floor@env') ? spread(totals('floor@env')) : undefined;
  const over = (total: Spread, base: Spread) => ({
    median: Math.round((total.medianMs / base.medianMs) * 100) / 100,
    p90: Math.round((total.p90Ms / base.p90Ms) * 100) / 100,
  });
  return names.map((name) => {
    const list = samples.get(name) ?? [];
    const total = spread(totals(name));
    return {
      name,
      runs: list.length,
      expected: functionOf(name) === 'cleanup' ? 'result' : 200,
      answers: list.map((sample) => sample.answer),
      total,
      import: spread(list.map((sample) => sample.importMs)),
      firstInvocation: spread(list.map((sample) => sample.invokeMs)),
      xFloor: over(total, floor),
      ...(floorEnv ? { xFloorEnv: over(total, floorEnv) } : {}),
      secretsManagerCalls: percentile(
        list.map((sample) => sample.secrets),
        50,
      ),
      snsCalls: percentile(
        list.map((sample) => sample.sns),
        50,
      ),
    };
  });
}

/** Area codes the phone numbers of the bench spread over. */
const AREAS = [201, 212, 213, 305, 312, 415, 510, 617, 646, 650, 702, 718, 786, 917];
/**
 * A number per use (`block`) and round: its number block (all but the last three digits) is shared
 * with few others, so that the per-block SMS cap (OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR) never refuses one.
 */
const phone = (block: number, index: number) =>
  `+1${AREAS[index % AREAS.length]}555${block}${String(index % 1000).padStart(3, '0')}`;

/** The first request each function gets, with what it needs in the database already there. */
async function prepare(name: string, deps: BenchDeps, index: number): Promise<Prepared> {
  const sourceIp = `198.51.100.${index % 250}`;
  // As deployed, every call but health's carries a key: the first one reads the client (two GetItems).
  const key = { 'X-API-Key': deps.apiKey };
  deps.clock.now = Date.now();
  const { send, verify } = benchHandlers(deps);
  switch (name) {
    case 'floor':
      return { event: benchEvent({ path: '/floor', body: { target: phone(0, index) } }), expected: 200 };
    case 'health':
      return { event: benchEvent({ method: 'GET', path: '/v1/health' }), expected: 200 };
    case 'send-otp':
      return {
        event: benchEvent({ path: '/v1/otp/send', body: { target: phone(1, index) }, headers: key, sourceIp }),
        expected: 200,
      };
    case 'verify-otp': {
      const target = phone(2, index);
      const sent = await invoke(send, { body: { target }, sourceIp: `203.0.113.${index % 250}` });
      if (sent.status !== 200) throw new Error(`cold start: seeding a code answered ${sent.status}`);
      const body = { target, code: String(sent.body.mockCode) };
      return { event: benchEvent({ path: '/v1/otp/verify', body, headers: key, sourceIp }), expected: 200 };
    }
    case 'session': {
      const target = `cold-${index}@example.com`;
      const sent = await invoke(send, { body: { target }, sourceIp: `192.0.2.${index % 250}` });
      const verified = await invoke(verify, { body: { target, code: String(sent.body.mockCode) } });
      if (verified.status !== 200) throw new Error(`cold start: seeding a session answered ${verified.status}`);
      const headers = { ...key, Authorization: `Bearer ${String(verified.body.sessionToken)}` };
      return { event: benchEvent({ method: 'GET', path: '/v1/session', headers, sourceIp }), expected: 200 };
    }
    case 'sessions': {
      const target = `cold-sessions-${index}@example.com`;
      const sent = await invoke(send, { body: { target }, sourceIp: `192.0.2.${(index + 50) % 250}` });
      const verified = await invoke(verify, { body: { target, code: String(sent.body.mockCode) } });
      if (verified.status !== 200) throw new Error(`cold start: seeding a session answered ${verified.status}`);
      const headers = { ...key, Authorization: `Bearer ${String(verified.body.sessionToken)}` };
      return { event: benchEvent({ method: 'GET', path: '/v1/sessions', headers, sourceIp }), expected: 200 };
    }
    case 'refresh': {
      const target = `cold-refresh-${index}@example.com`;
      const sent = await invoke(send, { body: { target }, sourceIp: `192.0.2.${(index + 100) % 250}` });
      const verified = await invoke(verify, { body: { target, code: String(sent.body.mockCode) } });
      if (verified.status !== 200) throw new Error(`cold start: seeding a refresh token answered ${verified.status}`);
      const body = { refreshToken: String(verified.body.refreshToken) };
      return { event: benchEvent({ path: '/v1/session/refresh', body, headers: key, sourceIp }), expected: 200 };
    }
    case 'policy':
      return {
        event: benchEvent({
          method: 'GET',
          path: '/v1/otp/policy',
          query: { action: 'redeem' },
          headers: key,
          sourceIp,
        }),
        expected: 200,
      };
    case 'well-known':
      return { event: benchEvent({ method: 'GET', path: '/.well-known/jwks.json', sourceIp }), expected: 200 };
    case 'openapi':
      return { event: benchEvent({ method: 'GET', path: '/openapi.json', sourceIp }), expected: 200 };
    case 'cleanup':
      return { event: scheduledEvent(), expected: 'result' };
    default:
      throw new Error(`no first request for ${name}`);
  }
}

/** What EventBridge sends the cleanup every hour. */
function scheduledEvent() {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString(),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:123456789012:rule/otp-cleanup`],
    detail: {},
  };
}

/**
 * The deployed environment: what Lambda itself sets, then the stack's variables
 * (lib/function-environment.ts, lib/otp-cleanup.ts) for a deployment that sends SMS to the US.
 * HOME is an empty folder: a Lambda has no shared AWS config or credentials files for the SDK to find.
 */
function environment(
  name: string,
  tables: { stateTable: string; customersTable: string; clientsTable: string },
  at: { dynamoEndpoint: string; secrets: StandIn; sns: StandIn; home: string; bundle: string },
): Record<string, string> {
  const functionName = `otp-${name}`;
  return {
    PATH: process.env.PATH ?? '',
    HOME: at.home,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(FUNCTION_DEFAULTS.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    LAMBDA_TASK_ROOT: dirname(at.bundle),
    _HANDLER: `${name}.handler`,
    AWS_ENDPOINT_URL_DYNAMODB: at.dynamoEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: at.secrets.endpoint,
    AWS_ENDPOINT_URL_SNS: at.sns.endpoint,
    OTP_STAGE: 'prod',
    OTP_STATE_TABLE: tables.stateTable,
    OTP_CUSTOMERS_TABLE: tables.customersTable,
    OTP_CLIENTS_TABLE: tables.clientsTable,
    OTP_REQUIRE_API_KEY: 'true',
    OTP_DEV_MODE: 'false',
    OTP_DELIVERY: 'aws',
    OTP_PEPPER_SECRET_ARN: PEPPER_ARN,
    OTP_SIGNING_KEYS_SECRET_ARN: SIGNING_KEYS_ARN,
    OTP_ISSUER: 'https://abc123defg.execute-api.us-east-1.amazonaws.com/prod',
    OTP_ALLOWED_CHANNELS: 'sms',
    OTP_SMS_ALLOWED_COUNTRIES: BENCH_SMS_COUNTRIES.join(','),
    POWERTOOLS_SERVICE_NAME: 'otp-service',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(name === 'cleanup' ? { OTP_CLEANUP_MAX_ITEMS: '5000' } : {}),
  };
}

async function coldStart(
  name: string,
  bundle: string,
  prepared: Prepared,
  env: Record<string, string>,
  secrets: StandIn,
  sns: StandIn,
): Promise<Sample> {
  const count = (standIn: StandIn) => [...standIn.calls.values()].reduce((sum, calls) => sum + calls, 0);
  const before = { secrets: count(secrets), sns: count(sns) };
  const context = lambdaContext(name, crypto.randomUUID());
  const args = [
    '--input-type=module',
    '-e',
    CHILD,
    '--',
    pathToFileURL(bundle).href,
    JSON.stringify(prepared.event),
    JSON.stringify(context),
  ];
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, args, { env, timeout: 30_000, maxBuffer: 4 * 2 ** 20 }));
  } catch (error) {
    const { stdout: out = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`cold start of ${name} failed:\n${stderr || out}`, { cause: error });
  }
  const line = stdout.split('\n').find((text) => text.startsWith('@@cold-start '));
  if (!line) throw new Error(`cold start of ${name} printed no result:\n${stdout}`);
  const parsed = JSON.parse(line.slice('@@cold-start '.length)) as Omit<Sample, 'secrets' | 'sns'>;
  return { ...parsed, secrets: count(secrets) - before.secrets, sns: count(sns) - before.sns };
}
