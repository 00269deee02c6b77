import { App } from 'aws-cdk-lib';
import { addOtpStack } from '../lib/otp-app.js';
import { SettingsError } from '../lib/stack-config.js';

try {
  addOtpStack(new App());
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  process.stderr.write(`\n${error.message}\n\n`);
  process.exit(1);
}
