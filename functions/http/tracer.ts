import type { MiddlewareObj } from '@middy/core';

/**
 * X-Ray subsegments per handler and AWS call (functions/http/xray-tracer.ts), where the build keeps
 * them. The stack builds without them unless asked (`xraySdkTracing`, lib/function-defaults.ts
 * defines OTP_BUILD_XRAY_SDK as `off`), and esbuild then drops this import and the X-Ray SDK with it:
 * about 120 KB of every bundle and a fifth of its start. Lambda's active tracing records each
 * invocation's segments either way. Unbundled (npm start, the tests) the SDK is loaded as before.
 */
const xray = process.env.OTP_BUILD_XRAY_SDK === 'off' ? undefined : await import('./xray-tracer.js');

/** The client, its calls recorded as subsegments where the X-Ray SDK is built in. */
export function traced<Client>(client: Client): Client {
  return xray ? xray.traced(client) : client;
}

/**
 * The invocation as a subsegment where the X-Ray SDK is built in; otherwise no middleware at all
 * (middy's `use` takes a list, and refuses an empty middleware object).
 */
export function traceInvocation<Event, Result>(answered: (error: unknown) => boolean): MiddlewareObj<Event, Result>[] {
  return xray ? [xray.traceInvocation<Event, Result>(answered)] : [];
}
