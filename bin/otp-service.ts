import { App } from 'aws-cdk-lib';
import { OtpStack } from '../lib/otp-stack.js';

const app = new App();
const stage: unknown = app.node.tryGetContext('stage') ?? 'dev';
if (stage !== 'dev' && stage !== 'prod') {
  throw new Error(`Context "stage" must be dev or prod (got "${String(stage)}"): cdk synth -c stage=dev`);
}

new OtpStack(app, `OtpService-${stage}`, {
  stage,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
