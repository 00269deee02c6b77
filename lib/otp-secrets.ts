import type { RemovalPolicy } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

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
