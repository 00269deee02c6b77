/**
 * Which failures mean "the database is throttled or cannot be reached right now" (API.md,
 * Conventions: `503 unavailable`, never a 500). By the names and codes the AWS SDK gives them, the
 * same families its standard retry mode retries (@smithy/core, retry/service-error-classification):
 * they reach a handler only once the SDK's tries are spent (adapters/dynamo/client.ts,
 * FUNCTION_REQUEST_LIMITS). Anything else unexpected stays a 500: a bug must not hide behind a 503.
 */

/** DynamoDB refusing for load: the table's, the account's or the partition's. */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  // A transaction with the same ClientRequestToken still runs: the SDK's retry of one whose answer was lost.
  'TransactionInProgressException',
]);

/** DynamoDB failing on its side, a try that timed out, and a write that kept meeting transactions (retry.ts). */
const TRANSIENT = new Set([
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransactionConflictException',
]);

/** Node's errors for a connection refused, reset, broken or never made. */
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Why a TransactWriteItems was cancelled when none of its conditions refused it. */
const TRANSACTION_REASONS = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded', 'TransactionConflict']);

interface SdkLike {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  CancellationReasons?: { Code?: string }[];
}

/**
 * The reason to answer 503 for `error` (its name, code or cancellation reason, for the log line), or
 * undefined when it is not a database that is unavailable.
 */
export function unavailableCause(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 3; depth++) {
    const { name, code, cause, $metadata, CancellationReasons } = current as SdkLike;
    if (name === 'TransactionCanceledException') {
      const codes = (CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
      // A refused condition is an answer, not an outage; handlers never see one, but say so here too.
      if (codes.includes('ConditionalCheckFailed')) return undefined;
      const reason = codes.find((code) => TRANSACTION_REASONS.has(code));
      return reason === undefined ? undefined : `TransactionCanceledException: ${reason}`;
    }
    if (typeof name === 'string' && (THROTTLING.has(name) || TRANSIENT.has(name))) return name;
    if (typeof code === 'string' && NETWORK.has(code)) return code;
    const status = Number($metadata?.httpStatusCode);
    if (status === 429 || (status >= 500 && status <= 504)) return `${String(name)} (HTTP ${status})`;
    current = cause;
  }
  return undefined;
}
