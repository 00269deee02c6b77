import { createHash } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  KeySetError,
  parseKeySet,
  serializeKeySet,
  type SigningKeySet,
  type SigningKeyVault,
} from '../core/signing-keys.js';
import { type KeyRing, type LoadedKeys, loadKeys } from './jwt-access-tokens.js';

/**
 * A warm container re-reads the secret after this long, so that it signs with the key a rotation
 * made current (its old one stays published for a whole rotation period, so nothing breaks before).
 */
export const KEY_RING_MAX_AGE_MS = 60 * 60 * 1000;
/** A token with an unknown kid makes a container re-read the secret at most this often. */
export const UNKNOWN_KEY_RELOAD_MS = 60 * 1000;

/** The key set in one Secrets Manager secret (JSON of core/signing-keys.ts serializeKeySet). */
export class SecretsManagerKeyVault implements SigningKeyVault {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretArn: string,
  ) {}

  async read(): Promise<{ keys: SigningKeySet | undefined; version: string }> {
    const answer = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }));
    if (typeof answer.SecretString !== 'string' || !answer.VersionId) {
      throw new Error('the signing key secret holds no string');
    }
    return { keys: parseKeySet(answer.SecretString), version: answer.VersionId };
  }

  async replace(keys: SigningKeySet, version: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: this.secretArn,
          SecretString: serializeKeySet(keys),
          // One token per version replaced: a second run that read the same version gets
          // ResourceExistsException instead of storing a second, different rotation. A retry of
          // this very request (same token, same value) is accepted as the same write.
          ClientRequestToken: replacementToken(version),
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: unknown }).name === 'ResourceExistsException') return false;
      throw error;
    }
  }
}

/** 64 hex characters (Secrets Manager takes 32 to 64), the same for every run replacing `version`. */
export function replacementToken(version: string): string {
  return createHash('sha256').update(`otp-signing-keys:${version}`).digest('hex');
}

export interface KeyRingLog {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/**
 * The keys read from the vault when the container starts, re-read after KEY_RING_MAX_AGE_MS and,
 * at most once a minute, when a token names a kid the container does not know. A failed re-read
 * keeps the keys it has (logged): they stay valid for a whole rotation period.
 */
export async function vaultKeyRing(
  vault: Pick<SigningKeyVault, 'read'>,
  now: () => number,
  log: KeyRingLog,
): Promise<KeyRing> {
  const read = async (): Promise<LoadedKeys> => {
    const { keys } = await vault.read();
    if (!keys) throw new KeySetError('holds no signing keys yet: the scheduled function makes them on deploy.');
    return loadKeys(keys);
  };
  let loaded = await read();
  let loadedAt = now();
  let attemptedAt = loadedAt;
  const reload = async (at: number): Promise<LoadedKeys> => {
    attemptedAt = at;
    try {
      loaded = await read();
      loadedAt = at;
    } catch (error) {
      log.warn('signing keys could not be re-read; keeping the ones loaded', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return loaded;
  };
  return {
    // A failing re-read is tried again at most once a minute, not on every call.
    current: (at) =>
      at - loadedAt >= KEY_RING_MAX_AGE_MS && at - attemptedAt >= UNKNOWN_KEY_RELOAD_MS
        ? reload(at)
        : Promise.resolve(loaded),
    reloadForUnknownKey: (at) => (at - attemptedAt >= UNKNOWN_KEY_RELOAD_MS ? reload(at) : Promise.resolve(loaded)),
  };
}

/**
 * Region, credentials and endpoint from the environment, as in Lambda. Each request bounded (the
 * SDK's defaults wait for a silent socket for minutes): a start that reads the keys must fit in
 * Lambda's 10 s of initialisation (adapters/startup-secrets.ts), and a warm re-read must not hold a
 * request.
 */
export function secretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 1000, throwOnRequestTimeout: true },
  });
}
