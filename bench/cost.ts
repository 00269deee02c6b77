import type { CleanupResult, DurationResult, OperationResult } from './operations.js';

/** us-east-1 list prices, USD. Fixed monthly fees (WAF ACL and rules) are left out of per-login cost. */
export const PRICES = {
  dynamoWriteUnitPerMillion: 0.625,
  dynamoReadUnitPerMillion: 0.125,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequestPerMillion: 0.2,
  apiGatewayRestPerMillion: 3.5,
  apiGatewayHttpPerMillion: 1.0,
  wafRequestPerMillion: 0.6,
} as const;

export const LOGIN = {
  send: 'send: first code to a target',
  verify: 'verify: success, returning customer',
  session: 'session check',
} as const;

/** The same login with the expiry sweep on (OTP_EXPIRY_SWEEP), measured in the same run. */
export const LOGIN_WITH_SWEEP = {
  send: `${LOGIN.send} (expiry sweep on)`,
  verify: `${LOGIN.verify} (expiry sweep on)`,
  session: `${LOGIN.session} (expiry sweep on)`,
} as const;

/** The hourly schedule of lib/otp-cleanup.ts, and the traffic its fixed cost is spread over. */
export const CLEANUP_RUNS_PER_MONTH = 24 * 30;
export const ASSUMED_LOGINS_PER_MONTH = 1_000_000;

/** What a login costs in one configuration. */
export interface LoginCost {
  /** Write units per complete login as AWS bills them (bench/billing.ts), refused writes included. */
  writeUnitsPerLogin: number;
  /** The same as DynamoDB Local reports it, with refused writes estimated: for comparison only. */
  emulatorWriteUnitsPerLogin: number;
  readUnitsPerLogin: number;
  /** Billed milliseconds per login: each handler's median, rounded up to the millisecond. */
  billedMsPerLogin: number;
  /** The scheduled function's share: with the sweep, its queries and deletes; without, its invocations only. */
  cleanup: {
    /** Items of a login the cleanup deletes (0 without the sweep: TTL deletes them, free). */
    itemsPerLogin: number;
    runsPerMonth: number;
    assumedLoginsPerMonth: number;
    /** Units per login: the items it leaves times the cost per item, plus its share of the hourly runs. */
    writeUnitsPerLogin: number;
    readUnitsPerLogin: number;
    /** Lambda milliseconds per login, the same way. */
    msPerLogin: number;
  };
  perMillionLogins: {
    dynamodb: number;
    lambda: number;
    cleanup: number;
    apiGateway: number;
    waf: number;
    total: number;
    /** The same with an HTTP API instead of REST (no WAF on HTTP APIs). */
    totalWithHttpApi: number;
  };
}

/** The default configuration (TTL alone), and the same login with the expiry sweep on. */
export interface CostResult extends LoginCost {
  memoryMb: number;
  expirySweep: LoginCost;
}

const cents = (value: number) => Math.round(value * 100) / 100;
const thousandths = (value: number) => Math.round(value * 1000) / 1000;

const lambdaDollars = (invocations: number, ms: number, memoryMb: number) =>
  invocations * PRICES.lambdaRequestPerMillion + (ms / 1000) * (memoryMb / 1024) * PRICES.lambdaArmGbSecond * 1_000_000;

/**
 * Per 1M logins of 3 requests each (send, verify, session check), plus the scheduled function's share:
 *   DynamoDB = WRU x 0.625 + RRU x 0.125 (write units as AWS bills them)
 *   Lambda   = 3 x 0.20 + billed seconds x memory GB x 0.0000133334 x 1M
 *   Cleanup  = with the expiry sweep: items per login x (its DynamoDB and Lambda per item)
 *              + (runs per month / logins per month) x (the DynamoDB and Lambda of an empty run);
 *              without it: (runs per month / logins per month) x the invocation (it only rotates keys)
 *   API      = 3 x 3.50 (REST) or 3 x 1.00 (HTTP);   WAF = 3 x 0.60
 * Both configurations use the same handler durations (measured in the default one).
 */
export function costPerMillionLogins(
  operations: OperationResult[],
  durations: DurationResult[],
  cleanup: CleanupResult,
  memoryMb: number,
): CostResult {
  const billedMs = durations.reduce((sum, duration) => sum + Math.ceil(duration.medianMs), 0);
  const ttlOnly = loginCost(operations, LOGIN, billedMs, undefined, memoryMb);
  return { memoryMb, ...ttlOnly, expirySweep: loginCost(operations, LOGIN_WITH_SWEEP, billedMs, cleanup, memoryMb) };
}

/** One configuration's login; `sweep`: the cleanup's measured deletes and queries, when it makes them. */
function loginCost(
  operations: OperationResult[],
  names: Record<keyof typeof LOGIN, string>,
  billedMs: number,
  sweep: CleanupResult | undefined,
  memoryMb: number,
): LoginCost {
  const pick = (name: string) => {
    const found = operations.find((operation) => operation.operation === name);
    if (!found) throw new Error(`no measurement for "${name}"`);
    return found;
  };
  const login = [pick(names.send), pick(names.verify), pick(names.session)];
  const writeUnits = login.reduce((sum, op) => sum + op.billedWriteUnits, 0);
  const emulatorWriteUnits = login.reduce((sum, op) => sum + op.writeUnits + op.estimatedWriteUnits, 0);
  const readUnits = login.reduce((sum, op) => sum + op.readUnits, 0);

  const runsPerLogin = CLEANUP_RUNS_PER_MONTH / ASSUMED_LOGINS_PER_MONTH;
  const share = sweep
    ? {
        itemsPerLogin: sweep.itemsPerLogin,
        writeUnitsPerLogin: thousandths(
          sweep.itemsPerLogin * sweep.perItem.billedWriteUnits + runsPerLogin * sweep.fixedPerRun.billedWriteUnits,
        ),
        readUnitsPerLogin: thousandths(
          sweep.itemsPerLogin * sweep.perItem.readUnits + runsPerLogin * sweep.fixedPerRun.readUnits,
        ),
        msPerLogin: thousandths(sweep.itemsPerLogin * sweep.msPerItem + runsPerLogin * Math.ceil(sweep.runMs)),
      }
    : { itemsPerLogin: 0, writeUnitsPerLogin: 0, readUnitsPerLogin: 0, msPerLogin: 0 };

  const units = (write: number, read: number) =>
    write * PRICES.dynamoWriteUnitPerMillion + read * PRICES.dynamoReadUnitPerMillion;
  const dynamodb = units(writeUnits, readUnits);
  const lambda = lambdaDollars(3, billedMs, memoryMb);
  const cleanupDollars =
    units(share.writeUnitsPerLogin, share.readUnitsPerLogin) + lambdaDollars(runsPerLogin, share.msPerLogin, memoryMb);
  const apiGateway = 3 * PRICES.apiGatewayRestPerMillion;
  const waf = 3 * PRICES.wafRequestPerMillion;
  const common = dynamodb + lambda + cleanupDollars;
  return {
    writeUnitsPerLogin: writeUnits,
    emulatorWriteUnitsPerLogin: emulatorWriteUnits,
    readUnitsPerLogin: readUnits,
    billedMsPerLogin: billedMs,
    cleanup: {
      runsPerMonth: CLEANUP_RUNS_PER_MONTH,
      assumedLoginsPerMonth: ASSUMED_LOGINS_PER_MONTH,
      ...share,
    },
    perMillionLogins: {
      dynamodb: cents(dynamodb),
      lambda: cents(lambda),
      cleanup: cents(cleanupDollars),
      apiGateway: cents(apiGateway),
      waf: cents(waf),
      total: cents(common + apiGateway + waf),
      totalWithHttpApi: cents(common + 3 * PRICES.apiGatewayHttpPerMillion),
    },
  };
}
