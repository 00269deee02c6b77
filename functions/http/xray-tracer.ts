import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';

/**
 * One X-Ray tracer per container: the X-Ray SDK keeps its context per process, so every handler and
 * client of a function shares it. It records only where Lambda runs with active tracing (the stack
 * sets Tracing.ACTIVE, lib/function-defaults.ts): outside Lambda (npm start, the tests, the bench)
 * the Tracer switches itself off, as it does with POWERTOOLS_TRACE_ENABLED=false, and nothing looks
 * for an X-Ray daemon. Outgoing HTTP is not patched globally: the AWS SDK clients are captured one by
 * one (traced below), the only calls the functions make.
 */
export const tracer = new Tracer({ serviceName: 'otp-service', captureHTTPsRequests: false });

/** The client, its calls recorded as subsegments (operation, table, retries; no request bodies). */
export function traced<Client>(client: Client): Client {
  return tracer.captureAWSv3Client(client);
}

/**
 * The invocation as a subsegment with a ColdStart annotation. Responses are not recorded: they carry
 * session and refresh tokens, and in dev mode the code (never to be logged, functions/http/logger.ts).
 * An error the chain answers as a problem (`answered`: a wrong code, a limit) closes the subsegment
 * as a success would: X-Ray would count it as a fault otherwise. Any other error is recorded.
 */
export function traceInvocation<Event, Result>(answered: (error: unknown) => boolean): MiddlewareObj<Event, Result> {
  const capture = captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj<Event, Result>;
  return {
    before: capture.before,
    after: capture.after,
    onError: async (request) => {
      if (answered(request.error)) await capture.after?.(request);
      else await capture.onError?.(request);
    },
  };
}
