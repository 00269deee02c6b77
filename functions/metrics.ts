/** CloudWatch namespace of the service's own metrics; the stack's alarms read from it too. */
export const METRICS_NAMESPACE = 'OtpService';

/**
 * The `service` dimension Powertools adds to every metric (POWERTOOLS_SERVICE_NAME of the functions,
 * lib/function-environment.ts): a CloudWatch metric is named by all its dimensions, so the stack's
 * alarms and dashboard name it too.
 */
export const METRICS_SERVICE = 'otp-service';

/**
 * What the SMS cost protection reports (embedded metric format, functions/usage-metrics.ts), and the
 * stack's dashboard and alarms read (lib/). Each is emitted once per dimension set listed, besides
 * `service`.
 */
export const SMS_METRICS = {
  /** An SMS handed to the provider. Dimensions: {country}, {clientId}. */
  sent: 'SmsSent',
  /** A code sent by SMS proved. Dimensions: {country}, {clientId}. */
  verified: 'SmsVerified',
  /** A send refused by a limit (429), whatever its channel. Dimensions: {reason}, {reason, clientId}, and for SMS {reason, country}. */
  refused: 'SendRefused',
  /**
   * The conversion breaker judged a country's conversion too low (enforce: SMS to it paused; monitor:
   * logged only). Dimensions: none (the alarm's), {country, mode}.
   */
  breakerTripped: 'BreakerTripped',
} as const;
