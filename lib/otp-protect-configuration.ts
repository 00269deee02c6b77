import { CfnProtectConfiguration } from 'aws-cdk-lib/aws-smsvoice';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  type AwsSdkCall,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { getCountries } from 'libphonenumber-js/mobile';

/**
 * The countries a phone number can belong to, as the functions tell them (libphonenumber, which
 * functions/core/targets.ts parses numbers with), less the codes that are not ISO 3166-1 alpha-2
 * codes, which the End User Messaging API takes as keys: Ascension (AC) and Tristan da Cunha (TA),
 * reserved codes, and Kosovo (XK), a user-assigned one.
 */
export const PROTECT_CONFIGURATION_COUNTRIES: readonly string[] = getCountries().filter(
  (country) => !['AC', 'TA', 'XK'].includes(country),
);

export interface OtpProtectConfigurationProps {
  /** ISO 3166 alpha-2 codes SMS may go to; every other country is blocked. */
  readonly allowedCountries: readonly string[];
  /** Names the protect configuration (its `Name` tag). */
  readonly name: string;
  /**
   * Makes it the account's default protect configuration in the stack's region, which SNS applies
   * to every SMS the account sends there (this service's and any other application's).
   * @default false
   */
  readonly accountDefault?: boolean;
}

/**
 * End User Messaging's own country rules, a second layer behind the functions' country allow-list:
 * SMS to the allowed countries, none elsewhere. A new protect configuration allows every country
 * that it is not told about, so every other country is listed as blocked. Only the SMS rules are
 * set: this service sends neither MMS nor voice, and the account's others are not ours to change.
 */
export class OtpProtectConfiguration extends Construct {
  readonly protectConfiguration: CfnProtectConfiguration;
  /** With accountDefault: the call that makes it the account's default and undoes that on delete. */
  readonly accountDefault?: AwsCustomResource;

  constructor(scope: Construct, id: string, props: OtpProtectConfigurationProps) {
    super(scope, id);
    const allowed = new Set(props.allowedCountries);
    const countries = [...new Set([...props.allowedCountries, ...PROTECT_CONFIGURATION_COUNTRIES])].sort();
    this.protectConfiguration = new CfnProtectConfiguration(this, 'ProtectConfiguration', {
      countryRuleSet: {
        sms: countries.map((countryCode) => ({
          countryCode,
          protectStatus: allowed.has(countryCode) ? 'ALLOW' : 'BLOCK',
        })),
      },
      tags: [{ key: 'Name', value: props.name }],
    });

    if (props.accountDefault) {
      const protectConfigurationId = this.protectConfiguration.attrProtectConfigurationId;
      const setDefault: AwsSdkCall = {
        service: '@aws-sdk/client-pinpoint-sms-voice-v2',
        action: 'SetAccountDefaultProtectConfiguration',
        parameters: { ProtectConfigurationId: protectConfigurationId },
        // One physical id whatever the protect configuration's id: a replaced configuration is an
        // update (set the new one), never a delete, which would remove the new default.
        physicalResourceId: PhysicalResourceId.of('account-default-protect-configuration'),
      };
      this.accountDefault = new AwsCustomResource(this, 'AccountDefault', {
        onCreate: setDefault,
        onUpdate: setDefault,
        // Takes no id: it removes whichever protect configuration is the default at that moment. With
        // none (another stage's deletion or a person removed it), End User Messaging answers
        // ResourceNotFoundException: nothing left to undo, so the stack's deletion goes on.
        onDelete: {
          service: '@aws-sdk/client-pinpoint-sms-voice-v2',
          action: 'DeleteAccountDefaultProtectConfiguration',
          ignoreErrorCodesMatching: 'ResourceNotFoundException',
        },
        installLatestAwsSdk: false,
        policy: AwsCustomResourcePolicy.fromStatements([
          new PolicyStatement({
            actions: ['sms-voice:SetAccountDefaultProtectConfiguration'],
            resources: [this.protectConfiguration.attrArn],
          }),
          // The IAM actions of End User Messaging SMS name no resource for this one: "*" is the
          // only resource it takes.
          new PolicyStatement({ actions: ['sms-voice:DeleteAccountDefaultProtectConfiguration'], resources: ['*'] }),
        ]),
      });
    }
  }
}
