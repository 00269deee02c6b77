import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/config.js';
import { parseMigrationArgs, UsageError } from '../../functions/maintenance/args.js';
import { migrationPepper } from '../../functions/maintenance/pepper.js';
import { PEPPER } from '../kit.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:OtpServiceprodPepper-AbCdEf';

describe('parseMigrationArgs', () => {
  it('reads the table, the endpoint, the pepper secret and --dry-run', () => {
    expect(parseMigrationArgs(['--table', 'OtpService-prod-Customers1A2B'])).toEqual({
      table: 'OtpService-prod-Customers1A2B',
      endpoint: undefined,
      pepperSecretArn: undefined,
      dryRun: false,
    });
    expect(parseMigrationArgs(['--dry-run', '--table=otp-customers', '--endpoint', 'http://127.0.0.1:8000'])).toEqual({
      table: 'otp-customers',
      endpoint: 'http://127.0.0.1:8000',
      pepperSecretArn: undefined,
      dryRun: true,
    });
    expect(parseMigrationArgs(['--table', 'otp-customers', '--pepper-secret-arn', ARN])).toEqual({
      table: 'otp-customers',
      endpoint: undefined,
      pepperSecretArn: ARN,
      dryRun: false,
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
    [['--table', 'otp-customers', '--pepper-secret-arn', 'OtpServiceprodPepper'], /not the ARN of a Secrets Manager/],
    [['--table', 'otp-customers', '--pepper-secret-arn', ARN.replace('secretsmanager', 'ssm')], /not the ARN/],
    [['--table', 'otp-customers', '--pepper'], /Unknown option '--pepper'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseMigrationArgs(argv)).toThrow(UsageError);
    expect(() => parseMigrationArgs(argv)).toThrow(message);
  });
});

describe('migrationPepper', () => {
  it('takes OTP_PEPPER', async () => {
    await expect(migrationPepper({ OTP_PEPPER: PEPPER })).resolves.toBe(PEPPER);
  });

  it('refuses to run without a pepper, or with two', async () => {
    await expect(migrationPepper({})).rejects.toThrow(UsageError);
    await expect(migrationPepper({ OTP_PEPPER: '' })).rejects.toThrow(/needs the service's pepper/);
    // OTP_PEPPER_SECRET_ARN is the functions' variable; the runner is given the secret by --pepper-secret-arn.
    await expect(migrationPepper({ OTP_PEPPER_SECRET_ARN: ARN })).rejects.toThrow(/needs the service's pepper/);
    await expect(migrationPepper({ OTP_PEPPER: PEPPER }, ARN)).rejects.toThrow(/one way only/);
  });

  it('refuses a weak OTP_PEPPER as the functions do, without repeating it', async () => {
    const weak = 'ab'.repeat(20);
    const refused = migrationPepper({ OTP_PEPPER: weak });
    await expect(refused).rejects.toThrow(ConfigError);
    await expect(refused).rejects.not.toThrow(weak);
  });
});
