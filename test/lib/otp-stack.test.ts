import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CUSTOMERS_TABLE, STATE_TABLE } from '../../functions/tables.js';
import { OtpStack } from '../../lib/otp-stack.js';
import { settingsFromContext } from '../../lib/stack-config.js';

function template(context: Record<string, string> = {}) {
  const settings = settingsFromContext((name) => ({ smsCountries: 'US', ...context })[name]);
  // Bundling skipped: these tests read the template, not the code (one real synth runs in CI).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new OtpStack(app, `Test-${settings.stage}`, { settings }));
}

describe('OtpStack tables', () => {
  it('builds the state table from the shared definition, with TTL', () => {
    template().hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: STATE_TABLE.timeToLiveAttribute, Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('keeps customers with point-in-time recovery and no TTL', () => {
    const customers = template().findResources('AWS::DynamoDB::GlobalTable', {
      Properties: {
        Replicas: Match.arrayWith([
          Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        ]),
      },
    });
    const [resource] = Object.values(customers);
    expect(resource?.Properties.KeySchema).toEqual([{ AttributeName: CUSTOMERS_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(resource?.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(resource?.DeletionPolicy).toBe('Retain');
  });

  it('protects both tables from deletion in prod', () => {
    const tables = template({ stage: 'prod' }).findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables)).toHaveLength(2);
    for (const table of Object.values(tables)) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
    }
  });
});
