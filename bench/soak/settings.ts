/**
 * What `npm run soak` changes in the server's configuration, and why. Everything not named here keeps
 * its default (API.md, Configuration), in particular every value an invariant is checked against:
 * OTP_MAX_ATTEMPTS (3), the per-target send limits (5 an hour, 10 a day), the per-IP limit (30 an
 * hour), the per-block SMS cap (10 an hour), the deployment's SMS cap (2000 an hour) and the breaker.
 */
export const SOAK_SERVER_ENV: Readonly<Record<string, { value: string; why: string }>> = {
  OTP_RESEND_COOLDOWN_SECONDS: {
    value: '1',
    why: 'default 30: lets a flow log one target in twice, and a hammered target reach its hourly limit',
  },
  OTP_MAX_FAILURES_PER_TARGET: {
    value: '6',
    why: 'default 50: a run of wrong codes reaches the lock-out within the 5 sends an hour a target gets',
  },
  OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: {
    value: '100',
    why: 'default 500: SMS to one country reach the cap within a short run',
  },
};

/** The soak's server environment as variables. */
export function soakServerEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(SOAK_SERVER_ENV).map(([name, { value }]) => [name, value]));
}
