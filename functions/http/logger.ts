import { Logger } from '@aws-lambda-powertools/logger';

/**
 * A logger of its own for each handler. Powertools keeps the Lambda context (function name, request
 * id) on the logger instance, so handlers sharing one logger in one process (the local server) would
 * tag each other's lines. Nothing logged may contain a code, a session token, the pepper or a full
 * target: log masked targets only (core/targets.ts maskTarget).
 */
export function createLogger(): Logger {
  return new Logger({ serviceName: 'otp-service' });
}
