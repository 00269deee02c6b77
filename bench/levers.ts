import { fileURLToPath } from 'node:url';
import { HANDLERS } from '../functions/routes.js';
import { type BuildLevers, defaultLevers, handlerEntry, STOCK_BUILD } from '../lib/function-defaults.js';

/**
 * What the bench builds: every function as the stack builds it (its name alone), and, for the
 * functions a login goes through, the build before issue 13 (`@stock`) and that build with one lever
 * at a time, so that each lever is measured beside the base in the same interleaved run. The floor
 * is built as before issue 13 too: the anchor the cold-start goal was set against. `floor@env` is the
 * floor with the one lever that applies to it, shown beside it for the reader who would rather
 * compare with that.
 */
export interface BenchBuild {
  /** `send-otp`, `send-otp@stock`, `floor@env`, ...: the function's name, then the variant's. */
  name: string;
  entry: string;
  levers: BuildLevers;
}

/** The functions whose levers are measured one by one: the login's, and refresh. */
export const LEVER_FUNCTIONS = ['send-otp', 'verify-otp', 'session', 'refresh'] as const;

/** OTP_SMS_ALLOWED_COUNTRIES of the functions the bench starts (bench/cold-start.ts). */
export const BENCH_SMS_COUNTRIES = ['US'] as const;

/** Each lever alone, added to the stock build. */
export const LEVERS: {
  suffix: string;
  what: string;
  apply: (levers: BuildLevers) => BuildLevers;
  /** The functions the lever changes, where it does not change them all. */
  only?: readonly string[];
}[] = [
  {
    suffix: 'env',
    what: 'credentials from the environment only (functions/adapters/lambda-credentials.ts)',
    apply: (levers) => ({ ...levers, envCredentials: true }),
  },
  {
    suffix: 'phone-us',
    what: 'the phone metadata of the calling code of the US only, the SMS countries of the bench (lib/phone-metadata.ts)',
    apply: (levers) => ({ ...levers, phoneCountries: BENCH_SMS_COUNTRIES }),
    // Only these read phone numbers.
    only: ['send-otp', 'verify-otp'],
  },
  {
    suffix: 'sms-only',
    what: 'the delivery clients of the allowed channels only: no SES client where only SMS is on (functions/wiring.ts createSenders)',
    apply: (levers) => ({ ...levers, channels: ['sms'] }),
    // Only the send function has delivery clients.
    only: ['send-otp'],
  },
  {
    suffix: 'no-xray',
    what: 'no X-Ray SDK (functions/http/tracer.ts; Lambda active tracing stays)',
    apply: (levers) => ({ ...levers, xraySdk: false }),
  },
];

export const functionOf = (name: string): string => name.split('@')[0] ?? name;
export const variantOf = (name: string): string | undefined => name.split('@')[1];

export function benchBuilds(): BenchBuild[] {
  const floor = fileURLToPath(new URL('floor.ts', import.meta.url));
  const builds: BenchBuild[] = [
    { name: 'floor', entry: floor, levers: STOCK_BUILD },
    { name: 'floor@env', entry: floor, levers: { ...STOCK_BUILD, envCredentials: true } },
  ];
  // As the stack builds a deployment that sends SMS to the US only (bench/cold-start.ts).
  const stack = defaultLevers({ phoneCountries: BENCH_SMS_COUNTRIES, channels: ['sms'] });
  for (const name of [...HANDLERS, 'cleanup']) {
    builds.push({ name, entry: handlerEntry(name), levers: stack });
    if (!(LEVER_FUNCTIONS as readonly string[]).includes(name)) continue;
    builds.push({ name: `${name}@stock`, entry: handlerEntry(name), levers: STOCK_BUILD });
    for (const lever of LEVERS) {
      if (lever.only && !lever.only.includes(name)) continue;
      builds.push({ name: `${name}@${lever.suffix}`, entry: handlerEntry(name), levers: lever.apply(STOCK_BUILD) });
    }
  }
  return builds;
}
