import { ConfigError } from '../config.js';
import { createLogger } from '../http/logger.js';
import { unavailableCause } from '../http/unavailable.js';

/**
 * How long a function's start may wait for one secret (the pepper, the signing keys). Lambda gives a
 * cold start 10 s to initialise; the two reads of a start run one after the other and must both fit,
 * so that a Secrets Manager that does not answer (no route to it from the function's network, an
 * outage) stops the start with a line that says so instead of a silent timeout.
 */
export const STARTUP_SECRET_TIMEOUT_MS = 3_000;

/**
 * `read` of the secret that `variable` names, bounded by `timeoutMs`: a read that does not answer in
 * time, or fails for a Secrets Manager that cannot be reached, logs one clear line and throws a
 * ConfigError naming the variable, which fails the function's start (handlers await their
 * configuration at module level).
 */
export async function readAtStartup<T>(
  variable: string,
  read: () => Promise<T>,
  timeoutMs = STARTUP_SECRET_TIMEOUT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigError(
            variable,
            `could not be read: Secrets Manager did not answer within ${timeoutMs / 1000} s. The function cannot start; check that its network reaches Secrets Manager (a VPC endpoint or a NAT gateway).`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([read(), deadline]);
  } catch (error) {
    // Unreachable or throttled after the SDK's tries: said as such. Other failures (a missing secret,
    // a denied read, a malformed key set) keep their own error and message.
    const cause = error instanceof ConfigError ? 'no answer' : unavailableCause(error);
    if (cause === undefined) throw error;
    const failure =
      error instanceof ConfigError
        ? error
        : new ConfigError(
            variable,
            `could not be read: Secrets Manager is unreachable or throttling (${cause}). The function cannot start; check that its network reaches Secrets Manager (a VPC endpoint or a NAT gateway).`,
          );
    createLogger().error('start-up failed: Secrets Manager unavailable', { variable, reason: failure.message });
    throw failure;
  } finally {
    clearTimeout(timer);
  }
}
