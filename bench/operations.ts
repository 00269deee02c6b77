import { type BenchDeps, benchDeps, benchHandlers as api, invoke } from './harness.js';
import { wrongCode } from '../test/kit.js';
import { emptyUsage, type Usage } from './meter.js';
import { CLEANUP_LOOKBACK_HOURS } from '../functions/core/cleanup.js';
import { percentile } from './bundles.js';
import { LOGIN, LOGIN_WITH_SWEEP } from './cost.js';

export interface OperationResult extends Usage {
  operation: string;
  status: number;
}

/** Runs `call`, checks it answered `expected`, and returns what it cost in DynamoDB. */
async function measured(
  deps: BenchDeps,
  operation: string,
  expected: number,
  call: () => Promise<{ status: number }>,
): Promise<OperationResult> {
  let status = 0;
  const usage = await deps.meter.measure(async () => {
    status = (await call()).status;
  });
  if (status !== expected) throw new Error(`${operation}: expected ${expected}, got ${status}`);
  return { operation, status, ...usage };
}

/** DynamoDB requests, round trips and capacity of each operation, in the default configuration. */
export async function measureOperations(endpoint: string): Promise<OperationResult[]> {
  const deps = await benchDeps(endpoint, {}, { billing: true });
  const { send, verify, session, refresh, policy } = api(deps);
  const results: OperationResult[] = [];
  const target = 'bench@example.com';
  const sendTo = (to: string) => invoke(send, { body: { target: to } });
  const verifyWith = (to: string, code: string) => invoke(verify, { body: { target: to, code } });
  const unknownSession = { Authorization: `Bearer ${'x'.repeat(43)}` };

  // Each function's first call reads the API key's client (two GetItems), then remembers it for a
  // minute: these are measured apart, so that every other line is what a warm function pays.
  // From another network, so that the lines below meet the counters a first login meets.
  const firstCall = () => invoke(send, { body: { target: 'first@example.com' }, sourceIp: '198.51.100.200' });
  results.push(await measured(deps, 'send: first call of a function (reads the client)', 200, firstCall));
  results.push(
    await measured(deps, 'verify: first call of a function (reads the client), no code sent', 401, () =>
      verifyWith('nobody@example.com', '123456'),
    ),
  );
  results.push(
    await measured(deps, 'session check: first call of a function (reads the client), unknown token', 401, () =>
      invoke(session, { method: 'GET', headers: unknownSession }),
    ),
  );
  const policyCall = () => invoke(policy, { method: 'GET', query: { action: 'redeem' } });
  results.push(await measured(deps, 'policy: first call of a function (reads the client)', 200, policyCall));
  results.push(await measured(deps, 'policy: warm', 200, policyCall));

  results.push(await measured(deps, LOGIN.send, 200, () => sendTo(target)));
  let code = '';
  deps.clock.now += 31_000;
  results.push(
    await measured(deps, 'send: new code to the same target', 200, async () => {
      const answer = await sendTo(target);
      code = String(answer.body.mockCode);
      return answer;
    }),
  );
  results.push(await measured(deps, 'send: refused (cooldown)', 429, () => sendTo(target)));

  let token = '';
  results.push(
    await measured(deps, 'verify: success, new customer', 200, async () => {
      const answer = await verifyWith(target, code);
      token = String(answer.body.sessionToken);
      return answer;
    }),
  );
  deps.clock.now += 31_000;
  code = String((await sendTo(target)).body.mockCode);
  let refreshToken = '';
  results.push(
    await measured(deps, LOGIN.verify, 200, async () => {
      const answer = await verifyWith(target, code);
      refreshToken = String(answer.body.refreshToken);
      return answer;
    }),
  );
  deps.clock.now += 31_000;
  code = String((await sendTo(target)).body.mockCode);
  results.push(await measured(deps, 'verify: wrong code', 401, () => verifyWith(target, wrongCode(code))));
  results.push(await measured(deps, 'verify: success after a wrong code', 200, () => verifyWith(target, code)));
  results.push(await measured(deps, 'verify: no code sent', 401, () => verifyWith('nobody@example.com', '123456')));
  deps.clock.now += 31_000;
  code = String((await sendTo(target)).body.mockCode);
  for (let i = 0; i < 3; i++) await verifyWith(target, wrongCode(code));
  results.push(await measured(deps, 'verify: attempts used up', 429, () => verifyWith(target, code)));

  const refreshWith = (presented: string) => invoke(refresh, { body: { refreshToken: presented } });
  results.push(
    await measured(deps, 'refresh: first call of a function (reads the client), unknown token', 401, () =>
      refreshWith('x'.repeat(43)),
    ),
  );
  let rotated = '';
  results.push(
    await measured(deps, 'refresh: rotate', 200, async () => {
      const answer = await refreshWith(refreshToken);
      rotated = String(answer.body.refreshToken);
      return answer;
    }),
  );
  results.push(
    await measured(deps, 'refresh: a used token again (revokes the session)', 401, () => refreshWith(refreshToken)),
  );
  results.push(await measured(deps, 'refresh: after the session was revoked', 401, () => refreshWith(rotated)));

  const auth = { Authorization: `Bearer ${token}` };
  results.push(await measured(deps, LOGIN.session, 200, () => invoke(session, { method: 'GET', headers: auth })));
  results.push(await measured(deps, 'session revoke', 204, () => invoke(session, { method: 'DELETE', headers: auth })));
  results.push(
    await measured(deps, 'session check: revoked', 401, () => invoke(session, { method: 'GET', headers: auth })),
  );
  results.push(...(await measureSms(endpoint)));
  results.push(...(await measureLoginWithSweep(endpoint)));
  return results;
}

/**
 * The login of the cost figure with the expiry sweep on (OTP_EXPIRY_SWEEP): every item it creates is
 * listed in the `due` index, and every item it deletes leaves it. Measured in the same sequence as
 * the default's lines (a first send to a target, its first login, then a returning customer's).
 */
async function measureLoginWithSweep(endpoint: string): Promise<OperationResult[]> {
  const deps = await benchDeps(endpoint, { OTP_EXPIRY_SWEEP: 'true' }, { billing: true });
  const { send, verify, session } = api(deps);
  const target = 'bench-swept@example.com';
  const sendTo = async () => String((await invoke(send, { body: { target } })).body.mockCode);
  // Warm: each function's first call reads the API key's client, measured above.
  await invoke(send, { body: { target: 'warm-swept@example.com' }, sourceIp: '198.51.100.202' });
  await invoke(session, { method: 'GET', headers: { Authorization: `Bearer ${'x'.repeat(43)}` } });
  const results: OperationResult[] = [];
  results.push(await measured(deps, LOGIN_WITH_SWEEP.send, 200, () => invoke(send, { body: { target } })));
  deps.clock.now += 31_000;
  const first = await invoke(verify, { body: { target, code: await sendTo() } });
  if (first.status !== 200) throw new Error(`swept login: verify answered ${first.status}`);
  deps.clock.now += 31_000;
  const code = await sendTo();
  let token = '';
  results.push(
    await measured(deps, LOGIN_WITH_SWEEP.verify, 200, async () => {
      const answer = await invoke(verify, { body: { target, code } });
      token = String(answer.body.sessionToken);
      return answer;
    }),
  );
  results.push(
    await measured(deps, LOGIN_WITH_SWEEP.session, 200, () =>
      invoke(session, { method: 'GET', headers: { Authorization: `Bearer ${token}` } }),
    ),
  );
  return results;
}

/**
 * What the SMS cost protection adds to a send and a verify: the same SMS login with the caps and the
 * breaker off (the send of before them) and with the defaults, and a send to a paused country.
 */
async function measureSms(endpoint: string): Promise<OperationResult[]> {
  const results: OperationResult[] = [];
  const off = await benchDeps(
    endpoint,
    {
      OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0',
      OTP_SMS_LIMIT_PER_HOUR: '0',
      OTP_BREAKER_MODE: 'off',
    },
    { billing: true },
  );
  const on = await benchDeps(endpoint, {}, { billing: true });
  const onHandlers = api(on);
  for (const [deps, { send, verify }, label] of [
    [off, api(off), 'caps and breaker off'],
    [on, onHandlers, 'caps and breaker on (defaults)'],
  ] as const) {
    // Warm: the client lookup is measured above.
    await invoke(send, { body: { target: 'warm@example.com' }, sourceIp: '198.51.100.201' });
    let code = '';
    results.push(
      await measured(deps, `send: SMS, ${label}`, 200, async () => {
        const answer = await invoke(send, { body: { target: '+14155550123' } });
        code = String(answer.body.mockCode);
        return answer;
      }),
    );
    results.push(
      await measured(deps, `verify: SMS success, ${label}`, 200, () =>
        invoke(verify, { body: { target: '+14155550123', code } }),
      ),
    );
  }
  const now = on.clock.now;
  await on.store.pauseCountry('GB', now, now + 900_000, on.config.counterShards);
  results.push(
    await measured(on, 'send: SMS refused (country paused)', 429, () =>
      invoke(onHandlers.send, { body: { target: '+447911000001' } }),
    ),
  );
  return results;
}

export interface CleanupResult {
  operations: OperationResult[];
  logins: number;
  removed: number;
  /** State items one login leaves for the cleanup: items removed / logins. */
  itemsPerLogin: number;
  /** DynamoDB of a run that finds nothing: what every hourly run pays whatever the traffic. */
  fixedPerRun: Usage;
  /** DynamoDB per item removed, the fixed part taken out. */
  perItem: Usage;
  /** Wall time of the run that finds nothing, and per item removed, against DynamoDB Local. */
  runMs: number;
  msPerItem: number;
}

/**
 * The cost of the cleanup's expiry sweep (OTP_EXPIRY_SWEEP). `logins` complete logins (send, verify, session check), each with its own
 * target and address, so that every item they leave is theirs alone (an upper bound: real logins
 * share per-address and per-target counters); then a run that finds nothing (the fixed cost of
 * reading every bucket), then the runs that find all of it expired. What they cost beyond the fixed
 * cost of each, divided by the items removed, is the cost per item; the items removed, divided by the
 * logins, the items per login.
 */
export async function measureCleanup(endpoint: string, logins: number): Promise<CleanupResult> {
  // The sweep's cost: without it (the default) the scheduled run reads and deletes nothing.
  const deps = await benchDeps(endpoint, { SESSION_TTL_SECONDS: '60', OTP_EXPIRY_SWEEP: 'true' }, { billing: true });
  const { send, verify, session } = api(deps);
  // Dated ahead of the real clock so that DynamoDB Local's own TTL sweep leaves them alone.
  deps.clock.now = Date.UTC(2036, 0, 1, 10);
  for (let i = 0; i < logins; i++) {
    const target = `cleanup-${i}@example.com`;
    const sourceIp = `198.51.100.${i % 250}`;
    const sent = await invoke(send, { body: { target }, sourceIp });
    const verified = await invoke(verify, { body: { target, code: String(sent.body.mockCode) }, sourceIp });
    const checked = await invoke(session, {
      method: 'GET',
      headers: { Authorization: `Bearer ${String(verified.body.sessionToken)}` },
    });
    if (sent.status !== 200 || verified.status !== 200 || checked.status !== 200) {
      throw new Error(`cleanup setup ${i} failed: ${sent.status} ${verified.status} ${checked.status}`);
    }
  }
  const run = () => deps.store.removeExpired(deps.clock.now, 100_000, CLEANUP_LOOKBACK_HOURS);
  let started = performance.now();
  const empty = await deps.meter.measure(run);
  const runMs = performance.now() - started;
  // Two runs, each within its look-back of what expires: the codes' counters and the sessions a few
  // days on, the refresh tokens and families once their absolute end (OTP_REFRESH_TTL_SECONDS) is past.
  const start = deps.clock.now;
  const runsAt = [start + 3 * 86_400_000, start + deps.config.refreshTtlSeconds * 1000 + 86_400_000];
  let removed = 0;
  started = performance.now();
  const full = await deps.meter.measure(async () => {
    for (const at of runsAt) {
      deps.clock.now = at;
      removed += Object.values(await run()).reduce((sum, count) => sum + count, 0);
    }
  });
  const fullMs = performance.now() - started;
  if (removed === 0) throw new Error('cleanup removed nothing');
  const round = (value: number) => Math.round(value * 1000) / 1000;
  const perItem = emptyUsage();
  for (const key of Object.keys(perItem) as (keyof Usage)[]) {
    perItem[key] = round((full[key] - runsAt.length * empty[key]) / removed);
  }
  return {
    operations: [
      { operation: 'cleanup, expiry sweep on: a run that finds nothing (fixed cost per run)', status: 0, ...empty },
      { operation: `cleanup, expiry sweep on: per item removed (${removed} items)`, status: 0, ...perItem },
    ],
    logins,
    removed,
    itemsPerLogin: round(removed / logins),
    fixedPerRun: empty,
    perItem,
    runMs: Math.round(runMs),
    msPerItem: round(Math.max(0, fullMs - runsAt.length * runMs) / removed),
  };
}

export interface DurationResult {
  handler: string;
  invocations: number;
  medianMs: number;
  p90Ms: number;
}

/** Handler durations over complete logins (returning customers), the figure Lambda bills by. */
export async function measureDurations(endpoint: string, logins: number): Promise<DurationResult[]> {
  const deps = await benchDeps(endpoint, { OTP_SEND_LIMIT_PER_DAY: '1000', OTP_SEND_LIMIT_PER_HOUR: '1000' });
  const { send, verify, session } = api(deps);
  const times = { 'send-otp': [] as number[], 'verify-otp': [] as number[], session: [] as number[] };
  for (let i = 0; i < logins; i++) {
    deps.clock.now += 31_000;
    const target = `duration-${i % 5}@example.com`;
    // One address per login, as from many phones: the per-IP limit stays on, as deployed, and never refuses.
    const sent = await invoke(send, { body: { target }, sourceIp: `198.51.100.${i % 250}` });
    const verified = await invoke(verify, { body: { target, code: String(sent.body.mockCode) } });
    const checked = await invoke(session, {
      method: 'GET',
      headers: { Authorization: `Bearer ${String(verified.body.sessionToken)}` },
    });
    if (sent.status !== 200 || verified.status !== 200 || checked.status !== 200) {
      throw new Error(`login ${i} failed: ${sent.status} ${verified.status} ${checked.status}`);
    }
    // The first logins warm up the process and create the customers; bill by the steady state.
    if (i < 5) continue;
    times['send-otp'].push(sent.ms);
    times['verify-otp'].push(verified.ms);
    times.session.push(checked.ms);
  }
  return Object.entries(times).map(([handler, values]) => ({
    handler,
    invocations: values.length,
    medianMs: percentile(values, 50),
    p90Ms: percentile(values, 90),
  }));
}
