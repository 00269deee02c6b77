import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OtpStack } from './otp-stack.js';
import { settingsFromContext } from './stack-config.js';

/**
 * The app as `cdk synth` builds it: settings from the app's context, one stack per stage, and every
 * AwsSolutions finding failing synth unless the stack acknowledges it with a reason. Throws
 * SettingsError naming a bad context value.
 */
export function addOtpStack(app: App): OtpStack {
  const settings = settingsFromContext((name) => app.node.tryGetContext(name));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return new OtpStack(app, `OtpService-${settings.stage}`, {
    settings,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
}
