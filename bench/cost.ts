import type { DurationResult, OperationResult } from './operations.js';

/** us-east-1 list prices, USD. Fixed monthly fees (WAF ACL and rules) are left out of per-login cost. */
export const PRICES = {
  dynamoWriteUnitPerMillion: 0.625,
  dynamoReadUnitPerMillion: 0.125,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequestPerMillion: 0.2,
  apiGatewayRestPerMillion: 3.5,
  wafRequestPerMillion: 0.6,
} as const;

export const LOGIN = {
  send: 'send: first code to a target',
  verify: 'verify: success, returning customer',
  session: 'session check',
} as const;

export interface CostResult {
  memoryMb: number;
  /** Units per complete login, measured. */
  writeUnitsPerLogin: number;
  readUnitsPerLogin: number;
  /** Billed milliseconds per login: each handler's median, rounded up to the millisecond. */
  billedMsPerLogin: number;
  perMillionLogins: { dynamodb: number; lambda: number; apiGateway: number; waf: number; total: number };
}

const cents = (value: number) => Math.round(value * 100) / 100;

/**
 * Per 1M logins of 3 requests each (send, verify, session check):
 *   DynamoDB = WRU x 0.625 + RRU x 0.125
 *   Lambda   = 3 x 0.20 + billed seconds x memory GB x 0.0000133334 x 1M
 *   API      = 3 x 3.50;   WAF = 3 x 0.60
 */
export function costPerMillionLogins(
  operations: OperationResult[],
  durations: DurationResult[],
  memoryMb: number,
): CostResult {
  const pick = (name: string) => {
    const found = operations.find((operation) => operation.operation === name);
    if (!found) throw new Error(`no measurement for "${name}"`);
    return found;
  };
  const login = [pick(LOGIN.send), pick(LOGIN.verify), pick(LOGIN.session)];
  const writeUnits = login.reduce((sum, op) => sum + op.writeUnits + op.estimatedWriteUnits, 0);
  const readUnits = login.reduce((sum, op) => sum + op.readUnits, 0);
  const billedMs = durations.reduce((sum, duration) => sum + Math.ceil(duration.medianMs), 0);
  const dynamodb = writeUnits * PRICES.dynamoWriteUnitPerMillion + readUnits * PRICES.dynamoReadUnitPerMillion;
  const lambda =
    3 * PRICES.lambdaRequestPerMillion + (billedMs / 1000) * (memoryMb / 1024) * PRICES.lambdaArmGbSecond * 1_000_000;
  const apiGateway = 3 * PRICES.apiGatewayRestPerMillion;
  const waf = 3 * PRICES.wafRequestPerMillion;
  return {
    memoryMb,
    writeUnitsPerLogin: writeUnits,
    readUnitsPerLogin: readUnits,
    billedMsPerLogin: billedMs,
    perMillionLogins: {
      dynamodb: cents(dynamodb),
      lambda: cents(lambda),
      apiGateway: cents(apiGateway),
      waf: cents(waf),
      total: cents(dynamodb + lambda + apiGateway + waf),
    },
  };
}
