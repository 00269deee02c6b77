import type { BundleResult } from './bundles.js';
import type { ColdStartResult } from './cold-start.js';
import { type CostResult, LOGIN, type LoginCost, PRICES } from './cost.js';
import { LEVER_FUNCTIONS, LEVERS, variantOf } from './levers.js';
import type { LoadResult } from './load.js';
import type { CleanupResult, DurationResult, OperationResult } from './operations.js';

export interface Results {
  date: string;
  smoke: boolean;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string };
  bundles: Omit<BundleResult, 'file'>[];
  coldStart: ColdStartResult[];
  operations: OperationResult[];
  cleanup: Omit<CleanupResult, 'operations'>;
  durations: DurationResult[];
  cost: CostResult;
  load: LoadResult[];
  seconds: number;
}

/** Issue 13's goals: each function's code, send's (which carries the phone metadata and two more clients). */
const BUNDLE_LIMIT_BYTES = 300_000;
const BUNDLE_LIMIT_SEND_BYTES = 420_000;
/** Cold start over the floor: request-serving functions, and send, which also pays its first SNS call. */
const COLD_LIMIT = 1.1;
const COLD_LIMIT_SEND = 1.3;
/** Per million logins as AWS bills them, with REST API and WAF. */
const COST_LIMIT = 12;
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

export function renderReport(results: Results, notes: string, mutation = ''): string {
  // The stack's own builds; the `@` variants are the levers' side-by-side (bench/levers.ts).
  const built = results.coldStart.filter((cold) => variantOf(cold.name) === undefined);
  const serving = built.filter((cold) => !['floor', 'cleanup'].includes(cold.name));
  const coldVerdict = serving.map(
    (cold) => cold.xFloor.median <= (cold.name === 'send-otp' ? COLD_LIMIT_SEND : COLD_LIMIT),
  );
  const floor = results.coldStart.find((cold) => cold.name === 'floor');
  const functionBundles = results.bundles.filter(
    (bundle) => variantOf(bundle.name) === undefined && bundle.name !== 'floor',
  );
  const bundleLimit = (name: string) => (name === 'send-otp' ? BUNDLE_LIMIT_SEND_BYTES : BUNDLE_LIMIT_BYTES);
  const overLimit = functionBundles.filter((bundle) => bundle.bytes > bundleLimit(bundle.name));
  const op = (name: string) => results.operations.find((operation) => operation.operation === name);
  const send = op(LOGIN.send);
  const verify = op(LOGIN.verify);
  const verifyNew = op('verify: success, new customer');
  const session = op(LOGIN.session);
  const c = results.cost.perMillionLogins;
  const cost = results.cost;
  const sweep = results.cost.expirySweep;
  const cleanup = results.cleanup;

  const targets = table(
    ['target', 'measured', 'verdict'],
    [
      [
        `every function <= ${kb(BUNDLE_LIMIT_BYTES)} (send <= ${kb(BUNDLE_LIMIT_SEND_BYTES)})`,
        overLimit.length === 0
          ? `largest ${kb(Math.max(...functionBundles.map((bundle) => bundle.bytes)))}`
          : `over: ${overLimit.map((bundle) => `${bundle.name} ${kb(bundle.bytes)}`).join(', ')}`,
        verdict(overLimit.length === 0),
      ],
      [
        `cold start median <= ${COLD_LIMIT}x the floor (send <= ${COLD_LIMIT_SEND}x)`,
        serving.map((cold) => `${cold.name} ${cold.xFloor.median}x`).join(', '),
        verdict(coldVerdict.every(Boolean)),
      ],
      [
        'send <= 2 round trips',
        `${send?.roundTrips} sequential round trips, ${send?.requests} requests`,
        `${verdict((send?.roundTrips ?? 99) <= 2)} (round trips); ${verdict((send?.requests ?? 99) <= 2)} (requests)`,
      ],
      [
        'verify <= 2 round trips on success, <= 3 requests',
        `returning customer: ${verify?.roundTrips} round trips, ${verify?.requests} requests; new: ${verifyNew?.roundTrips}, ${verifyNew?.requests}`,
        `${verdict(Math.max(verify?.roundTrips ?? 99, verifyNew?.roundTrips ?? 99) <= 2)} (round trips); ${verdict(Math.max(verify?.requests ?? 99, verifyNew?.requests ?? 99) <= 3)} (requests)`,
      ],
      [
        'API key on a warm function: no DynamoDB request',
        `policy check, warm: ${op('policy: warm')?.requests} requests; a function's first call: ${op('policy: first call of a function (reads the client)')?.requests} (${op('policy: first call of a function (reads the client)')?.roundTrips} round trips)`,
        verdict(op('policy: warm')?.requests === 0),
      ],
      [
        'refresh <= 2 round trips',
        `${op('refresh: rotate')?.roundTrips} sequential round trips, ${op('refresh: rotate')?.requests} requests`,
        verdict((op('refresh: rotate')?.roundTrips ?? 99) <= 2),
      ],
      [
        'session check = 1',
        `${session?.roundTrips} round trip, ${session?.requests} request`,
        verdict(session?.requests === 1),
      ],
      [
        `<= ${usd(COST_LIMIT)} per 1M logins, REST API and WAF`,
        `${usd(c.total)} (API Gateway and WAF alone: ${usd(c.apiGateway + c.waf)}); with an HTTP API: ${usd(c.totalWithHttpApi)}`,
        verdict(c.total <= COST_LIMIT),
      ],
      [
        'load: no errors at 1, 4 and 16 clients',
        results.load.map((load) => `${load.concurrency}: ${load.errors} errors of ${load.flows}`).join('; '),
        verdict(results.load.every((load) => load.errors === 0)),
      ],
    ],
  );

  return `# Benchmark results

${results.smoke ? '**Smoke run on tiny numbers: not a measurement.**\n\n' : ''}Written by \`npm run bench\` (bench/run.ts) on ${results.date.slice(0, 10)} (${results.date}), in ${results.seconds} s.
Machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB, ${results.machine.os}, Node.js ${results.machine.node}.
DynamoDB is DynamoDB Local (the official emulator) on the same machine; latencies against it are not AWS latencies.

## Targets

${targets}

## Bundle size

Each function built as the stack builds it (lib/function-defaults.ts: ESM, minified, AWS SDK bundled, with the
levers of \`defaultLevers\`: credentials from the environment only, no X-Ray SDK); \`floor\` is the floor handler of
the cold-start benchmark (bench/floor.ts), built as every function was before issue 13 (\`STOCK_BUILD\`), and
\`floor@env\` the same with credentials from the environment only. The \`@\` rows of the levers' table below are
the same functions built the stock way, then with one lever at a time.

${table(
  ['function', 'size', 'gzip', 'largest parts'],
  results.bundles
    .filter((bundle) => variantOf(bundle.name) === undefined || bundle.name.startsWith('floor'))
    .map((bundle) => [
      bundle.name,
      kb(bundle.bytes),
      kb(bundle.gzipBytes),
      bundle.largestInputs.map((input) => `${input.path} ${kb(input.bytes)}`).join(', '),
    ]),
)}

## Cold start: import plus first invocation

What a cold start pays before its first answer, measured in a fresh Node.js ${results.machine.node} process per run
(bench/cold-start.ts): the import of the bundle (module load, top-level code, and the secrets read at init: the
pepper for send and verify, the signing keys for the functions that sign or check access tokens) plus the first
invocation of its \`handler\` with an API Gateway event (the cleanup: a scheduled event), which pays credential and
endpoint resolution, the SDK code evaluated lazily and the first connections. The process gets the deployed
configuration: credentials and region in environment variables as Lambda sets them, the stack's variables (SMS to
the US, \`OTP_PEPPER_SECRET_ARN\`, no inline pepper), and every AWS endpoint through the SDK's own variables:
\`AWS_ENDPOINT_URL_DYNAMODB\` (DynamoDB Local), \`AWS_ENDPOINT_URL_SECRETS_MANAGER\` and \`AWS_ENDPOINT_URL_SNS\`
(local stand-ins on 127.0.0.1, bench/stand-ins.ts, which count the calls they answer). Every first invocation must
answer its expected status, or the bench stops. The floor (bench/floor.ts) is a minimal handler, an HMAC of its
input plus one \`GetItem\` through \`@aws-sdk/client-dynamodb\`. Runs are interleaved, one round at a time (every
build below once, then again), after one unrecorded round; ${floor?.runs ?? 0} recorded rounds. Node.js
${results.machine.node} on this machine, not Lambda's Node.js 24 on arm64: compare the multiples, not the
milliseconds. The cleanup's first invocation is a whole run, so its multiple is not a start-up figure.

${table(
  [
    'function',
    'answered',
    'import (median)',
    'first invocation (median)',
    'total median',
    'total p90',
    'x floor (median)',
    'x floor (p90)',
    'x floor@env (median)',
    'Secrets Manager / SNS calls',
  ],
  built
    .concat(results.coldStart.filter((cold) => cold.name === 'floor@env'))
    .map((cold) => [
      cold.name,
      `${[...new Set(cold.answers)].join(', ')} (expected ${cold.expected})`,
      `${cold.import.medianMs} ms`,
      `${cold.firstInvocation.medianMs} ms`,
      `${cold.total.medianMs} ms`,
      `${cold.total.p90Ms} ms`,
      cold.xFloor.median.toFixed(2),
      cold.xFloor.p90.toFixed(2),
      cold.xFloorEnv?.median.toFixed(2) ?? '',
      `${cold.secretsManagerCalls} / ${cold.snsCalls}`,
    ]),
)}

### Each lever beside the base, in the same run

\`@stock\` is the function built as before issue 13; each other \`@\` row is that build with one lever; the row
without \`@\` is the stack's build, all kept levers together. Levers: ${LEVERS.map((lever) => `\`@${lever.suffix}\`: ${lever.what}`).join('; ')}.

${table(
  [
    'build',
    'size',
    'import (median)',
    'first invocation (median)',
    'total median',
    'x floor (median)',
    'x floor (p90)',
  ],
  LEVER_FUNCTIONS.flatMap((name) =>
    [`${name}@stock`, ...LEVERS.map((lever) => `${name}@${lever.suffix}`), name].flatMap((build) => {
      const cold = results.coldStart.find((entry) => entry.name === build);
      const bundle = results.bundles.find((entry) => entry.name === build);
      if (!cold || !bundle) return [];
      return [
        [
          build,
          kb(bundle.bytes),
          `${cold.import.medianMs} ms`,
          `${cold.firstInvocation.medianMs} ms`,
          `${cold.total.medianMs} ms`,
          cold.xFloor.median.toFixed(2),
          cold.xFloor.p90.toFixed(2),
        ],
      ];
    }),
  ),
)}

## DynamoDB per operation

Counted by an SDK middleware on the client (bench/meter.ts), through the real handlers, in the default
configuration (per-IP limit on). Round trips are sequential: requests sent in parallel count once. Read units
are DynamoDB Local's (\`ReturnConsumedCapacity\`), raised to AWS's minimum per read (0.5, or 1 strongly
consistent) where the emulator reports 0 (an empty Query).

**Write units as AWS bills them** (bench/billing.ts) are counted from the items, not from the emulator: the
meter reads every item a write touches (a second, unmetered client, strongly consistent) before and after the
write, and counts, per item, its size (the larger of before and after, DynamoDB's size rules) rounded up to
1 KB, times 2 inside \`TransactWriteItems\` (\`ConditionCheck\` items included); plus 1 unit per \`due\` index
entry added or removed, 2 when an update moves an entry, none when the entry stays as it was (the index
projects keys only). A refused conditional write is billed its item's size (at least 1 unit; 2 per item of a
cancelled transaction) and writes no index. The emulator's own figure is kept beside it: DynamoDB Local's
transaction figures follow no fixed rule (measured on this version: a 1-item transaction reports 2 units, a
2-item one 2 as well, where AWS bills 4), so it cannot be corrected by a factor; refused writes come back
without capacity, so that column adds the documented charge (1 per item, 2 per transaction item).

${table(
  [
    'operation',
    'status',
    'requests',
    'round trips',
    'read units',
    'write units (AWS billed)',
    'write units (emulator)',
    'refused-write units (emulator, est.)',
  ],
  results.operations.map((operation) => [
    operation.operation,
    operation.status || '',
    operation.requests,
    operation.roundTrips,
    operation.readUnits,
    operation.billedWriteUnits,
    operation.writeUnits,
    operation.estimatedWriteUnits,
  ]),
)}

## Cost per 1M logins

A login is \`${LOGIN.send}\` + \`${LOGIN.verify}\` + \`${LOGIN.session}\` (3 API requests, 3 Lambda
invocations), plus the scheduled function's share, in the default configuration (TTL alone) and with the expiry
sweep on (\`OTP_EXPIRY_SWEEP=true\`: the same three operations, measured in the same run, lines "(expiry sweep on)"
above). SMS and e-mail are excluded, as are fixed monthly fees (WAF web ACL $5 and $1 per rule), CloudWatch Logs and
Secrets Manager (one call per cold start of send and verify, and the scheduled function's read of the signing keys).

**TTL alone (the default).** Expired items are deleted by DynamoDB's TTL, which bills nothing; the hourly
scheduled function only rotates the signing keys: ${cost.cleanup.runsPerMonth} invocations a month, spread over an assumed
${cost.cleanup.assumedLoginsPerMonth.toLocaleString('en-US')} logins a month, and no DynamoDB request.

**With the expiry sweep.** Every item a login leaves in the state table is deleted by the hourly cleanup
(functions/handlers/cleanup.ts), counted here as if the cleanup removed all of them (TTL, which is free, takes
some first: an upper bound). ${cleanup.logins} logins (send, verify, session check), each with its own target and address,
left ${cleanup.removed} items: ${cleanup.itemsPerLogin} per login (an upper bound too: real logins share per-address and per-target
counters), removed by a run 3 days on (counters, sessions) and one past the families' absolute end (families and refresh
tokens). Per item removed: ${cleanup.perItem.billedWriteUnits} write units as billed, ${cleanup.perItem.readUnits} read units, ${cleanup.msPerItem} ms. A run that
finds nothing still reads every bucket: ${cleanup.fixedPerRun.requests} queries, ${cleanup.fixedPerRun.readUnits} read units, ${cleanup.runMs} ms against DynamoDB Local.
Per login: ${sweep.cleanup.writeUnitsPerLogin} write units, ${sweep.cleanup.readUnitsPerLogin} read units, ${sweep.cleanup.msPerLogin} Lambda ms.

Handler durations (median over ${results.durations[0]?.invocations ?? 0} logins, against DynamoDB Local, at ${results.cost.memoryMb} MB; the same figures for both):
${results.durations.map((duration) => `${duration.handler} ${duration.medianMs} ms (p90 ${duration.p90Ms} ms)`).join(', ')}.

Prices (us-east-1, list): DynamoDB on-demand $${PRICES.dynamoWriteUnitPerMillion} per million write units and $${PRICES.dynamoReadUnitPerMillion} per million
read units; Lambda arm64 $${PRICES.lambdaArmGbSecond} per GB-second and $${PRICES.lambdaRequestPerMillion} per million requests; API Gateway REST
$${PRICES.apiGatewayRestPerMillion} per million requests (HTTP API $${PRICES.apiGatewayHttpPerMillion}); WAF $${PRICES.wafRequestPerMillion} per million requests.

Formula, per 1M logins (TTL alone; with the sweep in brackets):

    DynamoDB = write units per login (AWS billed) x ${PRICES.dynamoWriteUnitPerMillion} + read units per login x ${PRICES.dynamoReadUnitPerMillion}
             = ${cost.writeUnitsPerLogin} [${sweep.writeUnitsPerLogin}] x ${PRICES.dynamoWriteUnitPerMillion} + ${cost.readUnitsPerLogin} [${sweep.readUnitsPerLogin}] x ${PRICES.dynamoReadUnitPerMillion}   (emulator: ${cost.emulatorWriteUnitsPerLogin} [${sweep.emulatorWriteUnitsPerLogin}] write units)
    Lambda   = 3 x ${PRICES.lambdaRequestPerMillion} + billed ms per login / 1000 x ${results.cost.memoryMb / 1024} GB x ${PRICES.lambdaArmGbSecond} x 1,000,000
             = 3 x ${PRICES.lambdaRequestPerMillion} + ${cost.billedMsPerLogin} / 1000 x ${results.cost.memoryMb / 1024} x ${PRICES.lambdaArmGbSecond} x 1,000,000
    Cleanup  = ${cost.cleanup.writeUnitsPerLogin} [${sweep.cleanup.writeUnitsPerLogin}] x ${PRICES.dynamoWriteUnitPerMillion} + ${cost.cleanup.readUnitsPerLogin} [${sweep.cleanup.readUnitsPerLogin}] x ${PRICES.dynamoReadUnitPerMillion}
               + ${cost.cleanup.runsPerMonth} / ${cost.cleanup.assumedLoginsPerMonth} x ${PRICES.lambdaRequestPerMillion} + ${cost.cleanup.msPerLogin} [${sweep.cleanup.msPerLogin}] / 1000 x ${results.cost.memoryMb / 1024} x ${PRICES.lambdaArmGbSecond} x 1,000,000
    API      = 3 x ${PRICES.apiGatewayRestPerMillion}   (HTTP API: 3 x ${PRICES.apiGatewayHttpPerMillion}, no WAF)
    WAF      = 3 x ${PRICES.wafRequestPerMillion}

${table(
  [
    'configuration',
    'write units per login',
    'DynamoDB',
    'Lambda',
    'cleanup',
    'API Gateway REST',
    'WAF',
    'total (REST + WAF)',
    'total with HTTP API',
  ],
  [
    ['TTL alone (default)', cost],
    ['expiry sweep on', sweep],
  ].map(([name, figures]) => {
    const each = figures as LoginCost;
    const p = each.perMillionLogins;
    return [
      name as string,
      each.writeUnitsPerLogin + each.cleanup.writeUnitsPerLogin,
      usd(p.dynamodb),
      usd(p.lambda),
      usd(p.cleanup),
      usd(p.apiGateway),
      usd(p.waf),
      usd(p.total),
      usd(p.totalWithHttpApi),
    ];
  }),
)}

## Local server under load

Complete logins (send, verify, session check) through the local server on 127.0.0.1 with the deployed
handlers and DynamoDB Local, for ${results.load[0]?.seconds ?? 0} s per level; each flow uses its own target.
The server runs in the bench's process; the load generator runs in a child process of its own
(bench/load-client.ts), so the two share the machine's cores but not an event loop.

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

${notes.trim() ? `## What stands in the way, and what was tried\n\n${notes.trim()}\n` : ''}${
    mutation.trim() ? `\n${mutation.trim()}\n` : ''
  }`;
}
