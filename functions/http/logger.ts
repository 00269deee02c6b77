import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one structured logger of the handlers. Nothing logged may contain a code, a session token, the
 * pepper or a full target: log masked targets only (core/targets.ts maskTarget).
 */
export const logger = new Logger({ serviceName: 'otp-service' });
