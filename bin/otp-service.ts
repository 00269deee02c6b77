import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OtpStack } from '../lib/otp-stack.js';
import { SettingsError, settingsFromContext } from '../lib/stack-config.js';

const app = new App();
let settings;
try {
  settings = settingsFromContext((name) => app.node.tryGetContext(name));
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  process.stderr.write(`\n${error.message}\n\n`);
  process.exit(1);
}

// Every AwsSolutions finding fails synth unless the stack acknowledges it with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

new OtpStack(app, `OtpService-${settings.stage}`, {
  settings,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
