import type { BundleResult, InitResult } from './bundles.js';
import { type CostResult, LOGIN, PRICES } from './cost.js';
import type { LoadResult } from './load.js';
import type { DurationResult, OperationResult } from './operations.js';

export interface Results {
  date: string;
  smoke: boolean;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string };
  bundles: Omit<BundleResult, 'file'>[];
  init: InitResult[];
  operations: OperationResult[];
  durations: DurationResult[];
  cost: CostResult;
  load: LoadResult[];
  seconds: number;
}

const BUNDLE_LIMIT_BYTES = 300_000;
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
const usd = (value: number) => `$${value.toFixed(2)}`;
const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');

function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

export function renderReport(results: Results, notes: string): string {
  const reference = results.init[0];
  const bundleInit = results.init.slice(1);
  const op = (name: string) => results.operations.find((operation) => operation.operation === name);
  const send = op(LOGIN.send);
  const verify = op(LOGIN.verify);
  const verifyNew = op('verify: success, new customer');
  const session = op(LOGIN.session);
  const c = results.cost.perMillionLogins;
  const largestBundle = Math.max(...results.bundles.map((bundle) => bundle.bytes));
  const slowestInit = Math.max(...bundleInit.map((init) => init.medianMs));

  const targets = table(
    ['target', 'measured', 'verdict'],
    [
      ['every bundle <= 300 KB', `largest ${kb(largestBundle)}`, verdict(largestBundle <= BUNDLE_LIMIT_BYTES)],
      [
        'init median <= 0.5x the reference',
        `slowest ${slowestInit} ms vs reference ${reference?.medianMs} ms (${(slowestInit / (reference?.medianMs ?? 1) || 0).toFixed(2)}x)`,
        verdict(slowestInit <= 0.5 * (reference?.medianMs ?? 0)),
      ],
      [
        'send <= 2 round trips',
        `${send?.roundTrips} sequential round trips, ${send?.requests} requests`,
        `${verdict((send?.roundTrips ?? 99) <= 2)} (round trips); ${verdict((send?.requests ?? 99) <= 2)} (requests)`,
      ],
      [
        'verify <= 2 round trips on success',
        `returning customer: ${verify?.roundTrips} round trips, ${verify?.requests} requests; new: ${verifyNew?.roundTrips}, ${verifyNew?.requests}`,
        `${verdict(Math.max(verify?.roundTrips ?? 99, verifyNew?.roundTrips ?? 99) <= 2)} (round trips); ${verdict(Math.max(verify?.requests ?? 99, verifyNew?.requests ?? 99) <= 2)} (requests)`,
      ],
      [
        'session check = 1',
        `${session?.roundTrips} round trip, ${session?.requests} request`,
        verdict(session?.requests === 1),
      ],
      ['<= $15 per 1M logins, all in', usd(c.total), verdict(c.total <= 15)],
      ['Lambda + DynamoDB <= $3 of it', usd(c.lambda + c.dynamodb), verdict(c.lambda + c.dynamodb <= 3)],
    ],
  );

  return `# Benchmark results

${results.smoke ? '**Smoke run on tiny numbers: not a measurement.**\n\n' : ''}Written by \`npm run bench\` (bench/run.ts) on ${results.date.slice(0, 10)} (${results.date}), in ${results.seconds} s.
Machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB, ${results.machine.os}, Node.js ${results.machine.node}.
DynamoDB is DynamoDB Local (the official emulator) on the same machine; latencies against it are not AWS latencies.

## Targets

${targets}

## Bundle size

Each function built with the stack's esbuild options (lib/function-defaults.ts: ESM, minified, AWS SDK bundled).

${table(
  ['function', 'size', 'gzip', 'largest parts'],
  results.bundles.map((bundle) => [
    bundle.name,
    kb(bundle.bytes),
    kb(bundle.gzipBytes),
    bundle.largestInputs.map((input) => `${input.path} ${kb(input.bytes)}`).join(', '),
  ]),
)}

## Init time

Time to import the bundle in a fresh Node.js ${results.machine.node} process (module load and top-level code,
with the pepper inline instead of a Secrets Manager call), ${reference?.runs} runs each. The reference is
\`@aws-sdk/client-dynamodb\` imported unbundled from node_modules, what a handler that leaves the SDK
external pays for the client alone.

${table(
  ['module', 'median', 'p90', 'x reference'],
  results.init.map((init) => [
    init.name,
    `${init.medianMs} ms`,
    `${init.p90Ms} ms`,
    (init.medianMs / (reference?.medianMs ?? 1)).toFixed(2),
  ]),
)}

## DynamoDB per operation

Counted by an SDK middleware on the client (bench/meter.ts) that sets \`ReturnConsumedCapacity: TOTAL\` on every
request, through the real handlers, in the default configuration (per-IP limit on). Round trips are
sequential: requests sent in parallel count once. Units include index writes. A refused conditional write
returns no capacity, so its units are the documented charge (1 per item, 2 per transaction item), listed apart.

${table(
  ['operation', 'status', 'requests', 'round trips', 'read units', 'write units', 'refused-write units (est.)'],
  results.operations.map((operation) => [
    operation.operation,
    operation.status || '',
    operation.requests,
    operation.roundTrips,
    operation.readUnits,
    operation.writeUnits,
    operation.estimatedWriteUnits,
  ]),
)}

## Cost per 1M logins

A login is \`${LOGIN.send}\` + \`${LOGIN.verify}\` + \`${LOGIN.session}\` (3 API requests, 3 Lambda
invocations). SMS and e-mail are excluded, as are fixed monthly fees (WAF web ACL $5 and $1 per rule),
CloudWatch Logs and Secrets Manager (one call per cold start).

Handler durations (median over ${results.durations[0]?.invocations ?? 0} logins, against DynamoDB Local, at ${results.cost.memoryMb} MB):
${results.durations.map((duration) => `${duration.handler} ${duration.medianMs} ms (p90 ${duration.p90Ms} ms)`).join(', ')}.

Prices (us-east-1, list): DynamoDB on-demand $${PRICES.dynamoWriteUnitPerMillion} per million write units and $${PRICES.dynamoReadUnitPerMillion} per million
read units; Lambda arm64 $${PRICES.lambdaArmGbSecond} per GB-second and $${PRICES.lambdaRequestPerMillion} per million requests; API Gateway REST
$${PRICES.apiGatewayRestPerMillion} per million requests; WAF $${PRICES.wafRequestPerMillion} per million requests.

Formula, per 1M logins:

    DynamoDB = write units per login x ${PRICES.dynamoWriteUnitPerMillion} + read units per login x ${PRICES.dynamoReadUnitPerMillion}
             = ${results.cost.writeUnitsPerLogin} x ${PRICES.dynamoWriteUnitPerMillion} + ${results.cost.readUnitsPerLogin} x ${PRICES.dynamoReadUnitPerMillion}
    Lambda   = 3 x ${PRICES.lambdaRequestPerMillion} + billed ms per login / 1000 x ${results.cost.memoryMb / 1024} GB x ${PRICES.lambdaArmGbSecond} x 1,000,000
             = 3 x ${PRICES.lambdaRequestPerMillion} + ${results.cost.billedMsPerLogin} / 1000 x ${results.cost.memoryMb / 1024} x ${PRICES.lambdaArmGbSecond} x 1,000,000
    API      = 3 x ${PRICES.apiGatewayRestPerMillion}
    WAF      = 3 x ${PRICES.wafRequestPerMillion}

${table(
  ['DynamoDB', 'Lambda', 'API Gateway REST', 'WAF', 'total'],
  [[usd(c.dynamodb), usd(c.lambda), usd(c.apiGateway), usd(c.waf), usd(c.total)]],
)}

## Local server under load

Complete logins (send, verify, session check) through the local server on 127.0.0.1 with the deployed
handlers and DynamoDB Local, for ${results.load[0]?.seconds ?? 0} s per level; each flow uses its own target.
The load generator runs in the same process as the server.

${table(
  [
    'clients',
    'flows',
    'errors',
    'flows/s',
    'p50',
    'p99',
    'send / verify / session (median)',
    'DynamoDB requests per flow x ms each',
  ],
  results.load.map((load) => [
    load.concurrency,
    load.flows,
    load.errors,
    load.flowsPerSecond,
    `${load.p50Ms} ms`,
    `${load.p99Ms} ms`,
    `${load.stepMedianMs.send} / ${load.stepMedianMs.verify} / ${load.stepMedianMs.session} ms`,
    `${load.dynamoRequestsPerFlow} x ${load.dynamoMsPerRequest} ms`,
  ]),
)}

${notes.trim() ? `## What stands in the way, and what was tried\n\n${notes.trim()}\n` : ''}`;
}
