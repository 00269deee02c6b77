import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PEPPER_MAX_AGE_MS, PEPPER_RETRY_MS, pepperRing, readPeppers } from '../../functions/adapters/secret-pepper.js';
import { ConfigError, loadConfig } from '../../functions/config.js';
import type { Peppers } from '../../functions/core/peppers.js';
import { withPepper } from '../../functions/wiring.js';

// Secrets Manager has no local stand-in: the SDK boundary is mocked.
const secrets = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:otp-pepper-AbCdEf';
const CURRENT = 'Qm9vTn3xK7pLw2ZrYc8VfHd4JsEa6UtBg1NiOy5MkR0lPqXzWvCbDnF7hGj2TeAu';
const PREVIOUS = 'Zx8Wv2Ut6Sr0Qp4On9Ml3Kj7Ih1Gf5Ed8Cb2Aa6YzXwVuTsRqPoNmLkJiHgFeDc';
const PENDING = 'Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3aB4cD5eF6gH7iJ8kL9mN0oP1';

const notFound = () => new ResourceNotFoundException({ message: 'no version with that label', $metadata: {} });

/** The secret's versions by staging label; a label left out is carried by no version. */
function stages(labels: { AWSCURRENT: string; AWSPREVIOUS?: string; AWSPENDING?: string }) {
  for (const label of ['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING'] as const) {
    const value = labels[label];
    const on = secrets.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: label });
    if (value === undefined) on.rejects(notFound());
    else on.resolves({ SecretString: value, VersionId: label.toLowerCase() });
  }
}

beforeEach(() => secrets.reset());

describe('readPeppers', () => {
  it('reads the current pepper alone outside a rotation', async () => {
    stages({ AWSCURRENT: CURRENT });
    expect(await readPeppers(new SecretsManagerClient({}), ARN)).toEqual({ pepper: CURRENT });
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 3);
  });

  it('reads the previous and the pending pepper by their staging labels', async () => {
    stages({ AWSCURRENT: CURRENT, AWSPREVIOUS: PREVIOUS, AWSPENDING: PENDING });
    expect(await readPeppers(new SecretsManagerClient({}), ARN)).toEqual({
      pepper: CURRENT,
      previousPepper: PREVIOUS,
      nextPepper: PENDING,
    });
  });

  it('ignores a pending label left on the current version', async () => {
    stages({ AWSCURRENT: CURRENT, AWSPREVIOUS: PREVIOUS, AWSPENDING: CURRENT });
    expect(await readPeppers(new SecretsManagerClient({}), ARN)).toEqual({ pepper: CURRENT, previousPepper: PREVIOUS });
  });

  it('refuses a weak previous pepper, naming its label, and fails when the current one is missing', async () => {
    stages({ AWSCURRENT: CURRENT, AWSPREVIOUS: 'a'.repeat(64) });
    await expect(readPeppers(new SecretsManagerClient({}), ARN)).rejects.toThrow(
      /OTP_PEPPER_SECRET_ARN \(AWSPREVIOUS\)/,
    );
    secrets.reset();
    secrets.on(GetSecretValueCommand).rejects(notFound());
    await expect(readPeppers(new SecretsManagerClient({}), ARN)).rejects.toThrow(ResourceNotFoundException);
  });

  it('gives withPepper all three, and a source that re-reads them', async () => {
    stages({ AWSCURRENT: CURRENT, AWSPREVIOUS: PREVIOUS });
    const config = await withPepper(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_SECRET_ARN: ARN }));
    expect(config).toMatchObject({ pepper: CURRENT, previousPepper: PREVIOUS });
    expect(await config.peppers(Date.now())).toEqual({ pepper: CURRENT, previousPepper: PREVIOUS });
  });
});

describe('pepperRing', () => {
  const log = {
    warnings: [] as string[],
    warn(message: string) {
      this.warnings.push(message);
    },
  };

  it('keeps what it read for PEPPER_MAX_AGE_MS, then reads again', async () => {
    const reads: Peppers[] = [{ pepper: CURRENT }, { pepper: PENDING, previousPepper: CURRENT }];
    let calls = 0;
    const ring = await pepperRing(
      async () => reads[Math.min(calls++, 1)] as Peppers,
      () => 0,
      log,
    );
    expect(await ring(PEPPER_MAX_AGE_MS - 1)).toEqual({ pepper: CURRENT });
    expect(calls).toBe(1);
    expect(await ring(PEPPER_MAX_AGE_MS)).toEqual({ pepper: PENDING, previousPepper: CURRENT });
    expect(calls).toBe(2);
    // Fresh again for the next five minutes.
    await ring(PEPPER_MAX_AGE_MS + 1000);
    expect(calls).toBe(2);
  });

  it('keeps the peppers it has when a re-read fails, and tries again a minute later', async () => {
    let fail = false;
    let calls = 0;
    const ring = await pepperRing(
      async () => {
        calls++;
        if (fail) throw new Error('throttled');
        return { pepper: CURRENT };
      },
      () => 0,
      log,
    );
    fail = true;
    expect(await ring(PEPPER_MAX_AGE_MS)).toEqual({ pepper: CURRENT });
    expect(log.warnings).toContain('pepper could not be re-read; keeping the one loaded');
    await ring(PEPPER_MAX_AGE_MS + PEPPER_RETRY_MS - 1);
    expect(calls).toBe(2);
    fail = false;
    await ring(PEPPER_MAX_AGE_MS + PEPPER_RETRY_MS);
    expect(calls).toBe(3);
  });
});

describe('OTP_PEPPER_PREVIOUS and OTP_PEPPER_NEXT', () => {
  it('are taken beside OTP_PEPPER, held to its rule', () => {
    const config = loadConfig({
      OTP_DELIVERY: 'local',
      OTP_PEPPER: CURRENT,
      OTP_PEPPER_PREVIOUS: PREVIOUS,
      OTP_PEPPER_NEXT: PENDING,
    });
    expect(config).toMatchObject({ pepper: CURRENT, previousPepper: PREVIOUS, nextPepper: PENDING });
    expect(() => loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER: CURRENT, OTP_PEPPER_PREVIOUS: 'short' })).toThrow(
      /OTP_PEPPER_PREVIOUS/,
    );
  });

  it('are refused without OTP_PEPPER', () => {
    expect(() => loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_NEXT: PENDING })).toThrow(ConfigError);
  });
});
