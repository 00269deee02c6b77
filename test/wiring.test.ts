import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../functions/config.js';
import { withPepper } from '../functions/wiring.js';

// Secrets Manager has no local stand-in: the SDK boundary is mocked.
const secrets = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:otp-pepper-AbCdEf';

beforeEach(() => secrets.reset());

describe('withPepper', () => {
  it('uses OTP_PEPPER when it is set, without calling Secrets Manager', async () => {
    const config = await withPepper(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER: 'p'.repeat(32) }));
    expect(config.pepper).toBe('p'.repeat(32));
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
  });

  it('reads the pepper from the secret named by OTP_PEPPER_SECRET_ARN', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: 's'.repeat(64) });
    const config = await withPepper(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_SECRET_ARN: ARN }));
    expect(config.pepper).toBe('s'.repeat(64));
  });

  it('stops start-up naming the variable when the secret is too short', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'short' });
    await expect(withPepper(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_SECRET_ARN: `${ARN}x` }))).rejects.toThrow(
      /OTP_PEPPER_SECRET_ARN/,
    );
  });

  it('stops start-up naming OTP_PEPPER when neither is set', async () => {
    await expect(withPepper(loadConfig({ OTP_DELIVERY: 'local' }))).rejects.toThrow(ConfigError);
    await expect(withPepper(loadConfig({ OTP_DELIVERY: 'local' }))).rejects.toThrow(
      /^Invalid configuration: OTP_PEPPER /,
    );
  });
});
