import { SESClient } from '@aws-sdk/client-ses';
import { SNSClient } from '@aws-sdk/client-sns';

/**
 * The longest a send may spend handing one message to SNS or SES, retries included. The send
 * function times out after 10 s (lib/function-defaults.ts); a provider that hangs must be given up
 * well before that, so that the send can still discard the code and answer 502 delivery-failed,
 * rather than time out with a bare 500 and leave the code stored and usable. SNS and SES answer in
 * well under a second when healthy.
 */
export const DELIVERY_TIMEOUT_MS = 4_000;

/**
 * One retry, on a fresh connection, within the same bound. The SDK's defaults (3 attempts, and a
 * socket that may stay silent for 5 minutes) would outlast the function many times over.
 */
const MAX_ATTEMPTS = 2;

function deliveryClientConfig() {
  return {
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      // Counted from the start of each attempt, connecting included.
      requestTimeout: DELIVERY_TIMEOUT_MS / MAX_ATTEMPTS,
      // Without it, @smithy/node-http-handler only logs a warning when requestTimeout has passed.
      throwOnRequestTimeout: true,
    },
  };
}

/**
 * The SNS client of the send function. Region, credentials and endpoint come from the environment,
 * as in Lambda; AWS_ENDPOINT_URL_SNS points it elsewhere.
 */
export function smsClient(): SNSClient {
  return new SNSClient(deliveryClientConfig());
}

/** The SES (v1) client of the send function; AWS_ENDPOINT_URL_SES points it elsewhere. */
export function emailClient(): SESClient {
  return new SESClient(deliveryClientConfig());
}

/**
 * Options of every hand-over: the abort bounds the whole of it (attempts, backoff between them,
 * reading the answer) even where a client was built without the timeouts above.
 */
export function handOverOptions(): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) };
}
