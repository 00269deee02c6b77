import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { assertStrongPepper, ConfigError } from '../config.js';
import type { Peppers, PepperSource } from '../core/peppers.js';

/**
 * A warm container re-reads the pepper's secret after this long, so that every container holds what
 * a step of the rotation procedure set (README, "Rotating the pepper") at most this long after it:
 * the procedure waits this long, and a little more, between its steps.
 */
export const PEPPER_MAX_AGE_MS = 5 * 60 * 1000;
/** A failed re-read is tried again at most this often, keeping the peppers it has meanwhile. */
export const PEPPER_RETRY_MS = 60 * 1000;

/** The staging labels read: the current pepper, the one a rotation replaced, the one it will make current. */
const LABELS = { pepper: 'AWSCURRENT', previousPepper: 'AWSPREVIOUS', nextPepper: 'AWSPENDING' } as const;

/**
 * The peppers in one Secrets Manager secret, by staging label: three GetSecretValue calls in parallel
 * (a label no version carries is none). Each is held to the rule of OTP_PEPPER (config.ts).
 */
export async function readPeppers(client: SecretsManagerClient, secretArn: string): Promise<Peppers> {
  const read = async (label: (typeof LABELS)[keyof Peppers]): Promise<string | undefined> => {
    let answer;
    try {
      answer = await client.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: label }));
    } catch (error) {
      // Outside a rotation no version carries AWSPREVIOUS or AWSPENDING.
      if (label !== 'AWSCURRENT' && (error as { name?: unknown }).name === 'ResourceNotFoundException') {
        return undefined;
      }
      throw error;
    }
    if (typeof answer.SecretString !== 'string') {
      throw new ConfigError('OTP_PEPPER_SECRET_ARN', `must name a secret string (its ${label} version holds none).`);
    }
    // The same rule as for OTP_PEPPER: a weak secret is refused wherever it comes from.
    assertStrongPepper(
      answer.SecretString,
      label === 'AWSCURRENT' ? 'OTP_PEPPER_SECRET_ARN' : `OTP_PEPPER_SECRET_ARN (${label})`,
    );
    return answer.SecretString;
  };
  const [pepper, previousPepper, nextPepper] = await Promise.all([
    read(LABELS.pepper),
    read(LABELS.previousPepper),
    read(LABELS.nextPepper),
  ]);
  if (pepper === undefined) throw new ConfigError('OTP_PEPPER_SECRET_ARN', 'holds no current pepper.');
  return {
    pepper,
    ...(previousPepper !== undefined && previousPepper !== pepper ? { previousPepper } : {}),
    ...(nextPepper !== undefined && nextPepper !== pepper ? { nextPepper } : {}),
  };
}

export interface PepperLog {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/**
 * The peppers read when the container starts, re-read once PEPPER_MAX_AGE_MS has passed (by the
 * first request after it, which waits for the read: one request per container every 5 minutes). A
 * failed re-read keeps the peppers it has (logged) and is tried again a minute later.
 */
export async function pepperRing(
  read: () => Promise<Peppers>,
  now: () => number,
  log: PepperLog,
): Promise<PepperSource> {
  let loaded = await read();
  let loadedAt = now();
  let attemptedAt = loadedAt;
  return async (at) => {
    if (at - loadedAt < PEPPER_MAX_AGE_MS || at - attemptedAt < PEPPER_RETRY_MS) return loaded;
    attemptedAt = at;
    try {
      loaded = await read();
      loadedAt = at;
    } catch (error) {
      // Never the secret: only what went wrong.
      log.warn('pepper could not be re-read; keeping the one loaded', {
        error: error instanceof Error ? error.name : 'unknown',
      });
    }
    return loaded;
  };
}
