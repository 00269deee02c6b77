import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

/** What an HTTP request carries, before API Gateway (REST) turns it into a Lambda event. */
export interface HttpCall {
  method: string;
  path: string;
  /** The route template; the path itself where routes have no parameters. */
  resource?: string;
  /** As received: API Gateway keeps the client's header-name case. */
  headers?: Record<string, string | string[] | undefined>;
  body?: string | null;
  query?: Record<string, string>;
  sourceIp?: string;
  protocol?: string;
}

/**
 * The event API Gateway (REST, Lambda proxy) sends for `call`: the one builder of such events for
 * the local server, the tests and the benchmark.
 */
export function apiGatewayEvent(call: HttpCall): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(call.headers ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(', ');
    multiValueHeaders[name] = values;
  }
  const resource = call.resource ?? call.path;
  const query = call.query ?? {};
  return {
    resource,
    path: call.path,
    httpMethod: call.method,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: call.body === undefined || call.body === '' ? null : call.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: null,
      httpMethod: call.method,
      path: call.path,
      protocol: call.protocol ?? 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
      stage: 'local',
      identity: {
        sourceIp: call.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? headers['User-Agent'] ?? null,
      } as APIGatewayProxyEvent['requestContext']['identity'],
    },
  };
}

export function lambdaContext(functionName: string, requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `otp-${functionName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:otp-${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/otp-${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
