import { describe, expect, it } from 'vitest';
import { parseClientsArgs, UsageError } from '../../functions/clients/args.js';

describe('parseClientsArgs', () => {
  it('reads every command with its arguments', () => {
    expect(parseClientsArgs(['add', '--name', 'Kiosk'])).toEqual({
      command: { command: 'add', name: 'Kiosk' },
      where: {},
    });
    expect(parseClientsArgs(['add', '--name=Kiosk', '--policy', '{"trust":"relaxed"}'])).toEqual({
      command: { command: 'add', name: 'Kiosk', policy: { trust: 'relaxed' } },
      where: {},
    });
    expect(parseClientsArgs(['list'])).toEqual({ command: { command: 'list' }, where: {} });
    for (const command of ['show', 'disable', 'enable', 'add-key'] as const) {
      expect(parseClientsArgs([command, 'cli_abc'])).toEqual({ command: { command, clientId: 'cli_abc' }, where: {} });
    }
    expect(parseClientsArgs(['update', 'cli_abc', '--policy', '{}'])).toEqual({
      command: { command: 'update', clientId: 'cli_abc', policy: {} },
      where: {},
    });
    expect(parseClientsArgs(['revoke-key', 'cli_abc', 'key_x-1'])).toEqual({
      command: { command: 'revoke-key', clientId: 'cli_abc', keyId: 'key_x-1' },
      where: {},
    });
  });

  it('reads where to connect, options before or after the command', () => {
    expect(parseClientsArgs(['--stage', 'prod', 'list', '--region', 'eu-west-1'])).toEqual({
      command: { command: 'list' },
      where: { stage: 'prod', region: 'eu-west-1' },
    });
    expect(parseClientsArgs(['show', 'cli_a', '--table', 'OtpService-prod-Clients1A2B'])).toMatchObject({
      where: { table: 'OtpService-prod-Clients1A2B' },
    });
  });

  it('answers help for --help and -h, whatever else is there', () => {
    expect(parseClientsArgs(['--help'])).toBe('help');
    expect(parseClientsArgs(['add', '-h'])).toBe('help');
  });

  it('passes the policy on as parsed JSON, for the policy rules to judge', () => {
    expect(parseClientsArgs(['update', 'cli_a', '--policy', '{"codeLength": 4}'])).toMatchObject({
      command: { policy: { codeLength: 4 } },
    });
    expect(parseClientsArgs(['update', 'cli_a', '--policy', '[]'])).toMatchObject({ command: { policy: [] } });
  });

  it.each([
    [[], /^COMMAND is missing/],
    [['remove', 'cli_a'], /^Unknown command "remove": one of add, list, show/],
    [['add'], /^--name is required/],
    [['add', '--name'], /--name/],
    [['add', '--name', 'A', 'extra'], /^Unexpected argument "extra" after add/],
    [['list', 'cli_a'], /^Unexpected argument "cli_a" after list/],
    [['show'], /^CLIENT_ID is missing: show CLIENT_ID/],
    [['show', 'cli_a', 'cli_b'], /^Unexpected argument "cli_b"/],
    [['revoke-key', 'cli_a'], /^KEY_ID is missing: revoke-key CLIENT_ID KEY_ID/],
    [['revoke-key'], /^CLIENT_ID is missing/],
    [['update', 'cli_a'], /^--policy is required/],
    [['update', 'cli_a', '--policy', '{trust: relaxed}'], /^--policy is not valid JSON/],
    [['add', '--name', 'A', '--policy', ''], /^--policy is not valid JSON/],
    [['show', 'cli a'], /^CLIENT_ID "cli a" is not an id/],
    [['revoke-key', 'cli_a', 'key#1'], /^KEY_ID "key#1" is not an id/],
    [['show', 'cli_a', '--name', 'A'], /^--name does not go with show/],
    [['list', '--policy', '{}'], /^--policy does not go with list/],
    [['list', '--tabel', 'x'], /Unknown option '--tabel'/],
    [['list', '--table', 'a b'], /^--table "a b" is not a DynamoDB table name/],
    [['list', '--stage', 'Prod'], /^--stage "Prod" is not a stage name/],
    [['list', '--region', 'Ireland'], /^--region "Ireland" is not an AWS region/],
    [['list', '--stage', 'prod', '--table', 'otp-clients'], /^--stage and --table both name the table/],
  ])('refuses %j, naming the argument', (argv, message) => {
    expect(() => parseClientsArgs(argv)).toThrow(UsageError);
    expect(() => parseClientsArgs(argv)).toThrow(message);
  });
});
