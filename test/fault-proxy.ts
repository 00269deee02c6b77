/**
 * A fault-injecting HTTP proxy in front of the run's DynamoDB Local, on 127.0.0.1: the handlers'
 * DynamoDB client talks to it over real HTTP, and a test switches it between passing requests on and
 * failing them the ways DynamoDB and the network fail:
 * - `throttle`: DynamoDB's own 400 answers, `x-amzn-ErrorType` header and `__type` body as DynamoDB
 *   writes them, for ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded;
 * - `server-error`: DynamoDB's 500 InternalServerError;
 * - `reset`: the connection is reset as the request arrives (ECONNRESET);
 * - `hang`: the request is never answered (the client's timeouts must end it);
 * - `lose-answer`: the request reaches DynamoDB and is done, then the connection is reset before the
 *   answer gets back: the write happened and the caller saw an error;
 * - `refuse` (proxy.refuse()): nothing listens on the port any more (ECONNREFUSED) until proxy.pass().
 * A rule may pick one operation (`TransactWriteItems`, by the request's X-Amz-Target), let the first
 * few of them pass, and fail a number of requests, after which it is spent. It does not import vitest.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

export type ThrottleName = 'ProvisionedThroughputExceededException' | 'ThrottlingException' | 'RequestLimitExceeded';
export type FaultMode = 'throttle' | 'server-error' | 'reset' | 'hang' | 'lose-answer';

export interface FaultRule {
  mode: FaultMode;
  /** For `throttle`: which of DynamoDB's answers (ThrottlingException unless said). */
  error?: ThrottleName;
  /** The DynamoDB operation it applies to (`GetItem`, `TransactWriteItems`, ...); every one when left out. */
  op?: string;
  /** How many requests it fails before it is spent; every one when left out. */
  times?: number;
  /** How many of the requests it applies to it lets pass first (the steps before the one to fail). */
  skip?: number;
}

/** The namespaces DynamoDB writes in `__type` (ThrottlingException comes from its coral layer). */
const TYPE_OF: Record<ThrottleName | 'InternalServerError', string> = {
  ProvisionedThroughputExceededException: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  ThrottlingException: 'com.amazon.coral.availability#ThrottlingException',
  RequestLimitExceeded: 'com.amazonaws.dynamodb.v20120810#RequestLimitExceeded',
  InternalServerError: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
};

const MESSAGE_OF: Record<ThrottleName | 'InternalServerError', string> = {
  ProvisionedThroughputExceededException:
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  ThrottlingException: 'Rate of requests exceeds the allowed throughput.',
  RequestLimitExceeded: 'Throughput exceeds the current throughput limit for your account.',
  InternalServerError: 'Internal server error',
};

export interface FaultProxy {
  /** The URL to give a DynamoDB client. */
  endpoint: string;
  /** Every request seen, by operation, in order, with what was done to it. */
  readonly seen: { op: string; fault: FaultMode | 'pass' }[];
  /** Fails requests by these rules, the first matching rule first; requests no rule takes pass. */
  fail(...rules: FaultRule[]): Promise<void>;
  /** Passes every request on again (and listens again after refuse()). */
  pass(): Promise<void>;
  /** Stops listening: connections are refused, as to a database that is down. */
  refuse(): Promise<void>;
  close(): Promise<void>;
}

/** The DynamoDB operation of a request, from `X-Amz-Target: DynamoDB_20120810.GetItem`. */
const operationOf = (request: IncomingMessage) => String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  let rules: FaultRule[] = [];
  const seen: FaultProxy['seen'] = [];
  const sockets = new Set<Socket>();
  let port = 0;

  const forward = (
    request: IncomingMessage,
    body: Buffer,
    answer: (upstream: IncomingMessage, body: Buffer) => void,
  ) => {
    const out = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => answer(response, Buffer.concat(chunks)));
      },
    );
    out.on('error', () => request.socket.destroy());
    out.end(body);
  };

  const dynamoError = (response: ServerResponse, status: number, name: ThrottleName | 'InternalServerError') => {
    const body = JSON.stringify({ __type: TYPE_OF[name], message: MESSAGE_OF[name] });
    response.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.0',
      'x-amzn-ErrorType': `${name}:http://internal.amazon.com/coral/${TYPE_OF[name].split('#')[0]}/`,
      'x-amzn-RequestId': `fault-proxy-${seen.length}`,
      'Content-Length': Buffer.byteLength(body),
    });
    response.end(body);
  };

  const handle = (request: IncomingMessage, response: ServerResponse, body: Buffer) => {
    const op = operationOf(request);
    const rule = rules.find(
      (candidate) => (candidate.op === undefined || candidate.op === op) && candidate.times !== 0,
    );
    let mode: FaultMode | 'pass' = rule?.mode ?? 'pass';
    if (rule?.skip) {
      rule.skip -= 1;
      mode = 'pass';
    } else if (rule?.times !== undefined) rule.times -= 1;
    seen.push({ op, fault: mode });
    switch (mode) {
      case 'pass':
        return forward(request, body, (upstreamResponse, upstreamBody) => {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          response.end(upstreamBody);
        });
      case 'throttle':
        return dynamoError(response, 400, rule?.error ?? 'ThrottlingException');
      case 'server-error':
        return dynamoError(response, 500, 'InternalServerError');
      case 'reset':
        return request.socket.resetAndDestroy();
      case 'hang':
        // Nothing: the socket stays open until the client gives up or the proxy closes.
        return;
      case 'lose-answer':
        return forward(request, body, () => request.socket.resetAndDestroy());
    }
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, response, Buffer.concat(chunks)));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A reset socket may still report it; the client sees the reset, which is the point.
    socket.on('error', () => {});
  });

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        if (address && typeof address === 'object') port = address.port;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  await listen();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    async fail(...next) {
      rules = next.map((rule) => ({ ...rule }));
      if (!server.listening) await listen();
    },
    async pass() {
      rules = [];
      if (!server.listening) await listen();
    },
    async refuse() {
      rules = [];
      await stopListening();
    },
    close: stopListening,
  };
}
