import { type RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { EMPTY_KEY_SET } from '../functions/core/signing-keys.js';

/**
 * The pepper: the key of code hashes and of every table key derived from a target. It lives apart
 * from the tables, so a copy of the tables alone reveals neither codes nor phone numbers.
 */
export function pepperSecret(scope: Construct, removalPolicy: RemovalPolicy): Secret {
  return new Secret(scope, 'Pepper', {
    description: 'Key of the OTP code hashes and table keys. Never log it; rotating it voids live codes.',
    generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    removalPolicy,
  });
}

/**
 * The keys that sign access tokens (functions/core/signing-keys.ts). CloudFormation cannot make an
 * EC key, and a key made at synth would sit in the template: the secret starts as a placeholder
 * that holds no key, and the scheduled function, which the stack runs once on deploy before any
 * API function exists (lib/otp-cleanup.ts), replaces it with the first key set and rotates it after.
 * Encrypted with the account's Secrets Manager key, as the pepper is.
 */
export function signingKeysSecret(scope: Construct, removalPolicy: RemovalPolicy): Secret {
  return new Secret(scope, 'SigningKeys', {
    description:
      'Keys that sign OTP access tokens (JSON). Rotated by the cleanup function; never log it; removing a published key voids its tokens.',
    // The placeholder is public by design: it says that no key exists yet.
    secretStringValue: SecretValue.unsafePlainText(EMPTY_KEY_SET),
    removalPolicy,
  });
}
