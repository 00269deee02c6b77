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

/** The hourly schedule of lib/otp-cleanup.ts, and the traffic its fixed cost is spread over. */
export const CLEANUP_RUNS_PER_MONTH = 24 * 30;
export const ASSUMED_LOGINS_PER_MONTH = 1_000_000;

export interface CostResult {
  memoryMb: number;
  /** Write units per complete login as AWS bills them (bench/billing.ts), refused writes included. */
  writeUnitsPerLogin: number;
  /** The same as DynamoDB Local reports it, with refused writes estimated: for comparison only. */
  emulatorWriteUnitsPerLogin: number;
  readUnitsPerLogin: number;
  /** Billed milliseconds per login: each handler's median, rounded up to the millisecond. */
  billedMsPerLogin: number;
  cleanup: {
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

const cents = (value: number) => Math.round(value * 100) / 100;
const thousandths = (value: number) => Math.round(value * 1000) / 1000;

const lambdaDollars = (invocations: number, ms: number, memoryMb: number) =>
  invocations * PRICES.lambdaRequestPerMillion + (ms / 1000) * (memoryMb / 1024) * PRICES.lambdaArmGbSecond * 1_000_000;

/**
 * Per 1M logins of 3 requests each (send, verify, session check), plus the cleanup's share:
 *   DynamoDB = WRU x 0.625 + RRU x 0.125 (write units as AWS bills them)
 *   Lambda   = 3 x 0.20 + billed seconds x memory GB x 0.0000133334 x 1M
 *   Cleanup  = items per login x (its DynamoDB and Lambda per item)
 *              + (runs per month / logins per month) x (the DynamoDB and Lambda of an empty run)
 *   API      = 3 x 3.50 (REST) or 3 x 1.00 (HTTP);   WAF = 3 x 0.60
 */
export function costPerMillionLogins(
  operations: OperationResult[],
  durations: DurationResult[],
  cleanup: CleanupResult,
  memoryMb: number,
): CostResult {
  const pick = (name: string) => {
    const found = operations.find((operation) => operation.operation === name);
    if (!found) throw new Error(`no measurement for "${name}"`);
    return found;
  };
  const login = [pick(LOGIN.send), pick(LOGIN.verify), pick(LOGIN.session)];
  const writeUnits = login.reduce((sum, op) => sum + op.billedWriteUnits, 0);
  const emulatorWriteUnits = login.reduce((sum, op) => sum + op.writeUnits + op.estimatedWriteUnits, 0);
  const readUnits = login.reduce((sum, op) => sum + op.readUnits, 0);
  const billedMs = durations.reduce((sum, duration) => sum + Math.ceil(duration.medianMs), 0);

  const runsPerLogin = CLEANUP_RUNS_PER_MONTH / ASSUMED_LOGINS_PER_MONTH;
  const share = {
    writeUnitsPerLogin: thousandths(
      cleanup.itemsPerLogin * cleanup.perItem.billedWriteUnits + runsPerLogin * cleanup.fixedPerRun.billedWriteUnits,
    ),
    readUnitsPerLogin: thousandths(
      cleanup.itemsPerLogin * cleanup.perItem.readUnits + runsPerLogin * cleanup.fixedPerRun.readUnits,
    ),
    msPerLogin: thousandths(cleanup.itemsPerLogin * cleanup.msPerItem + runsPerLogin * Math.ceil(cleanup.runMs)),
  };

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
    memoryMb,
    writeUnitsPerLogin: writeUnits,
    emulatorWriteUnitsPerLogin: emulatorWriteUnits,
    readUnitsPerLogin: readUnits,
    billedMsPerLogin: billedMs,
    cleanup: {
      itemsPerLogin: cleanup.itemsPerLogin,
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
