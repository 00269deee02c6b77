import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { ConfigError, loadConfig } from '../functions/config.js';
import { ANONYMOUS_AUDIENCE } from '../functions/core/access-tokens.js';
import { EMPTY_KEY_SET, initialKeySet, serializeKeySet } from '../functions/core/signing-keys.js';
import { SesEmailSender } from '../functions/adapters/ses-email.js';
import { SnsSmsSender } from '../functions/adapters/sns-sms.js';
import {
  createAccessTokens,
  createSenders,
  createSigningKeyVault,
  withPepper,
  withPepperAndSigningKeys,
  withSigningKeys,
} from '../functions/wiring.js';

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

describe('withSigningKeys and createAccessTokens', () => {
  const KEYS_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:otp-signing-keys-AbCdEf';
  const subject = {
    customerId: 'c-1',
    sid: 'fam-1',
    authTime: Date.now(),
    channel: 'email' as const,
    purpose: 'login' as const,
    trustLevel: 'verified' as const,
  };

  it('signs with OTP_SIGNING_KEYS, without calling Secrets Manager', async () => {
    const keys = initialKeySet(Date.now());
    const config = await withSigningKeys(
      loadConfig({
        OTP_DELIVERY: 'local',
        OTP_SIGNING_KEYS: serializeKeySet(keys),
        OTP_ACCESS_TOKEN_TTL_SECONDS: '120',
      }),
    );
    const tokens = createAccessTokens(config);
    const { token, expiresIn } = await tokens.issue(subject, Date.now());
    expect(expiresIn).toBe(120);
    expect(decodeProtectedHeader(token).kid).toBe(keys.current.kid);
    expect(await tokens.verify(token, Date.now())).toMatchObject({ aud: ANONYMOUS_AUDIENCE, iss: config.issuer });
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
    expect(createSigningKeyVault(config)).toBeUndefined();
  });

  it('reads the keys from the secret named by OTP_SIGNING_KEYS_SECRET_ARN', async () => {
    const keys = initialKeySet(Date.now());
    secrets.on(GetSecretValueCommand, { SecretId: KEYS_ARN }).resolves({
      SecretString: serializeKeySet(keys),
      VersionId: 'v1',
    });
    const config = await withSigningKeys(loadConfig({ OTP_DELIVERY: 'local', OTP_SIGNING_KEYS_SECRET_ARN: KEYS_ARN }));
    const { token } = await createAccessTokens(config).issue(subject, Date.now());
    expect(decodeProtectedHeader(token).kid).toBe(keys.current.kid);
    expect(createSigningKeyVault(config)).toBeDefined();
  });

  it('stops start-up naming the variable when the secret holds no keys yet, or broken ones', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: EMPTY_KEY_SET, VersionId: 'v0' });
    await expect(
      withSigningKeys(loadConfig({ OTP_DELIVERY: 'local', OTP_SIGNING_KEYS_SECRET_ARN: KEYS_ARN })),
    ).rejects.toThrow(/^Invalid configuration: OTP_SIGNING_KEYS_SECRET_ARN holds no signing keys yet/);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'hunter2', VersionId: 'v0' });
    await expect(
      withSigningKeys(loadConfig({ OTP_DELIVERY: 'local', OTP_SIGNING_KEYS_SECRET_ARN: KEYS_ARN })),
    ).rejects.toThrow(/^Invalid configuration: OTP_SIGNING_KEYS_SECRET_ARN must be JSON/);
  });

  it('stops start-up naming the secret variable when neither is set', async () => {
    await expect(withSigningKeys(loadConfig({ OTP_DELIVERY: 'local' }))).rejects.toThrow(ConfigError);
    await expect(withSigningKeys(loadConfig({ OTP_DELIVERY: 'local' }))).rejects.toThrow(
      /^Invalid configuration: OTP_SIGNING_KEYS_SECRET_ARN /,
    );
  });
});

describe('withPepperAndSigningKeys', () => {
  const PEPPER_ARN = `${ARN}-both`;
  const KEYS_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:otp-signing-keys-Both12';

  it('reads the pepper and the signing keys at the same time, not one after the other', async () => {
    // The pepper's reads answer only once the signing keys have been asked for: read one after the
    // other, the start would wait for ever (bounded here by readAtStartup's 3 s).
    let keysAsked!: () => void;
    const keysRequested = new Promise<void>((resolve) => (keysAsked = resolve));
    secrets.on(GetSecretValueCommand).callsFake(async (input: { SecretId?: string; VersionStage?: string }) => {
      if (input.SecretId === KEYS_ARN) {
        keysAsked();
        return { SecretString: serializeKeySet(initialKeySet(Date.now())), VersionId: 'v1' };
      }
      await keysRequested;
      if (input.VersionStage && input.VersionStage !== 'AWSCURRENT') {
        throw Object.assign(new Error('no such version'), { name: 'ResourceNotFoundException' });
      }
      return { SecretString: SECRET };
    });
    const config = await withPepperAndSigningKeys(
      loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_SECRET_ARN: PEPPER_ARN, OTP_SIGNING_KEYS_SECRET_ARN: KEYS_ARN }),
    );
    expect(config.pepper).toBe(SECRET);
    expect(config.keyRing).toBeDefined();
    expect(secrets.commandCalls(GetSecretValueCommand, { SecretId: KEYS_ARN })).toHaveLength(1);
  });
});

describe('createSenders and the channels of the build (lib/function-defaults.ts, channels)', () => {
  const FROM = 'Acme <no-reply@acme.example>';
  afterEach(() => vi.unstubAllEnvs());

  it('creates the SNS and SES senders where the build keeps both channels', () => {
    const senders = createSenders(loadConfig({ OTP_DELIVERY: 'aws', OTP_EMAIL_FROM: FROM }));
    expect(senders.sms).toBeInstanceOf(SnsSmsSender);
    expect(senders.email).toBeInstanceOf(SesEmailSender);
  });

  it('an e-mail-only build has no SMS sender, and an SMS-only build no e-mail sender', async () => {
    vi.stubEnv('OTP_BUILD_SMS', 'off');
    const emailOnly = createSenders(
      loadConfig({ OTP_DELIVERY: 'aws', OTP_ALLOWED_CHANNELS: 'email', OTP_EMAIL_FROM: FROM }),
    );
    expect(emailOnly.email).toBeInstanceOf(SesEmailSender);
    await expect(emailOnly.sms.send({} as never)).rejects.toThrow('no sender configured for sms');
    vi.stubEnv('OTP_BUILD_SMS', undefined);
    vi.stubEnv('OTP_BUILD_EMAIL', 'off');
    const smsOnly = createSenders(loadConfig({ OTP_DELIVERY: 'aws', OTP_ALLOWED_CHANNELS: 'sms' }));
    expect(smsOnly.sms).toBeInstanceOf(SnsSmsSender);
    await expect(smsOnly.email.send({} as never)).rejects.toThrow('no sender configured for email');
  });

  it('stops start-up naming OTP_ALLOWED_CHANNELS when it allows a channel the build left out', () => {
    vi.stubEnv('OTP_BUILD_SMS', 'off');
    expect(() => createSenders(loadConfig({ OTP_DELIVERY: 'aws', OTP_ALLOWED_CHANNELS: 'sms' }))).toThrow(
      /^Invalid configuration: OTP_ALLOWED_CHANNELS allows sms, but this function was built without its sender/,
    );
    vi.stubEnv('OTP_BUILD_SMS', undefined);
    vi.stubEnv('OTP_BUILD_EMAIL', 'off');
    expect(() => createSenders(loadConfig({ OTP_DELIVERY: 'aws', OTP_EMAIL_FROM: FROM }))).toThrow(ConfigError);
  });

  it('local delivery needs no client, whatever the build', () => {
    vi.stubEnv('OTP_BUILD_SMS', 'off');
    vi.stubEnv('OTP_BUILD_EMAIL', 'off');
    expect(() => createSenders(loadConfig({ OTP_DELIVERY: 'local' }))).not.toThrow();
  });
});
