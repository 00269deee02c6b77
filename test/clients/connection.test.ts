import { describe, expect, it } from 'vitest';
import { UsageError } from '../../functions/clients/args.js';
import { type ConnectionDeps, ConnectionError, resolveConnection } from '../../functions/clients/connection.js';
import type { LocalServerState } from '../../functions/local/state-file.js';

const server = (port: number): LocalServerState => ({
  pid: 1000 + port,
  endpoint: `http://127.0.0.1:${port + 1}`,
  clientsTable: 'otp-clients',
  stateTable: 'otp-state',
  customersTable: 'otp-customers',
  url: `http://127.0.0.1:${port}`,
});

function deps(
  servers: LocalServerState[] = [],
  outputs?: Record<string, string> | Error,
): ConnectionDeps & {
  asked: { stack: string; region?: string }[];
} {
  const asked: { stack: string; region?: string }[] = [];
  return {
    asked,
    runningServers: () => servers,
    stackOutputs: async (stack, region) => {
      asked.push({ stack, region });
      if (outputs instanceof Error) throw outputs;
      return outputs;
    },
  };
}

describe('resolveConnection', () => {
  it('uses DYNAMODB_ENDPOINT first, with --table, OTP_CLIENTS_TABLE or otp-clients', async () => {
    const env = { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' };
    const running = deps([server(3000)]);
    expect(await resolveConnection({}, env, running)).toMatchObject({
      kind: 'local',
      endpoint: 'http://127.0.0.1:8000',
      table: 'otp-clients',
    });
    expect(await resolveConnection({}, { ...env, OTP_CLIENTS_TABLE: 'my-clients' }, running)).toMatchObject({
      table: 'my-clients',
    });
    expect(
      await resolveConnection({ table: 'flag-clients' }, { ...env, OTP_CLIENTS_TABLE: 'my-clients' }, running),
    ).toMatchObject({ kind: 'local', table: 'flag-clients' });
  });

  it('refuses AWS flags and bad values next to DYNAMODB_ENDPOINT, naming them', async () => {
    const env = { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' };
    await expect(resolveConnection({ stage: 'prod' }, env, deps())).rejects.toThrow(
      /^--stage is for AWS, but DYNAMODB_ENDPOINT/,
    );
    await expect(resolveConnection({ region: 'eu-west-1' }, env, deps())).rejects.toThrow(/^--region is for AWS/);
    await expect(resolveConnection({}, { DYNAMODB_ENDPOINT: 'localhost:8000' }, deps())).rejects.toThrow(
      /^DYNAMODB_ENDPOINT "localhost:8000" is not an http\(s\) URL/,
    );
    await expect(resolveConnection({}, { ...env, OTP_CLIENTS_TABLE: 'a b' }, deps())).rejects.toThrow(
      /^OTP_CLIENTS_TABLE "a b" is not a DynamoDB table name/,
    );
  });

  it('finds the one npm start that runs', async () => {
    expect(await resolveConnection({}, {}, deps([server(3000)]))).toEqual({
      kind: 'local',
      endpoint: 'http://127.0.0.1:3001',
      table: 'otp-clients',
      via: 'npm start at http://127.0.0.1:3000 (DynamoDB http://127.0.0.1:3001)',
    });
  });

  it('refuses to choose between several npm start servers', async () => {
    await expect(resolveConnection({}, {}, deps([server(3000), server(4000)]))).rejects.toThrow(
      /^2 npm start servers run \(http:\/\/127\.0\.0\.1:3000, http:\/\/127\.0\.0\.1:4000\): set DYNAMODB_ENDPOINT/,
    );
  });

  it('says the three ways when nothing names a table', async () => {
    const refused = resolveConnection({}, { DYNAMODB_ENDPOINT: '  ' }, deps());
    await expect(refused).rejects.toThrow(ConnectionError);
    await expect(resolveConnection({}, {}, deps())).rejects.toThrow(
      /npm start.*DYNAMODB_ENDPOINT.*--stage STAGE \(or its table with --table NAME\)/,
    );
  });

  it('reads the table of a stage from the output ClientsTableName of OtpService-<stage>, even while npm start runs', async () => {
    const aws = deps([server(3000)], { ClientsTableName: 'OtpService-prod-Clients1A2B', ApiUrl: 'https://x' });
    expect(await resolveConnection({ stage: 'prod', region: 'eu-west-1' }, {}, aws)).toEqual({
      kind: 'aws',
      table: 'OtpService-prod-Clients1A2B',
      region: 'eu-west-1',
      via: 'stack OtpService-prod',
    });
    expect(aws.asked).toEqual([{ stack: 'OtpService-prod', region: 'eu-west-1' }]);
  });

  it('takes --table as an AWS table without asking CloudFormation', async () => {
    const aws = deps();
    expect(await resolveConnection({ table: 'OtpService-dev-Clients' }, {}, aws)).toMatchObject({
      kind: 'aws',
      table: 'OtpService-dev-Clients',
    });
    expect(aws.asked).toEqual([]);
  });

  it('says what is wrong with a stage: no stack, no output, no access', async () => {
    await expect(resolveConnection({ stage: 'qa' }, {}, deps([], undefined))).rejects.toThrow(
      /^No stack OtpService-qa in the default region/,
    );
    await expect(resolveConnection({ stage: 'qa' }, {}, deps([], { ApiUrl: 'https://x' }))).rejects.toThrow(
      /^The stack OtpService-qa has no output ClientsTableName/,
    );
    const denied = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    await expect(resolveConnection({ stage: 'qa' }, {}, deps([], denied))).rejects.toThrow(
      'Could not read the stack OtpService-qa from AWS: CredentialsProviderError: Could not load credentials',
    );
  });

  it('refuses --region alone', async () => {
    await expect(resolveConnection({ region: 'eu-west-1' }, {}, deps([server(3000)]))).rejects.toThrow(UsageError);
  });
});
