import { loadConfig } from '../config.js';
import type { Peppers } from '../core/peppers.js';
import { withPepper } from '../wiring.js';
import { UsageError } from './args.js';

/**
 * The service's pepper, which the migration needs to compute lookup keys: OTP_PEPPER, or the secret
 * named by --pepper-secret-arn, read and held to the same rule as in the functions (withPepper in
 * functions/wiring.ts). Refuses to guess when neither or both are given: a pepper that is not the
 * stack's would write lookup items no login ever finds. Error messages never contain the pepper.
 */
export async function migrationPepper(env: Record<string, string | undefined>, secretArn?: string): Promise<string> {
  return (await stackPeppers(env, secretArn)).pepper;
}

/**
 * The current pepper and the one a rotation replaced, which `rekey:customers` moves lookup items
 * between: the secret's AWSCURRENT and AWSPREVIOUS versions, or OTP_PEPPER and OTP_PEPPER_PREVIOUS.
 * Refuses when there is no previous pepper: the rotation's switch has not happened, or is over.
 */
export async function rotationPeppers(
  env: Record<string, string | undefined>,
  secretArn?: string,
): Promise<Required<Pick<Peppers, 'pepper' | 'previousPepper'>>> {
  const { pepper, previousPepper } = await stackPeppers(env, secretArn);
  if (previousPepper === undefined) {
    throw new UsageError(
      secretArn === undefined
        ? 'OTP_PEPPER_PREVIOUS is not set: the re-key needs the pepper the rotation replaced beside OTP_PEPPER.'
        : 'The secret has no AWSPREVIOUS version: there is nothing to re-key from (README, "Rotating the pepper").',
    );
  }
  return { pepper, previousPepper };
}

async function stackPeppers(env: Record<string, string | undefined>, secretArn?: string): Promise<Peppers> {
  const fromEnv = env.OTP_PEPPER || undefined;
  if (fromEnv === undefined && secretArn === undefined) {
    throw new UsageError(
      "The migration needs the service's pepper to compute the customers' lookup keys: " +
        "set OTP_PEPPER to it, or pass --pepper-secret-arn with the stack's pepper secret.",
    );
  }
  if (fromEnv !== undefined && secretArn !== undefined) {
    throw new UsageError(
      'OTP_PEPPER is set and --pepper-secret-arn was given: pass the pepper one way only, so that it is clear which one is used.',
    );
  }
  // Only the pepper's two variables are given: local delivery spares the sender settings that
  // loadConfig would require for AWS delivery, and plays no part here.
  const config = loadConfig({
    OTP_DELIVERY: 'local',
    OTP_PEPPER: fromEnv,
    OTP_PEPPER_PREVIOUS: fromEnv === undefined ? undefined : env.OTP_PEPPER_PREVIOUS,
    OTP_PEPPER_SECRET_ARN: secretArn,
  });
  const { pepper, previousPepper } = await withPepper(config);
  return { pepper, ...(previousPepper === undefined ? {} : { previousPepper }) };
}
