import type { APIGatewayProxyResult } from 'aws-lambda';

/**
 * RFC 9457 problem details with the `success` and `error` members every error of this API carries.
 * The one builder of such bodies: the handlers, the local server and the API Gateway responses of
 * the stack (lib/) all write them through here.
 */
export interface Problem {
  status: number;
  /** Short kebab-case name of the problem; `type` ends in it and `error` is it. */
  slug: string;
  title: string;
  detail: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Responses carry codes and tokens: no proxy or client may keep them. */
export const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/** The body, as the object to serialise; `extensions` add members such as `errors` or `retryAfter`. */
export function problemBody(problem: Problem, extensions: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: `/problems/${problem.slug}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...extensions,
    success: false,
    error: problem.slug,
  };
}

/** The same problem as a Lambda proxy response. */
export function problemResponse(
  problem: Problem,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): APIGatewayProxyResult {
  return {
    statusCode: problem.status,
    headers: { ...NO_STORE, ...headers, 'Content-Type': PROBLEM_CONTENT_TYPE },
    body: JSON.stringify(problemBody(problem, extensions)),
  };
}

export const INTERNAL_ERROR: Problem = {
  status: 500,
  slug: 'internal-error',
  title: 'Internal error',
  detail: 'Something went wrong on our side. Try again later.',
};
