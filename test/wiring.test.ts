import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../functions/config.js';
import { withPepper } from '../functions/wiring.js';

// Secrets Manager has no local stand-in: the SDK boundary is mocked.
const secrets = mockClient(SecretsManagerClient);
/** As the stack generates it: 64 letters and digits. */
const SECRET = 'Qm9vTn3xK7pLw2ZrYc8VfHd4JsEa6UtBg1NiOy5MkR0lPqXzWvCbDnF7hGj2TeAu';
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:otp-pepper-AbCdEf';

beforeEach(() => secrets.reset());

describe('withPepper', () => {
  it('uses OTP_PEPPER when it is set, without calling Secrets Manager', async () => {
    const config = await withPepper(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER: SECRET }));
    expect(config.pepper).toBe(SECRET);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
  });

  it('reads the pepper from the secret named by OTP_PEPPER_SECRET_ARN', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: SECRET });
    const config = await withPepper(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_SECRET_ARN: ARN }));
    expect(config.pepper).toBe(SECRET);
  });

  it('stops start-up naming the variable when the secret has too little variety', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: ' '.repeat(64) });
    // Another secret than above: the pepper is read once per container and kept.
    await expect(withPepper(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_SECRET_ARN: `${ARN}y` }))).rejects.toThrow(
      /^Invalid configuration: OTP_PEPPER_SECRET_ARN .*too little variety/,
    );
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
