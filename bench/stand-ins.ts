import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local stand-ins for the AWS services a cold start talks to besides DynamoDB: Secrets Manager
 * (GetSecretValue, JSON 1.1) and SNS (Publish, query protocol with an XML answer). The functions
 * reach them through the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, as they would reach AWS;
 * each stand-in counts what it was asked, so the bench can check that a cold start really called it.
 */
export interface StandIn {
  endpoint: string;
  /** Requests answered, by action. */
  calls: Map<string, number>;
  close(): Promise<void>;
}

async function listen(
  answer: (request: IncomingMessage, body: string) => { action: string; status: number; type: string; body: string },
): Promise<StandIn> {
  const calls = new Map<string, number>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = answer(request, Buffer.concat(chunks).toString('utf8'));
      calls.set(reply.action, (calls.get(reply.action) ?? 0) + 1);
      response.writeHead(reply.status, { 'content-type': reply.type, 'x-amzn-requestid': randomUUID() });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Answers GetSecretValue for each ARN of `secrets` with its value as the SecretString. */
export function secretsManagerStandIn(secrets: Record<string, string>): Promise<StandIn> {
  return listen((request, body) => {
    const action = String(request.headers['x-amz-target'] ?? 'unknown');
    const type = 'application/x-amz-json-1.1';
    const { SecretId: arn = '' } = JSON.parse(body || '{}') as { SecretId?: string };
    const secret = secrets[arn];
    if (action !== 'secretsmanager.GetSecretValue' || secret === undefined) {
      const error = { __type: 'ResourceNotFoundException', message: `no secret ${arn}` };
      return { action, status: 400, type, body: JSON.stringify(error) };
    }
    const name = arn.split(':').at(-1) ?? 'secret';
    const value = { ARN: arn, Name: name, SecretString: secret, VersionId: randomUUID(), CreatedDate: 1_700_000_000 };
    return { action, status: 200, type, body: JSON.stringify(value) };
  });
}

/** Answers SNS Publish (the only call the service makes) with a message ID. */
export function snsStandIn(): Promise<StandIn> {
  return listen((_request, body) => {
    const action = new URLSearchParams(body).get('Action') ?? 'unknown';
    const id = randomUUID();
    if (action !== 'Publish') {
      const error = `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${action}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`;
      return { action, status: 400, type: 'text/xml', body: error };
    }
    const xml = `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${id}</MessageId></PublishResult><ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></PublishResponse>`;
    return { action, status: 200, type: 'text/xml', body: xml };
  });
}
