import { describe, expect, it } from 'vitest';
import { parseMigrationArgs, UsageError } from '../../functions/maintenance/args.js';

describe('parseMigrationArgs', () => {
  it('reads the table, the endpoint and --dry-run', () => {
    expect(parseMigrationArgs(['--table', 'OtpService-prod-Customers1A2B'])).toEqual({
      table: 'OtpService-prod-Customers1A2B',
      endpoint: undefined,
      dryRun: false,
    });
    expect(parseMigrationArgs(['--dry-run', '--table=otp-customers', '--endpoint', 'http://127.0.0.1:8000'])).toEqual({
      table: 'otp-customers',
      endpoint: 'http://127.0.0.1:8000',
      dryRun: true,
    });
  });

  it('answers help for --help and -h', () => {
    expect(parseMigrationArgs(['--help'])).toBe('help');
    expect(parseMigrationArgs(['-h', '--table', 'x'])).toBe('help');
  });

  it.each([
    [[], /--table is required/],
    [['--table', ''], /--table is required/],
    [['--table'], /argument missing|--table/],
    [['--table', 'a b'], /not a DynamoDB table name/],
    [['--table', 'ab'], /not a DynamoDB table name/],
    [['--table', 'otp-customers', '--endpoint', '127.0.0.1:8000'], /not an http\(s\) URL/],
    [['--table', 'otp-customers', '--endpoint', 'ftp://127.0.0.1'], /not an http\(s\) URL/],
    [['--table', 'otp-customers', '--dryrun'], /Unknown option '--dryrun'/],
    [['--table', 'otp-customers', 'extra'], /positional/i],
    [['--table', 'otp-customers', '--dry-run=yes'], /--dry-run/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseMigrationArgs(argv)).toThrow(UsageError);
    expect(() => parseMigrationArgs(argv)).toThrow(message);
  });
});
