import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  KEY_RING_MAX_AGE_MS,
  replacementToken,
  SecretsManagerKeyVault,
  UNKNOWN_KEY_RELOAD_MS,
  vaultKeyRing,
} from '../../functions/adapters/secret-signing-keys.js';
import {
  EMPTY_KEY_SET,
  initialKeySet,
  parseKeySet,
  rotatedKeySet,
  rotateSigningKeys,
  serializeKeySet,
} from '../../functions/core/signing-keys.js';
import { DAY_MS } from '../../functions/core/windows.js';

// Secrets Manager has no local stand-in: the SDK boundary is mocked.
const secrets = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:otp-signing-keys-AbCdEf';
const T0 = Date.UTC(2036, 0, 1);
const PERIOD = 30 * DAY_MS;
const vault = () => new SecretsManagerKeyVault(new SecretsManagerClient({ region: 'eu-west-1' }), ARN);
const quiet = { warn: () => {} };

beforeEach(() => secrets.reset());

describe('SecretsManagerKeyVault', () => {
  it('reads the set and the version it was read at', async () => {
    const set = initialKeySet(T0);
    secrets
      .on(GetSecretValueCommand, { SecretId: ARN })
      .resolves({ SecretString: serializeKeySet(set), VersionId: 'v1' });
    expect(await vault().read()).toEqual({ keys: set, version: 'v1' });
  });

  it('makes the first set in place of the placeholder the stack stores', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: EMPTY_KEY_SET, VersionId: 'v0' });
    secrets.on(PutSecretValueCommand).resolves({ VersionId: 'v1' });
    expect(await rotateSigningKeys(vault(), T0, PERIOD)).toMatchObject({ action: 'created' });
    const put = secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ SecretId: ARN, ClientRequestToken: replacementToken('v0') });
    const stored = parseKeySet(put?.SecretString ?? '');
    expect(stored?.rotatedAt).toBe(T0);
  });

  it('writes a rotation with a token derived from the version it replaces, 32 to 64 characters', async () => {
    const set = initialKeySet(T0);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: serializeKeySet(set), VersionId: 'v7' });
    secrets.on(PutSecretValueCommand).resolves({ VersionId: 'v8' });
    expect(await rotateSigningKeys(vault(), T0 + PERIOD, PERIOD)).toEqual({
      action: 'rotated',
      currentKid: set.next.kid,
    });
    const token = secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input.ClientRequestToken ?? '';
    expect(token).toBe(replacementToken('v7'));
    expect(token).not.toBe(replacementToken('v8'));
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(token.length).toBeLessThanOrEqual(64);
  });

  it('writes nothing before the period has passed', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: serializeKeySet(initialKeySet(T0)), VersionId: 'v1' });
    expect(await rotateSigningKeys(vault(), T0 + PERIOD - 1, PERIOD)).toMatchObject({ action: 'kept' });
    expect(secrets).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
  });

  it('gives way when another run already replaced that version (ResourceExistsException)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: serializeKeySet(initialKeySet(T0)), VersionId: 'v1' });
    secrets.on(PutSecretValueCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    expect(await rotateSigningKeys(vault(), T0 + PERIOD, PERIOD)).toEqual({ action: 'lost-race' });
  });

  it('fails on any other error of the write', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: serializeKeySet(initialKeySet(T0)), VersionId: 'v1' });
    secrets.on(PutSecretValueCommand).rejects(new Error('AccessDenied'));
    await expect(rotateSigningKeys(vault(), T0 + PERIOD, PERIOD)).rejects.toThrow('AccessDenied');
  });
});

describe('vaultKeyRing', () => {
  const before = initialKeySet(T0);
  const after = rotatedKeySet(before, T0 + PERIOD);

  it('reads once at start and keeps the keys for an hour, then re-reads', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: serializeKeySet(before), VersionId: 'v1' })
      .resolves({ SecretString: serializeKeySet(after), VersionId: 'v2' });
    const ring = await vaultKeyRing(vault(), () => T0, quiet);
    expect((await ring.current(T0 + KEY_RING_MAX_AGE_MS - 1)).signing.kid).toBe(before.current.kid);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect((await ring.current(T0 + KEY_RING_MAX_AGE_MS)).signing.kid).toBe(after.current.kid);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('re-reads for an unknown kid at most once a minute', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: serializeKeySet(before), VersionId: 'v1' });
    const ring = await vaultKeyRing(vault(), () => T0, quiet);
    await ring.reloadForUnknownKey(T0 + 1000);
    await ring.reloadForUnknownKey(T0 + 2000);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    await ring.reloadForUnknownKey(T0 + UNKNOWN_KEY_RELOAD_MS);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    await ring.reloadForUnknownKey(T0 + UNKNOWN_KEY_RELOAD_MS + 1000);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('keeps the keys it has when a re-read fails, and says so', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: serializeKeySet(before), VersionId: 'v1' })
      .rejects(new Error('throttled'));
    const warnings: string[] = [];
    const ring = await vaultKeyRing(vault(), () => T0, { warn: (message) => warnings.push(message) });
    expect((await ring.reloadForUnknownKey(T0 + UNKNOWN_KEY_RELOAD_MS)).signing.kid).toBe(before.current.kid);
    expect(warnings).toHaveLength(1);
  });

  it('refuses to start on the placeholder', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: EMPTY_KEY_SET, VersionId: 'v0' });
    await expect(vaultKeyRing(vault(), () => T0, quiet)).rejects.toThrow(/no signing keys yet/);
  });
});
