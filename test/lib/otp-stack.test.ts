import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { otherKeyChecks } from '../../functions/adapters/dynamo/customers.js';
import type { TargetRef } from '../../functions/core/ports.js';
import { CLIENTS_TABLE_OUTPUT } from '../../functions/clients/connection.js';
import { EMPTY_KEY_SET, parseKeySet } from '../../functions/core/signing-keys.js';
import { METRICS_NAMESPACE, METRICS_SERVICE, SMS_METRICS } from '../../functions/metrics.js';
import { HANDLERS, ROUTES } from '../../functions/routes.js';
import { CLIENTS_TABLE, CUSTOMERS_TABLE, STATE_TABLE } from '../../functions/tables.js';
import { isProductionStage } from '../../functions/settings-rules.js';
import { CHANNEL_DEFINES, XRAY_SDK_DEFINE } from '../../lib/function-defaults.js';
import { PHONE_METADATA_IMPORT, phoneMetadataAlias } from '../../lib/phone-metadata.js';
import { ROUTE_GRAPHS } from '../../lib/otp-dashboard.js';
import { LEADING_KEY_PREFIXES } from '../../lib/leading-keys.js';
import { PROTECT_CONFIGURATION_COUNTRIES } from '../../lib/otp-protect-configuration.js';
import { OtpStack } from '../../lib/otp-stack.js';
import { settingsFromContext } from '../../lib/stack-config.js';
import { testApp, withoutXray } from './test-app.js';

type Resource = {
  Type: string;
  Properties: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

/** Synthesis is the slow part: each context is synthesised once per file and its template shared. */
const synths = new Map<string, { stack: OtpStack; template: Template }>();

function synth(context: Record<string, string> = {}) {
  const key = JSON.stringify(context);
  const cached = synths.get(key);
  if (cached) return cached;
  const settings = settingsFromContext((name) => ({ smsCountries: 'US', ...context })[name]);
  const stack = new OtpStack(testApp(), `Test-${settings.stage}`, { settings });
  const synthesised = { stack, template: Template.fromStack(stack) };
  synths.set(key, synthesised);
  return synthesised;
}

const template = (context: Record<string, string> = {}) => synth(context).template;

/** The logical IDs of the service's tables in the template of `context`. */
function tableIds(context: Record<string, string> = {}) {
  const { stack } = synth(context);
  const id = (table: TableV2) => stack.getLogicalId(table.node.defaultChild as CfnElement);
  const { tables } = stack.service;
  return { state: id(tables.state), customers: id(tables.customers), clients: id(tables.clients) };
}

describe('OtpStack tables', () => {
  it('builds the state table from the shared definition, with TTL', () => {
    template().hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: STATE_TABLE.timeToLiveAttribute, Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('backs customers up with point-in-time recovery, without TTL', () => {
    const customers = template().findResources('AWS::DynamoDB::GlobalTable', {
      Properties: {
        Replicas: Match.arrayWith([
          Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        ]),
      },
    });
    const resource = customers[tableIds().customers];
    expect(resource?.Properties.KeySchema).toEqual([{ AttributeName: CUSTOMERS_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(resource?.Properties.TimeToLiveSpecification).toBeUndefined();
  });

  it('backs clients up like customers: point-in-time recovery, no TTL', () => {
    const tables = template().findResources('AWS::DynamoDB::GlobalTable') as Record<string, Resource>;
    const clients = tables[tableIds().clients];
    expect(clients?.Properties.KeySchema).toEqual([{ AttributeName: CLIENTS_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(clients?.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(clients?.Properties.GlobalSecondaryIndexes).toBeUndefined();
    expect(clients?.Properties.Replicas[0].PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
    expect(clients?.Properties.SSESpecification).toEqual(tables[tableIds().customers]?.Properties.SSESpecification);
  });

  it('removes all three tables of a dev stack with it (README, Tear-down)', () => {
    const tables = template().findResources('AWS::DynamoDB::GlobalTable') as Record<string, Resource>;
    expect(Object.keys(tables).sort()).toEqual(Object.values(tableIds()).sort());
    for (const table of Object.values(tables)) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.UpdateReplacePolicy).toBe('Delete');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    }
  });

  it('sets no maximum throughput unless asked', () => {
    for (const table of Object.values(template().findResources('AWS::DynamoDB::GlobalTable'))) {
      expect(table.Properties.WriteOnDemandThroughputSettings).toBeUndefined();
      expect(table.Properties.Replicas[0].ReadOnDemandThroughputSettings).toBeUndefined();
    }
  });

  it("caps every table's on-demand throughput at tableMaxReadRequestUnits and tableMaxWriteRequestUnits", () => {
    const context = { tableMaxReadRequestUnits: '400', tableMaxWriteRequestUnits: '300' };
    const tables = template(context).findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables)).toHaveLength(3);
    for (const table of Object.values(tables)) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.WriteOnDemandThroughputSettings).toEqual({ MaxWriteRequestUnits: 300 });
      expect(table.Properties.Replicas[0].ReadOnDemandThroughputSettings).toEqual({ MaxReadRequestUnits: 400 });
    }
  });

  it('keeps the logical IDs of the tables deployed before the clients table', () => {
    // A new logical ID would make CloudFormation create an empty table in place of the kept one.
    expect(tableIds()).toMatchObject({ state: 'TablesState705891C2', customers: 'TablesCustomersB22215AC' });
    expect(tableIds({ stage: 'prod' })).toMatchObject({
      state: 'TablesState705891C2',
      customers: 'TablesCustomersB22215AC',
    });
  });

  it('protects every table from deletion in prod', () => {
    const tables = template({ stage: 'prod' }).findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables).sort()).toEqual(Object.values(tableIds({ stage: 'prod' })).sort());
    for (const table of Object.values(tables)) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
    }
  });

  /** Each resource type the template keeps on stack deletion (DeletionPolicy and UpdateReplacePolicy Retain), counted. */
  function retained(context: Record<string, string>): Record<string, number> {
    const kept: Record<string, number> = {};
    for (const resource of Object.values(template(context).toJSON().Resources as Record<string, Resource>)) {
      if (resource.DeletionPolicy !== 'Retain') continue;
      expect(resource.UpdateReplacePolicy).toBe('Retain');
      kept[resource.Type] = (kept[resource.Type] ?? 0) + 1;
    }
    return kept;
  }

  // The README lists these (Tear-down): change it with them.
  it('leaves what the README lists when a prod stack is deleted', () => {
    expect(retained({ stage: 'prod' })).toEqual({
      // State, customers, clients.
      'AWS::DynamoDB::GlobalTable': 3,
      // The pepper and the signing keys.
      'AWS::SecretsManager::Secret': 2,
      // One per function (the cleanup's included), the API's access and execution logs, the WAF's.
      'AWS::Logs::LogGroup': HANDLERS.length + 4,
      // The key of the alarm topic.
      'AWS::KMS::Key': 1,
      // API Gateway's account-wide logging role and setting, which CDK keeps in every stage.
      'AWS::IAM::Role': 1,
      'AWS::ApiGateway::Account': 1,
    });
  });

  it('leaves only the account-wide API Gateway logging role when a dev stack is deleted', () => {
    expect(retained({})).toEqual({ 'AWS::IAM::Role': 1, 'AWS::ApiGateway::Account': 1 });
  });

  it("removes a dev stack's log groups, and keeps a prod stack's, with the stage's retention, the account settings' function's included", () => {
    // The account settings (spend limit, delivery logs, default protect configuration) are calls of
    // CDK's AwsCustomResource function, whose log group CDK makes with 731 days and Retain.
    const account = {
      smsMonthlySpendLimitUsd: '50',
      smsDeliveryStatusLogs: 'failures',
      protectConfigurationDefault: 'true',
    };
    for (const [stage, policy, days] of [
      ['dev', 'Delete', 30],
      ['prod', 'Retain', 90],
    ] as const) {
      const groups = template({ stage, ...account }).findResources('AWS::Logs::LogGroup') as Record<string, Resource>;
      for (const [id, group] of Object.entries(groups)) {
        expect([id, group.DeletionPolicy, group.Properties.RetentionInDays]).toEqual([id, policy, days]);
      }
    }
  });

  it('lets a stage that is not production delete its state table', () => {
    const tables = template({ stage: 'staging', devMode: 'true' }).findResources('AWS::DynamoDB::GlobalTable', {
      Properties: { TimeToLiveSpecification: Match.anyValue() },
    });
    expect(Object.values(tables).map((table) => table.DeletionPolicy)).toEqual(['Delete']);
  });
});

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/**
 * The statements of the inline policies on the role of the function whose description names it, one
 * per resource (CDK merges statements of the same actions into one with a list of resources).
 */
function statementsOf(t: Template, handler: string): Statement[] {
  const functions = t.findResources('AWS::Lambda::Function', {
    Properties: { Description: `OTP service: ${handler}` },
  }) as Record<string, Resource>;
  const [fn] = Object.values(functions);
  const roleId = fn?.Properties.Role['Fn::GetAtt'][0] as string;
  const policies = Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>).filter((policy) =>
    (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId),
  );
  return (
    policies
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      // X-Ray's grant is the same for every function; the tracing tests check it (test/lib/otp-service.test.ts).
      .flatMap(withoutXray)
      .flatMap((statement) =>
        Array.isArray(statement.Resource)
          ? statement.Resource.map((resource: unknown) => ({ ...statement, Resource: resource }))
          : [statement],
      )
  );
}

/** The environment of every function of the service, the cleanup included. */
const variablesOfEvery = (t: Template) =>
  Object.values(
    t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^OTP service: ') },
    }) as Record<string, Resource>,
  ).map((fn) => fn.Properties.Environment.Variables as Record<string, unknown>);

const actionsOf = (statements: Statement[], effect = 'Allow') =>
  new Set(statements.filter((s) => s.Effect === effect).flatMap((s) => [s.Action].flat()));

describe('OtpStack functions', () => {
  it('runs every handler on Node.js 24, arm64, with the shared settings', () => {
    const functions = Object.values(
      template().findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('^OTP service: ') },
      }) as Record<string, Resource>,
    );
    expect(functions.map((fn) => fn.Properties.Description).sort()).toEqual([
      'OTP service: cleanup',
      'OTP service: health',
      'OTP service: openapi',
      'OTP service: policy',
      'OTP service: refresh',
      'OTP service: send-otp',
      'OTP service: session',
      'OTP service: sessions',
      'OTP service: verify-otp',
      'OTP service: well-known',
    ]);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
      expect(fn.Properties.Environment.Variables).toMatchObject({ OTP_STAGE: 'dev', OTP_DEV_MODE: 'false' });
      expect(fn.Properties.Environment.Variables.OTP_PEPPER).toBeUndefined();
    }
  });

  it('gives each function only the actions it uses, and no wildcard action', () => {
    const t = template({ emailFrom: 'Acme <no-reply@acme.example>' });
    expect(actionsOf(statementsOf(t, 'send-otp'))).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchGetItem',
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'sns:Publish',
        'ses:SendEmail',
      ]),
    );
    expect(actionsOf(statementsOf(t, 'verify-otp'))).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:ConditionCheckItem',
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
      ]),
    );
    expect(actionsOf(statementsOf(t, 'session'))).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'secretsmanager:GetSecretValue',
      ]),
    );
    expect(actionsOf(statementsOf(t, 'sessions'))).toEqual(
      new Set(['dynamodb:GetItem', 'dynamodb:Query', 'secretsmanager:GetSecretValue']),
    );
    expect(actionsOf(statementsOf(t, 'refresh'))).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'secretsmanager:GetSecretValue',
      ]),
    );
    expect(actionsOf(statementsOf(t, 'policy'))).toEqual(new Set(['dynamodb:GetItem']));
    expect(statementsOf(t, 'health')).toEqual([]);
    // The document is bundled in the function (functions/handlers/openapi.ts): it reads nothing.
    expect(statementsOf(t, 'openapi')).toEqual([]);
    expect(actionsOf(statementsOf(t, 'well-known'))).toEqual(new Set(['secretsmanager:GetSecretValue']));
    // Its failed runs go to the alarm topic (an on-failure destination), which is encrypted. Without
    // the expiry sweep (the default) it only rotates the keys: no table action at all.
    const rotation = [
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'sns:Publish',
      'kms:Decrypt',
      'kms:GenerateDataKey',
    ];
    expect(actionsOf(statementsOf(t, 'cleanup'))).toEqual(new Set(rotation));
    expect(actionsOf(statementsOf(template({ expirySweep: 'true' }), 'cleanup'))).toEqual(
      new Set(['dynamodb:Query', 'dynamodb:DeleteItem', ...rotation]),
    );
    for (const handler of [...HANDLERS, 'cleanup']) {
      for (const action of actionsOf(statementsOf(t, handler))) expect(action).not.toContain('*');
    }
  });

  it('lets the functions that find a client by its key only GetItem on the clients table itself', () => {
    const t = template({ emailFrom: 'Acme <no-reply@acme.example>' });
    const { clients } = tableIds({ emailFrom: 'Acme <no-reply@acme.example>' });
    const readers = ['send-otp', 'verify-otp', 'session', 'sessions', 'refresh', 'policy'];
    for (const handler of [...HANDLERS, 'cleanup']) {
      // One grant per action and resource (CDK merges statements that share their actions).
      const onClients = statementsOf(t, handler).flatMap((s) =>
        [s.Resource]
          .flat()
          .filter((resource) => JSON.stringify(resource).includes(`"${clients}"`))
          .flatMap((resource) =>
            [s.Action].flat().map((action) => ({ Effect: s.Effect, Action: action, Resource: resource })),
          ),
      );
      expect(onClients, handler).toEqual(
        readers.includes(handler)
          ? [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': [clients, 'Arn'] } }]
          : [],
      );
    }
  });

  it('grants per table exactly the item actions each function calls on it (transactions included)', () => {
    const t = template({ emailFrom: 'Acme <no-reply@acme.example>' });
    const ids = tableIds({ emailFrom: 'Acme <no-reply@acme.example>' });
    // CDK merges statements with the same actions into one with several resources.
    const on = (handler: string, table: string) =>
      new Set(
        statementsOf(t, handler)
          .filter((s) =>
            [s.Resource]
              .flat()
              .some((resource) => JSON.stringify(resource) === JSON.stringify({ 'Fn::GetAtt': [table, 'Arn'] })),
          )
          .flatMap((s) => [s.Action].flat()),
      );
    const item = (...actions: string[]) => new Set(actions.map((action) => `dynamodb:${action}`));
    // BatchGetItem: the breaker's windows (functions/adapters/dynamo/sms-limits.ts breakerWindows).
    expect(on('send-otp', ids.state)).toEqual(item('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem'));
    expect(on('verify-otp', ids.state)).toEqual(
      item('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'),
    );
    // A new customer is a Put, a returning one's login an Update, both inside the login transaction;
    // update-* deletes the replaced identifier's lookup item; during a pepper rotation the transaction
    // checks the target's other keys (ConditionCheck).
    expect(on('verify-otp', ids.customers)).toEqual(
      item('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'),
    );
    // verify-email / verify-phone sends read the customer for the identifier it has.
    expect(on('send-otp', ids.customers)).toEqual(item('GetItem'));
    expect(on('session', ids.state)).toEqual(item('GetItem', 'UpdateItem', 'DeleteItem'));
    expect(on('sessions', ids.state)).toEqual(item('GetItem'));
    expect(on('refresh', ids.state)).toEqual(item('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'));
    // The refreshed answer carries the customer's identity (functions/core/refresh-session.ts).
    expect(on('refresh', ids.customers)).toEqual(item('GetItem'));
    for (const handler of ['session', 'sessions', 'policy', 'health'])
      expect(on(handler, ids.customers)).toEqual(new Set());
  });

  it("lets the send function read the breaker's windows, which is one BatchGetItem on the state table", async () => {
    // functions/adapters/dynamo/sms-limits.ts breakerWindows, called by the breaker's judgement
    // (functions/core/send-code.ts judgeBreaker): without the action the read is refused in AWS, the
    // breaker logs "conversion breaker failed" and never pauses a country.
    const source = await readFile(new URL('../../functions/adapters/dynamo/sms-limits.ts', import.meta.url), 'utf8');
    expect(source).toContain('new BatchGetItemCommand(');
    const t = template({ emailFrom: 'Acme <no-reply@acme.example>' });
    const ids = tableIds({ emailFrom: 'Acme <no-reply@acme.example>' });
    const batchGets = statementsOf(t, 'send-otp').filter((s) => [s.Action].flat().includes('dynamodb:BatchGetItem'));
    expect(batchGets.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [ids.state, 'Arn'] }]);
  });

  it("lets verify check in its transaction that no other pepper's key holds the target (a pepper rotation)", () => {
    // functions/adapters/dynamo/customers.ts otherKeyChecks: a ConditionCheck on the customers table,
    // in the login that creates a customer and in verify-* / update-*, while a rotation is under way.
    const names = { stateTable: 'state', customersTable: 'customers', clientsTable: 'clients' };
    const checks = otherKeyChecks({ client: undefined as never, tables: names }, {
      targetKey: 'current',
      previousKey: 'previous',
      nextKey: 'next',
    } as TargetRef);
    expect(checks.map((item) => item.ConditionCheck?.TableName)).toEqual(['customers', 'customers']);
    const t = template({ emailFrom: 'Acme <no-reply@acme.example>' });
    const ids = tableIds({ emailFrom: 'Acme <no-reply@acme.example>' });
    const onCustomers = statementsOf(t, 'verify-otp')
      .filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [ids.customers, 'Arn'] }))
      .flatMap((s) => [s.Action].flat());
    expect(onCustomers).toContain('dynamodb:ConditionCheckItem');
  });

  it('holds session, sessions and refresh to the key prefixes of lib/leading-keys.ts, on every item action', () => {
    const t = template({ emailFrom: 'Acme <no-reply@acme.example>' });
    const ids = tableIds({ emailFrom: 'Acme <no-reply@acme.example>' });
    const arn = (id: string) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] });
    const like = (...prefixes: string[]) => ({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) },
    });
    const onTable = (handler: string, id: string) =>
      statementsOf(t, handler).filter((s) => JSON.stringify(s.Resource) === arn(id));
    const expected: Record<string, Record<string, unknown>> = {
      session: { [ids.state]: like('session#', 'family#') },
      sessions: { [ids.state]: like('session#', 'family#') },
      refresh: { [ids.state]: like('session#', 'family#', 'refresh#'), [ids.customers]: like('customer#') },
    };
    for (const [handler, tables] of Object.entries(expected)) {
      for (const [id, condition] of Object.entries(tables)) {
        const statements = onTable(handler, id);
        expect(statements.length, `${handler} ${id}`).toBeGreaterThan(0);
        for (const statement of statements) expect(statement.Condition, `${handler} ${id}`).toEqual(condition);
      }
      // The clients table is not held: both kinds of item it holds are read by every caller.
      for (const statement of onTable(handler, ids.clients)) expect(statement.Condition).toBeUndefined();
      // Nor the sessions index: LeadingKeys there would test the index's key, a customer id.
      for (const statement of statementsOf(t, handler).filter((s) => s.Action === 'dynamodb:Query')) {
        expect(statement.Condition).toBeUndefined();
      }
    }
    expect(LEADING_KEY_PREFIXES).toEqual({
      session: { state: ['session#', 'family#'] },
      sessions: { state: ['session#', 'family#'] },
      refresh: { state: ['session#', 'family#', 'refresh#'], customers: ['customer#'] },
    });
    // The others reach nearly every kind of item (lib/leading-keys.ts says why): no condition.
    for (const handler of ['send-otp', 'verify-otp', 'policy', 'cleanup']) {
      expect(JSON.stringify(statementsOf(t, handler)), handler).not.toContain('dynamodb:LeadingKeys');
    }
  });

  it.each<Record<string, string>>([{}, { expirySweep: 'true' }])(
    "lets only the functions that list a customer's sessions Query, only the sessions index, and with the expiry sweep the cleanup the due index (%j)",
    (context) => {
      const t = template(context);
      const index = (name: string) => ({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [tableIds(context).state, 'Arn'] }, `/index/${name}`]],
      });
      for (const handler of [...HANDLERS, 'cleanup']) {
        const queries = statementsOf(t, handler).filter((s) => [s.Action].flat().includes('dynamodb:Query'));
        const expected =
          handler === 'session' || handler === 'sessions'
            ? [index(STATE_TABLE.sessionsIndex.name)]
            : handler === 'cleanup' && 'expirySweep' in context
              ? [index(STATE_TABLE.dueIndex.name)]
              : [];
        expect(
          queries.map((s) => s.Resource),
          handler,
        ).toEqual(expected);
      }
    },
  );

  it('lets only the token functions read the signing keys, and only the cleanup write them', () => {
    const { stack, template: t } = synth();
    const keysId = stack.getLogicalId(stack.service.signingKeys.node.defaultChild as CfnElement);
    const onKeys = (handler: string) =>
      statementsOf(t, handler).filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ Ref: keysId }));
    for (const handler of ['verify-otp', 'refresh', 'session', 'sessions', 'well-known']) {
      expect(onKeys(handler), handler).toEqual([
        { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: keysId } },
      ]);
    }
    expect(onKeys('cleanup')).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        Resource: { Ref: keysId },
      },
    ]);
    for (const handler of ['health', 'openapi', 'send-otp', 'policy']) expect(onKeys(handler), handler).toEqual([]);
    // The pepper is another secret: the readers of the keys that do not hash codes get none of it.
    const pepperId = stack.getLogicalId(stack.service.pepper.node.defaultChild as CfnElement);
    for (const handler of ['refresh', 'session', 'sessions', 'well-known', 'cleanup']) {
      expect(JSON.stringify(statementsOf(t, handler)), handler).not.toContain(`"${pepperId}"`);
    }
    for (const variables of variablesOfEvery(t)) {
      expect(variables.OTP_SIGNING_KEYS_SECRET_ARN).toEqual({ Ref: keysId });
      expect(variables.OTP_SIGNING_KEYS).toBeUndefined();
    }
  });

  it('stores no key in the template: the signing key secret starts as the empty placeholder', () => {
    const { stack, template: t } = synth({ stage: 'prod' });
    const keysId = stack.getLogicalId(stack.service.signingKeys.node.defaultChild as CfnElement);
    const secret = (t.findResources('AWS::SecretsManager::Secret') as Record<string, Resource>)[keysId];
    expect(secret?.Properties.SecretString).toBe(EMPTY_KEY_SET);
    expect(parseKeySet(String(secret?.Properties.SecretString))).toBeUndefined();
    expect(secret?.DeletionPolicy).toBe('Retain');
  });

  it('runs the cleanup on deploy after the key secret exists and before any API function', () => {
    const { stack, template: t } = synth();
    const triggers = Object.entries(
      t.findResources('Custom::Trigger') as Record<string, Resource & { DependsOn?: string[] }>,
    );
    expect(triggers).toHaveLength(1);
    const [triggerId, trigger] = triggers[0] as [string, Resource & { DependsOn?: string[] }];
    const keysId = stack.getLogicalId(stack.service.signingKeys.node.defaultChild as CfnElement);
    expect(trigger.DependsOn).toContain(keysId);
    // It invokes the cleanup function's current version, so a changed function runs again.
    const versionId = (trigger.Properties.HandlerArn as { Ref: string }).Ref;
    expect(t.toJSON().Resources[versionId]).toMatchObject({
      Type: 'AWS::Lambda::Version',
      Properties: {
        FunctionName: { Ref: stack.getLogicalId(stack.service.cleanup.fn.node.defaultChild as CfnElement) },
      },
    });
    // As long as the function may take: a bounded cleanup run may come with the keys.
    expect(trigger.Properties.Timeout).toBe(String(5 * 60 * 1000));
    const functions = t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^OTP service: ') },
    }) as Record<string, Resource & { DependsOn?: string[] }>;
    for (const [id, fn] of Object.entries(functions)) {
      if (fn.Properties.Description === 'OTP service: cleanup') continue;
      expect(fn.DependsOn, id).toContain(triggerId);
    }
  });

  it('has no dependency cycle, the issuer and the trigger included', () => {
    const contexts: Record<string, string>[] = [{}, { stage: 'prod' }, { issuer: 'https://otp.acme.example' }];
    for (const context of contexts) {
      const resources = template(context).toJSON().Resources as Record<string, Record<string, unknown>>;
      const ids = new Set(Object.keys(resources));
      const dependencies = (resource: Record<string, unknown>) => {
        const found = new Set<string>([resource.DependsOn ?? []].flat() as string[]);
        const walk = (value: unknown): void => {
          if (Array.isArray(value)) value.forEach(walk);
          else if (value && typeof value === 'object') {
            for (const [key, inner] of Object.entries(value)) {
              if (key === 'Ref' && typeof inner === 'string' && ids.has(inner)) found.add(inner);
              else if (key === 'Fn::GetAtt' && Array.isArray(inner)) found.add(String(inner[0]));
              else walk(inner);
            }
          }
        };
        walk(resource.Properties);
        return found;
      };
      const graph = new Map([...ids].map((id) => [id, dependencies(resources[id] ?? {})]));
      const state = new Map<string, 'open' | 'done'>();
      const visit = (id: string, path: string[]): void => {
        if (state.get(id) === 'done') return;
        if (state.get(id) === 'open') throw new Error(`cycle: ${[...path, id].join(' -> ')}`);
        state.set(id, 'open');
        for (const next of graph.get(id) ?? []) visit(next, [...path, id]);
        state.set(id, 'done');
      };
      for (const id of ids) expect(() => visit(id, []), JSON.stringify(context)).not.toThrow();
    }
  });

  it('gives the policy function no state, customers or pepper access', () => {
    const t = template();
    const { clients } = tableIds();
    expect(statementsOf(t, 'policy')).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': [clients, 'Arn'] } },
    ]);
  });

  it('lets the send function publish SMS to phone numbers only, never to a topic', () => {
    const statements = statementsOf(template(), 'send-otp').filter((s) => [s.Action].flat().includes('sns:Publish'));
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Resource: '*' }));
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sns:*:*:*']] },
      }),
    );
  });

  it('lets the send function e-mail only from the configured identity and address, in its configuration set', () => {
    const t = template({ emailFrom: 'Acme <no-reply@acme.example>' });
    const ses = statementsOf(t, 'send-otp').filter((s) => [s.Action].flat().includes('ses:SendEmail'));
    const [setId] = Object.keys(t.findResources('AWS::SES::ConfigurationSet'));
    expect(ses.map((s) => JSON.stringify(s.Resource)).sort()).toEqual([
      expect.stringContaining(`:configuration-set/","{"Ref":"${setId}"}`.replace('","{', '",{')),
      expect.stringContaining(':identity/acme.example'),
    ]);
    for (const statement of ses) {
      expect(statement.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@acme.example' } });
    }
  });

  it('sends every code e-mail through a configuration set that suppresses bounced and complaining addresses', () => {
    const t = template({ emailFrom: 'Acme <no-reply@acme.example>' });
    const sets = Object.entries(t.findResources('AWS::SES::ConfigurationSet') as Record<string, Resource>);
    expect(sets).toHaveLength(1);
    const [[setId, set] = []] = sets;
    expect(set?.Properties).toMatchObject({
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
      ReputationOptions: { ReputationMetricsEnabled: true },
      SendingOptions: { SendingEnabled: true },
    });
    for (const variables of variablesOfEvery(t)) expect(variables.OTP_SES_CONFIGURATION_SET).toEqual({ Ref: setId });
    // No e-mail, no configuration set.
    template().resourceCountIs('AWS::SES::ConfigurationSet', 0);
    for (const variables of variablesOfEvery(template())) expect(variables.OTP_SES_CONFIGURATION_SET).toBeUndefined();
  });

  it('tells every function the real names of the tables, and that keys are required', () => {
    const ids = tableIds();
    const functions = variablesOfEvery(template());
    expect(functions).toHaveLength(HANDLERS.length + 1);
    for (const variables of functions) {
      expect(variables).toMatchObject({
        OTP_STATE_TABLE: { Ref: ids.state },
        OTP_CUSTOMERS_TABLE: { Ref: ids.customers },
        OTP_CLIENTS_TABLE: { Ref: ids.clients },
        OTP_REQUIRE_API_KEY: 'true',
      });
    }
  });

  it('tells every function the access token algorithm: ES256 unless -c accessTokenAlgorithm=RS256', () => {
    const defaults = variablesOfEvery(template());
    expect(defaults).toHaveLength(HANDLERS.length + 1);
    for (const variables of defaults) expect(variables.OTP_ACCESS_TOKEN_ALGORITHM).toBe('ES256');
    const rsa = variablesOfEvery(template({ accessTokenAlgorithm: 'RS256' }));
    expect(rsa).toHaveLength(HANDLERS.length + 1);
    for (const variables of rsa) expect(variables.OTP_ACCESS_TOKEN_ALGORITHM).toBe('RS256');
  });

  it('lets every function take keyless calls with -c requireApiKey=false', () => {
    const functions = variablesOfEvery(template({ requireApiKey: 'false' }));
    expect(functions).toHaveLength(HANDLERS.length + 1);
    for (const variables of functions) expect(variables.OTP_REQUIRE_API_KEY).toBe('false');
  });

  it('turns dev mode on only when asked, outside prod', () => {
    const fn = Object.values(
      template({ stage: 'staging', devMode: 'true' }).findResources('AWS::Lambda::Function', {
        Properties: { Description: 'OTP service: send-otp' },
      }) as Record<string, Resource>,
    )[0];
    expect(fn?.Properties.Environment.Variables.OTP_DEV_MODE).toBe('true');
  });
});

describe('OtpStack cleanup', () => {
  it('runs the cleanup every hour', () => {
    const t = template();
    const [cleanupId] = Object.keys(
      t.findResources('AWS::Lambda::Function', { Properties: { Description: 'OTP service: cleanup' } }),
    );
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [cleanupId, 'Arn'] } })],
    });
  });

  it('with the expiry sweep, may query only the due index of the state table', () => {
    const query = statementsOf(template({ expirySweep: 'true' }), 'cleanup').find((s) => s.Action === 'dynamodb:Query');
    expect(JSON.stringify(query?.Resource)).toMatch(/\/index\/due"/);
  });

  it('without the expiry sweep (the default), the state table has the sessions index only, and the schedule says so', () => {
    const t = template();
    const [state] = Object.values(
      t.findResources('AWS::DynamoDB::GlobalTable', {
        Properties: { TimeToLiveSpecification: { Enabled: true } },
      }) as Record<string, Resource>,
    );
    const indexes = (state?.Properties.GlobalSecondaryIndexes ?? []) as { IndexName: string }[];
    expect(indexes.map((index) => index.IndexName)).toEqual(['sessions']);
    expect(JSON.stringify(state?.Properties.AttributeDefinitions)).not.toContain('dueBucket');
    t.hasResourceProperties('AWS::Events::Rule', {
      Description: 'Hourly: OTP signing key rotation (expired items are left to TTL)',
    });
    for (const variables of variablesOfEvery(t)) expect(variables.OTP_EXPIRY_SWEEP).toBe('false');
    for (const variables of variablesOfEvery(template({ expirySweep: 'true' }))) {
      expect(variables.OTP_EXPIRY_SWEEP).toBe('true');
    }
  });

  it('with the expiry sweep, gives the state table the keys-only due index and the sessions index, as functions/tables.ts defines them', () => {
    template({ expirySweep: 'true' }).hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'due',
          KeySchema: [
            { AttributeName: 'dueBucket', KeyType: 'HASH' },
            { AttributeName: 'dueAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        }),
        Match.objectLike({
          IndexName: 'sessions',
          KeySchema: [
            { AttributeName: 'sessionsOf', KeyType: 'HASH' },
            { AttributeName: 'absoluteExpiresAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...STATE_TABLE.sessionsIndex.include] },
        }),
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'sessionsOf', AttributeType: 'S' },
        { AttributeName: 'absoluteExpiresAt', AttributeType: 'N' },
      ]),
    });
  });
});

/** Each method of the REST API with its full path, from the resources' parent chain. */
function routesOf(t: Template) {
  const resources = t.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>;
  const pathOf = (id: string): string => {
    const resource = resources[id];
    if (!resource) return '';
    const parent = resource.Properties.ParentId as { Ref?: string };
    return `${parent.Ref ? pathOf(parent.Ref) : ''}/${resource.Properties.PathPart as string}`;
  };
  // ANY methods answer a wrong method with 405 (test/lib/gateway-responses.test.ts): no route of their own.
  return Object.values(
    t.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: Match.not('ANY') } }) as Record<
      string,
      Resource
    >,
  ).map((method) => ({
    method: method.Properties.HttpMethod as string,
    path: pathOf((method.Properties.ResourceId as { Ref: string }).Ref),
    integration: method.Properties.Integration as { Type: string; Uri: unknown },
  }));
}

describe('OtpStack API', () => {
  it('has exactly the routes of functions/routes.ts, each on its own function through a proxy integration', () => {
    const t = template();
    const functionIds = Object.fromEntries(
      Object.entries(t.findResources('AWS::Lambda::Function') as Record<string, Resource>).map(([id, fn]) => [
        String(fn.Properties.Description).replace('OTP service: ', ''),
        id,
      ]),
    );
    const routes = routesOf(t);
    expect(routes.map((route) => `${route.method} ${route.path}`).sort()).toEqual(
      ROUTES.map((route) => `${route.method} ${route.path}`).sort(),
    );
    for (const route of ROUTES) {
      const found = routes.find((r) => r.method === route.method && r.path === route.path);
      // A proxy integration hands the function the whole request, query string included (?action=).
      expect(found?.integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(found?.integration.Uri)).toContain(
        `{"Fn::GetAtt":["${functionIds[route.handler]}","Arn"]}`,
      );
    }
  });

  it('routes GET /v1/otp/policy to the policy function, which API Gateway may invoke', () => {
    const t = template();
    const [policyId] = Object.keys(
      t.findResources('AWS::Lambda::Function', { Properties: { Description: 'OTP service: policy' } }),
    );
    const route = routesOf(t).find((r) => r.path === '/v1/otp/policy');
    expect(route?.method).toBe('GET');
    expect(JSON.stringify(route?.integration.Uri)).toContain(`"${policyId}"`);
    const permissions = Object.values(
      t.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: { 'Fn::GetAtt': [policyId, 'Arn'] }, Principal: 'apigateway.amazonaws.com' },
      }) as Record<string, Resource>,
    );
    expect(permissions.some((p) => JSON.stringify(p.Properties.SourceArn).includes('/GET/v1/otp/policy'))).toBe(true);
  });

  it('throttles the stage, and each route under its own limit below the stage, and writes access logs', () => {
    template().hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 100 }),
        Match.objectLike({ HttpMethod: 'POST', ResourcePath: '/~1v1~1otp~1send', ThrottlingRateLimit: 20 }),
      ]),
    });
  });

  it('gives send, verify, session, sessions and refresh their own throttle, each below the stage', () => {
    const stage = Object.values(template().findResources('AWS::ApiGateway::Stage') as Record<string, Resource>)[0];
    const settings = stage?.Properties.MethodSettings as Record<string, unknown>[];
    const stageDefault = settings.find((s) => s.ResourcePath === '/*');
    const routes = [
      ['/v1/otp/send', 'POST'],
      ['/v1/otp/verify', 'POST'],
      ['/v1/session', 'GET'],
      ['/v1/session', 'DELETE'],
      ['/v1/sessions', 'GET'],
      ['/v1/session/refresh', 'POST'],
    ];
    for (const [path, method] of routes) {
      expect(ROUTES.some((route) => route.path === path && route.method === method)).toBe(true);
      const setting = settings.find(
        (s) => s.ResourcePath === `/${path?.replaceAll('/', '~1')}` && s.HttpMethod === method,
      );
      expect(setting, `${method} ${path}`).toMatchObject({ LoggingLevel: 'ERROR', MetricsEnabled: true });
      expect(setting?.ThrottlingRateLimit).toBeLessThan(stageDefault?.ThrottlingRateLimit as number);
      expect(setting?.ThrottlingBurstLimit).toBeLessThan(stageDefault?.ThrottlingBurstLimit as number);
    }
    expect(settings).toHaveLength(routes.length + 1);
  });

  it('keeps the account-wide API Gateway logging role when a stack is destroyed', () => {
    const roles = template().findResources('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        },
      },
    }) as Record<string, Resource>;
    expect(Object.values(roles).map((role) => role.DeletionPolicy)).toEqual(['Retain']);
  });

  it('answers unknown routes with a 404 problem', () => {
    template().hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
      StatusCode: '404',
    });
  });
});

describe('OtpStack WAF', () => {
  // The rules themselves, and which paths each counts: test/lib/otp-waf.test.ts.
  it('attaches a web ACL with the AWS common rules and the per-IP rate rules to the stage', () => {
    const t = template();
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([
        Match.objectLike({
          Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } },
        }),
        Match.objectLike({ Name: 'all-rate-per-ip' }),
        Match.objectLike({ Name: 'send-rate-per-ip' }),
        Match.objectLike({ Name: 'verify-rate-per-ip' }),
        Match.objectLike({ Name: 'session-rate-per-ip' }),
      ]),
    });
    t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    const [stageId] = Object.keys(t.findResources('AWS::ApiGateway::Stage'));
    expect(JSON.stringify(t.findResources('AWS::WAFv2::WebACLAssociation'))).toContain(stageId);
  });

  it('takes the rate limits from the context', () => {
    const acl = Object.values(
      template({ wafRateLimitAll: '4000', wafRateLimitSend: '120' }).findResources('AWS::WAFv2::WebACL') as Record<
        string,
        Resource
      >,
    )[0];
    const limits = Object.fromEntries(
      (acl?.Properties.Rules as Record<string, any>[])
        .filter((rule) => rule.Statement.RateBasedStatement)
        .map((rule) => [rule.Name, rule.Statement.RateBasedStatement.Limit]),
    );
    expect(limits).toEqual({
      'all-rate-per-ip': 4000,
      'send-rate-per-ip': 120,
      'verify-rate-per-ip': 100,
      'session-rate-per-ip': 300,
    });
  });

  it('can be turned off', () => {
    const t = template({ waf: 'false' });
    t.resourceCountIs('AWS::WAFv2::WebACL', 0);
    t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
  });
});

describe('OtpStack alarms', () => {
  /** What each alarm watches: its metric's name, or its expression's label. */
  const watched = (t: Template) =>
    Object.values(t.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map(
      (alarm) => (alarm.Properties.MetricName ?? alarm.Properties.Metrics[0].Label) as string,
    );
  const alarmsOf = (t: Template, label: string) =>
    Object.values(t.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).filter(
      (alarm) => (alarm.Properties.MetricName ?? alarm.Properties.Metrics[0].Label) === label,
    );

  it('alarms on 5XX, 4XX and 429 rates, p99 per route, WAF blocks, Lambda and DynamoDB throttles, the cleanup, deliveries, SMS spend and paused countries', () => {
    const t = template();
    expect(watched(t).sort()).toEqual(
      [
        'API 4XX %',
        'API 429 %',
        'API 5XX %',
        'BlockedRequests',
        SMS_METRICS.breakerTripped,
        'DeliveryFailures',
        'DynamoDB throttle events',
        'DynamoDB throttle events',
        'DynamoDB throttle events',
        'Errors',
        'Lambda throttles',
        ...ROUTES.map(() => 'Latency'),
        'SMSMonthToDateSpentUSD',
      ].sort(),
    );
    const [topicId] = Object.keys(t.findResources('AWS::SNS::Topic'));
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
  });

  /** The expression of a metric-math alarm and its metrics by id. */
  const mathOf = (alarm: Resource | undefined) => {
    const metrics = alarm?.Properties.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Namespace: string }; Stat: string; Period: number };
    }[];
    return {
      expression: metrics.find((metric) => metric.Expression)?.Expression,
      metrics: Object.fromEntries(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat])),
    };
  };

  it('alarms on the 5XX rate, not a count: over 1% of answers in 5 minutes, from 3 errors', () => {
    const [alarm] = alarmsOf(template(), 'API 5XX %');
    const { expression, metrics } = mathOf(alarm);
    expect(expression).toBe('IF(errors >= 3, 100 * errors / requests, 0)');
    expect(metrics.errors).toMatchObject({
      Metric: { MetricName: '5XXError', Namespace: 'AWS/ApiGateway' },
      Stat: 'Sum',
    });
    expect(metrics.requests).toMatchObject({ Metric: { MetricName: 'Count' }, Stat: 'Sum', Period: 300 });
    expect(alarm?.Properties).toMatchObject({
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on the 4XX rate and the 429 rate over 15 minutes, from 50 requests per 5 minutes', () => {
    const t = template();
    const [clientErrors] = alarmsOf(t, 'API 4XX %');
    expect(mathOf(clientErrors).expression).toBe('IF(requests >= 50, 100 * errors / requests, 0)');
    expect(mathOf(clientErrors).metrics.errors).toMatchObject({ Metric: { MetricName: '4XXError' } });
    expect(clientErrors?.Properties).toMatchObject({ Threshold: 25, EvaluationPeriods: 3 });
    const [tooMany] = alarmsOf(t, 'API 429 %');
    expect(mathOf(tooMany).expression).toBe('IF(requests >= 50, 100 * errors / requests, 0)');
    expect(mathOf(tooMany).metrics.errors).toMatchObject({
      Metric: { MetricName: 'Api429', Namespace: METRICS_NAMESPACE },
    });
    expect(tooMany?.Properties).toMatchObject({ Threshold: 10, EvaluationPeriods: 3 });
    // Counted from the access log, where every 429 shows, the gateway's throttle and the service's limits alike.
    const { stack } = synth();
    const accessLogs = stack.service.node.findAll().find((c) => c.node.id === 'access-logs');
    const [filter] = Object.values(
      t.findResources('AWS::Logs::MetricFilter', {
        Properties: { MetricTransformations: [Match.objectLike({ MetricName: 'Api429' })] },
      }) as Record<string, Resource>,
    );
    expect(filter?.Properties.LogGroupName).toEqual({
      Ref: stack.getLogicalId(accessLogs?.node.defaultChild as CfnElement),
    });
    expect(filter?.Properties.FilterPattern).toBe('{ ($.status = "429") || ($.status = 429) }');
  });

  it('alarms on the p99 latency of every route of functions/routes.ts, 5 s for send and 2 s for the others', () => {
    const latency = alarmsOf(template(), 'Latency');
    expect(latency).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const alarm = latency.find(
        (a) =>
          (a.Properties.Dimensions as { Name: string; Value: string }[]).some(
            (d) => d.Name === 'Resource' && d.Value === route.path,
          ) &&
          (a.Properties.Dimensions as { Name: string; Value: string }[]).some(
            (d) => d.Name === 'Method' && d.Value === route.method,
          ),
      );
      expect(alarm?.Properties, `${route.method} ${route.path}`).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        ExtendedStatistic: 'p99',
        Period: 300,
        EvaluationPeriods: 3,
        Threshold: route.path === '/v1/otp/send' ? 5000 : 2000,
        TreatMissingData: 'notBreaching',
      });
      expect(alarm?.Properties.Dimensions).toEqual(
        expect.arrayContaining([
          { Name: 'ApiName', Value: 'otp-service-dev' },
          { Name: 'Stage', Value: 'dev' },
        ]),
      );
    }
  });

  it('alarms on what the WAF blocks, by the web ACL its ARN names; none without the WAF', () => {
    const t = template();
    const [aclId] = Object.keys(t.findResources('AWS::WAFv2::WebACL'));
    const [blocks] = alarmsOf(t, 'BlockedRequests');
    expect(blocks?.Properties).toMatchObject({ Namespace: 'AWS/WAFV2', Statistic: 'Sum', Threshold: 100 });
    expect(blocks?.Properties.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'Rule', Value: 'ALL' },
        { Name: 'Region', Value: { Ref: 'AWS::Region' } },
        { Name: 'WebACL', Value: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [aclId, 'Arn'] }] }] } },
      ]),
    );
    expect(alarmsOf(template({ waf: 'false' }), 'BlockedRequests')).toEqual([]);
  });

  it('alarms on the throttle events of each table', () => {
    const throttles = alarmsOf(template(), 'DynamoDB throttle events');
    const ids = Object.values(tableIds());
    const tablesWatched = throttles.map((alarm) => {
      const { expression, metrics } = mathOf(alarm);
      expect(expression).toBe('reads + writes');
      expect(metrics.reads).toMatchObject({ Metric: { MetricName: 'ReadThrottleEvents' }, Stat: 'Sum' });
      expect(metrics.writes).toMatchObject({ Metric: { MetricName: 'WriteThrottleEvents' }, Stat: 'Sum' });
      return JSON.stringify(metrics.reads);
    });
    for (const id of ids) expect(tablesWatched.filter((json) => json.includes(`"${id}"`))).toHaveLength(1);
  });

  it("alarms on the cleanup's errors, and sends its failed runs to the alarm topic", () => {
    const t = template();
    const [cleanupId, cleanup] =
      Object.entries(
        t.findResources('AWS::Lambda::Function', { Properties: { Description: 'OTP service: cleanup' } }) as Record<
          string,
          Resource & { DependsOn?: string[] }
        >,
      )[0] ?? [];
    const [errors] = alarmsOf(t, 'Errors');
    expect(errors?.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: cleanupId } }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 1,
    });
    const [topicId] = Object.keys(t.findResources('AWS::SNS::Topic'));
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: cleanupId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { Ref: topicId } } },
    });
    // Lambda checks the role may publish when the destination is set: the grant exists before.
    const [policyId] = Object.keys(
      t.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: cleanup?.Properties.Role['Fn::GetAtt'][0] }] },
      }),
    );
    expect(cleanup?.DependsOn).toContain(policyId);
    const [keyId] = Object.keys(t.findResources('AWS::KMS::Key'));
    expect(statementsOf(t, 'cleanup')).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: topicId } },
        { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
      ]),
    );
  });

  it("alarms on the account's SES bounce and complaint rates with e-mail, at SES's own review thresholds", () => {
    const t = template({ emailFrom: 'no-reply@acme.example' });
    expect(alarmsOf(t, 'Reputation.BounceRate')[0]?.Properties).toMatchObject({
      Namespace: 'AWS/SES',
      Threshold: 0.05,
    });
    expect(alarmsOf(t, 'Reputation.ComplaintRate')[0]?.Properties).toMatchObject({
      Namespace: 'AWS/SES',
      Threshold: 0.001,
    });
    expect(alarmsOf(template(), 'Reputation.BounceRate')).toEqual([]);
  });

  it('alarms to the topic when the breaker pauses a country: any trip in 5 minutes, no data is fine', () => {
    const t = template();
    const [topicId] = Object.keys(t.findResources('AWS::SNS::Topic'));
    const [paused] = Object.values(
      t.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: SMS_METRICS.breakerTripped },
      }) as Record<string, Resource>,
    );
    expect(paused?.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      // The {service} set alone: one series whatever the country and mode.
      Dimensions: [{ Name: 'service', Value: METRICS_SERVICE }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId }],
    });
    const description = JSON.stringify(paused?.Properties.AlarmDescription);
    expect(description).toContain('otp-service-dev-');
    expect(description).toContain('country paused');
  });

  it('has no country-paused and no SMS spend alarm without SMS', () => {
    const t = template({ smsCountries: '', emailFrom: 'no-reply@acme.example' });
    for (const metric of [SMS_METRICS.breakerTripped, 'SMSMonthToDateSpentUSD']) {
      expect(t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metric } }), metric).toEqual({});
    }
  });

  it('counts the throttles of every function, the policy function included', () => {
    const t = template();
    const [throttles] = Object.values(
      t.findResources('AWS::CloudWatch::Alarm', {
        Properties: { Metrics: Match.arrayWith([Match.objectLike({ Label: 'Lambda throttles' })]) },
      }) as Record<string, Resource>,
    );
    const watched = (throttles?.Properties.Metrics as { MetricStat?: { Metric: { Dimensions: unknown } } }[])
      .filter((metric) => metric.MetricStat)
      .map((metric) => JSON.stringify(metric.MetricStat?.Metric.Dimensions));
    const functionIds = Object.keys(
      t.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('^OTP service: ') },
      }),
    );
    expect(watched).toHaveLength(HANDLERS.length + 1);
    for (const id of functionIds) expect(watched.some((dimensions) => dimensions.includes(`"${id}"`))).toBe(true);
  });

  it('encrypts the alarm topic with a key CloudWatch may use, and lets CloudWatch publish', () => {
    const t = template();
    const keys = t.findResources('AWS::KMS::Key') as Record<string, Resource>;
    const [keyId, key] = Object.entries(keys)[0] ?? [];
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    // CloudWatch may use the key for alarms of this account only.
    const forCloudWatch = (key?.Properties.KeyPolicy.Statement as Record<string, unknown>[]).filter((statement) =>
      JSON.stringify(statement.Principal).includes('cloudwatch.amazonaws.com'),
    );
    expect(forCloudWatch).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
          }),
        ]),
      },
    });
  });
});

/** The dashboard's widgets, its CloudFormation references written as REF. */
function dashboardOf(t: Template) {
  const dashboards = Object.values(t.findResources('AWS::CloudWatch::Dashboard') as Record<string, Resource>);
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const json = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  return (JSON.parse(json) as { widgets: { type: string; properties: Record<string, any> }[] }).widgets;
}

const graphs = (t: Template) =>
  Object.fromEntries(
    dashboardOf(t)
      .filter((widget) => widget.type === 'metric')
      .map((widget) => [widget.properties.title as string, widget.properties.metrics as unknown[][]]),
  );

/** The SEARCH of every series of a metric with exactly these dimensions besides service. */
const search = (metricName: string, dimensions: string[]) =>
  `SEARCH('{${[METRICS_NAMESPACE, 'service', ...dimensions].join(',')}} MetricName="${metricName}" service="${METRICS_SERVICE}"', 'Sum', 300)`;

describe('OtpStack dashboard', () => {
  it('shows SMS sent and verified per country, refusals by reason, SMS per client and breaker trips, whatever their values', () => {
    const widgets = graphs(template({ smsCountries: 'US,GB' }));
    expect(widgets).toMatchObject({
      'SMS sent per country': [[{ expression: search(SMS_METRICS.sent, ['country']) }]],
      'Codes verified by SMS per country': [[{ expression: search(SMS_METRICS.verified, ['country']) }]],
      'Sends refused by reason': [[{ expression: search(SMS_METRICS.refused, ['reason']) }]],
      'SMS sent per client': [[{ expression: search(SMS_METRICS.sent, ['clientId']) }]],
      'Breaker trips per country and mode': [[{ expression: search(SMS_METRICS.breakerTripped, ['country', 'mode']) }]],
    });
  });

  it('shows the conversion of each country of smsCountries, a period without verification as 0', () => {
    const conversion = graphs(template({ smsCountries: 'US,GB' }))['Conversion per country (verified / sent)'];
    const metric = (name: string, country: string, id: string) => [
      METRICS_NAMESPACE,
      name,
      'country',
      country,
      'service',
      METRICS_SERVICE,
      { id, visible: false, stat: 'Sum' },
    ];
    expect(conversion).toEqual([
      [{ label: 'US', expression: 'FILL(verified_us, 0) / sent_us' }],
      metric(SMS_METRICS.verified, 'US', 'verified_us'),
      metric(SMS_METRICS.sent, 'US', 'sent_us'),
      [{ label: 'GB', expression: 'FILL(verified_gb, 0) / sent_gb' }],
      metric(SMS_METRICS.verified, 'GB', 'verified_gb'),
      metric(SMS_METRICS.sent, 'GB', 'sent_gb'),
    ]);
  });

  it("draws the breaker's minimum on the conversion when the context sets it", () => {
    const annotations = (t: Template) =>
      dashboardOf(t).find((widget) => widget.properties.title === 'Conversion per country (verified / sent)')
        ?.properties.annotations;
    expect(annotations(template({ breakerMinConversion: '0.35' }))).toEqual({
      horizontal: [{ value: 0.35, label: 'breaker minimum', yAxis: 'left' }],
    });
    expect(annotations(template())).toBeUndefined();
  });

  it('shows only the refusals without SMS, and names the dashboard in an output', () => {
    const t = template({ smsCountries: '', emailFrom: 'no-reply@acme.example' });
    expect(Object.keys(graphs(t))).toEqual(['Sends refused by reason', ...ROUTE_GRAPHS]);
    expect(JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'))).not.toContain(SMS_METRICS.sent);
    const [dashboardId] = Object.keys(t.findResources('AWS::CloudWatch::Dashboard'));
    t.hasOutput('DashboardName', { Value: { Ref: dashboardId } });
  });
});

describe('OtpStack dashboard, per route', () => {
  const route = (metricName: string, { method, path }: { method: string; path: string }, stat?: string) => [
    'AWS/ApiGateway',
    metricName,
    'ApiName',
    'otp-service-dev',
    'Method',
    method,
    'Resource',
    path,
    'Stage',
    'dev',
    { label: `${method} ${path}`, ...(stat ? { stat } : {}) },
  ];

  it('draws latency p50 and p99, 4XX and 5XX of every route of functions/routes.ts, one line each', () => {
    const widgets = graphs(template());
    for (const title of ROUTE_GRAPHS) expect(widgets[title]).toHaveLength(ROUTES.length);
    expect(widgets['Latency p50 per route']).toEqual(ROUTES.map((r) => route('Latency', r, 'p50')));
    expect(widgets['Latency p99 per route']).toEqual(ROUTES.map((r) => route('Latency', r, 'p99')));
    expect(widgets['4XX per route']).toEqual(ROUTES.map((r) => route('4XXError', r, 'Sum')));
    expect(widgets['5XX per route']).toEqual(ROUTES.map((r) => route('5XXError', r, 'Sum')));
    const stats = Object.fromEntries(
      dashboardOf(template())
        .filter((widget) => ROUTE_GRAPHS.includes(widget.properties.title as string))
        .map((widget) => [widget.properties.title, widget.properties.stat]),
    );
    expect(stats).toEqual({
      'Latency p50 per route': 'p50',
      'Latency p99 per route': 'p99',
      '4XX per route': 'Sum',
      '5XX per route': 'Sum',
    });
  });

  it('reads the metrics the stage emits per method: detailed metrics on', () => {
    template().hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'dev',
      MethodSettings: Match.arrayWith([
        Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', MetricsEnabled: true }),
      ]),
    });
  });
});

/** A Custom::AWS call as the handler reads it, the protect configuration's id written as ID. */
function sdkCall(call: unknown): Record<string, unknown> {
  if (typeof call === 'string') return JSON.parse(call) as Record<string, unknown>;
  const parts = (call as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'ID')).join('')) as Record<string, unknown>;
}

describe('OtpStack End User Messaging protect configuration', () => {
  const protectConfigurations = (t: Template) =>
    Object.entries(t.findResources('AWS::SMSVOICE::ProtectConfiguration') as Record<string, Resource>);

  it('allows SMS to exactly smsCountries and blocks every other country', () => {
    const [[, configuration] = []] = protectConfigurations(template({ smsCountries: 'US,GB' }));
    const rules = configuration?.Properties.CountryRuleSet as Record<
      string,
      { CountryCode: string; ProtectStatus: string }[]
    >;
    expect(Object.keys(rules)).toEqual(['SMS']);
    const sms = rules.SMS ?? [];
    const status = Object.fromEntries(sms.map((rule) => [rule.CountryCode, rule.ProtectStatus]));
    expect(sms).toHaveLength(Object.keys(status).length);
    expect(
      Object.entries(status)
        .filter(([, value]) => value === 'ALLOW')
        .map(([country]) => country)
        .sort(),
    ).toEqual(['GB', 'US']);
    for (const country of PROTECT_CONFIGURATION_COUNTRIES.filter((c) => c !== 'US' && c !== 'GB')) {
      expect(status[country], country).toBe('BLOCK');
    }
    expect(new Set(Object.values(status))).toEqual(new Set(['ALLOW', 'BLOCK']));
    // Every country a number can belong to (CA, MX, IN, NG, ...), as the API's ISO 3166-1 keys.
    expect(PROTECT_CONFIGURATION_COUNTRIES.length).toBeGreaterThan(200);
    for (const country of Object.keys(status)) expect(country).toMatch(/^[A-Z]{2}$/);
  });

  it('leaves the account default alone unless protectConfigurationDefault is true', () => {
    const t = template({ smsCountries: 'US,GB' });
    expect(protectConfigurations(t)).toHaveLength(1);
    expect(t.findResources('Custom::AWS')).toEqual({});
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).not.toContain('sms-voice');
  });

  it('makes it the account default with protectConfigurationDefault=true, and removes the default on delete', () => {
    const t = template({ smsCountries: 'US,GB', protectConfigurationDefault: 'true' });
    const [[configurationId] = []] = protectConfigurations(t);
    const calls = Object.values(t.findResources('Custom::AWS') as Record<string, Resource>);
    expect(calls).toHaveLength(1);
    const call = calls[0]?.Properties ?? {};
    const set = {
      service: '@aws-sdk/client-pinpoint-sms-voice-v2',
      action: 'SetAccountDefaultProtectConfiguration',
      parameters: { ProtectConfigurationId: 'ID' },
      physicalResourceId: { id: 'account-default-protect-configuration' },
    };
    expect(sdkCall(call.Create)).toEqual(set);
    expect(sdkCall(call.Update)).toEqual(set);
    expect(JSON.stringify(call.Create)).toContain(
      JSON.stringify({ 'Fn::GetAtt': [configurationId, 'ProtectConfigurationId'] }),
    );
    // No default to remove (another stage's deletion removed it, or a person did: the call takes no
    // id) is ResourceNotFoundException, which must not fail the stack's deletion or update.
    expect(sdkCall(call.Delete)).toEqual({
      service: '@aws-sdk/client-pinpoint-sms-voice-v2',
      action: 'DeleteAccountDefaultProtectConfiguration',
      ignoreErrorCodesMatching: 'ResourceNotFoundException',
    });
    const statements = Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>)
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => JSON.stringify(statement.Action).includes('sms-voice:'));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'sms-voice:SetAccountDefaultProtectConfiguration',
        Resource: { 'Fn::GetAtt': [configurationId, 'Arn'] },
      },
      { Effect: 'Allow', Action: 'sms-voice:DeleteAccountDefaultProtectConfiguration', Resource: '*' },
    ]);
  });

  it('exists in no e-mail-only stack, nor where protectConfiguration is false', () => {
    const contexts: Record<string, string>[] = [
      { smsCountries: '', emailFrom: 'no-reply@acme.example' },
      { smsCountries: 'US', protectConfiguration: 'false' },
    ];
    for (const context of contexts) {
      const t = template(context);
      expect(protectConfigurations(t), JSON.stringify(context)).toEqual([]);
      expect(t.findResources('Custom::AWS'), JSON.stringify(context)).toEqual({});
    }
  });

  it('refuses to make a protect configuration the default that it is told not to create', () => {
    expect(() =>
      settingsFromContext(
        (name) => ({ smsCountries: 'US', protectConfiguration: 'false', protectConfigurationDefault: 'true' })[name],
      ),
    ).toThrow('Invalid context "protectConfigurationDefault": needs protectConfiguration');
  });
});

describe('stack settings', () => {
  const settings = (context: Record<string, string>) => () => settingsFromContext((name) => context[name]);

  it('takes an https issuer for a custom domain, and names the context value when it is bad', () => {
    expect(
      settingsFromContext((name) => ({ smsCountries: 'US', issuer: 'https://otp.acme.example' })[name]).issuer,
    ).toBe('https://otp.acme.example');
    expect(settingsFromContext((name) => ({ smsCountries: 'US' })[name]).issuer).toBeUndefined();
    for (const issuer of ['http://otp.acme.example', 'https://otp.acme.example/', 'otp.acme.example']) {
      expect(settings({ smsCountries: 'US', issuer })).toThrow('Invalid context "issuer"');
    }
  });

  it('tells every function the issuer of the context, and outputs it', () => {
    const t = template({ issuer: 'https://otp.acme.example' });
    for (const variables of variablesOfEvery(t)) expect(variables.OTP_ISSUER).toBe('https://otp.acme.example');
    t.hasOutput('Issuer', { Value: 'https://otp.acme.example' });
  });

  it('refuses dev mode in prod', () => {
    expect(settings({ stage: 'prod', devMode: 'true', smsCountries: 'US' })).toThrow(
      'Invalid context "devMode": is refused in the prod stage',
    );
  });

  it.each(['production', 'prd', 'prod-eu'])('refuses dev mode in the %s stage, which is production', (stage) => {
    expect(settings({ stage, devMode: 'true', smsCountries: 'US' })).toThrow(
      `Invalid context "devMode": is refused in the ${stage} stage`,
    );
    expect(settingsFromContext((name) => ({ stage, smsCountries: 'US' })[name]).production).toBe(true);
  });

  it.each(['staging', 'dev-2', 'qa-prod'])('accepts the %s stage, not production, with dev mode', (stage) => {
    expect(settingsFromContext((name) => ({ stage, devMode: 'true', smsCountries: 'US' })[name])).toMatchObject({
      stage,
      production: false,
      devMode: true,
    });
  });

  it('decides production with the rule the functions use', () => {
    for (const stage of ['dev', 'staging', 'prod', 'production', 'prd', 'prod-eu', 'qa-prod', 'preprod']) {
      expect(settingsFromContext((name) => ({ stage, smsCountries: 'US' })[name]).production).toBe(
        isProductionStage(stage),
      );
    }
    expect(['prod', 'production', 'prd', 'prod-eu'].map(isProductionStage)).toEqual([true, true, true, true]);
    expect(['dev', 'staging', 'preprod', 'qa-prod'].map(isProductionStage)).toEqual([false, false, false, false]);
  });

  it.each([
    [{ stage: 'Staging', smsCountries: 'US' }, 'stage'],
    [{ stage: 'prod_eu', smsCountries: 'US' }, 'stage'],
    [{ smsCountries: 'US', emailFrom: 'Acme <no-reply@acme.example' }, 'emailFrom'],
    [{ smsCountries: 'US', emailFrom: 'no-reply@acme.example', sesIdentity: 'not a domain' }, 'sesIdentity'],
    [{ smsCountries: 'USA' }, 'smsCountries'],
    [{ emailFrom: 'not an address' }, 'emailFrom'],
    [{ smsCountries: 'US', smsSenderId: 'TOO-LONG-SENDER' }, 'smsSenderId'],
    [{ smsCountries: 'US', smsOriginationNumber: '555-0100' }, 'smsOriginationNumber'],
    [{ smsCountries: 'US', smsMonthlyBudgetUsd: '-5' }, 'smsMonthlyBudgetUsd'],
    [{ smsCountries: 'US', waf: 'maybe' }, 'waf'],
    [{ smsCountries: 'US', requireApiKey: 'maybe' }, 'requireApiKey'],
    [{ smsCountries: 'US', requireApiKey: 'no' }, 'requireApiKey'],
    [{ smsCountries: 'US', accessTokenAlgorithm: 'HS256' }, 'accessTokenAlgorithm'],
    [{ smsCountries: 'US', accessTokenAlgorithm: 'rs256' }, 'accessTokenAlgorithm'],
  ])('fails on %j naming %s', (context, name) => {
    expect(settings(context)).toThrow(`Invalid context "${name}"`);
  });

  const SMS_PROTECTION_SETTINGS: [string, string, string][] = [
    ['smsLimitPerCountryPerHour', '250', 'OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR'],
    ['smsLimitPerPrefixPerHour', '0', 'OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR'],
    ['smsLimitPerHour', '1500', 'OTP_SMS_LIMIT_PER_HOUR'],
    ['breakerMode', 'monitor', 'OTP_BREAKER_MODE'],
    ['breakerMinSends', '80', 'OTP_BREAKER_MIN_SENDS'],
    ['breakerMinConversion', '0.35', 'OTP_BREAKER_MIN_CONVERSION'],
    ['breakerWindowSeconds', '7200', 'OTP_BREAKER_WINDOW_SECONDS'],
    ['breakerPauseSeconds', '600', 'OTP_BREAKER_PAUSE_SECONDS'],
  ];

  it('tells every function each SMS cap and breaker setting of the context, 0 included', () => {
    const context = Object.fromEntries(SMS_PROTECTION_SETTINGS.map(([name, value]) => [name, value]));
    const functions = variablesOfEvery(template(context));
    expect(functions).toHaveLength(HANDLERS.length + 1);
    for (const variables of functions) {
      for (const [, value, variable] of SMS_PROTECTION_SETTINGS) expect(variables[variable], variable).toBe(value);
    }
  });

  it('leaves the SMS caps and the breaker to the functions when the context does not set them', () => {
    for (const variables of variablesOfEvery(template())) {
      for (const [, , variable] of SMS_PROTECTION_SETTINGS) expect(variables[variable], variable).toBeUndefined();
    }
  });

  it.each([
    ['smsLimitPerCountryPerHour', '-1'],
    ['smsLimitPerCountryPerHour', '2.5'],
    ['smsLimitPerPrefixPerHour', 'ten'],
    ['smsLimitPerHour', '1000001'],
    ['breakerMode', 'on'],
    ['breakerMode', 'Enforce'],
    ['breakerMinSends', '0'],
    ['breakerMinConversion', '1.5'],
    ['breakerMinConversion', '20%'],
    ['breakerMinConversion', '-0.1'],
    ['breakerWindowSeconds', '59'],
    ['breakerWindowSeconds', '86401'],
    ['breakerPauseSeconds', '30'],
    ['protectConfiguration', 'yes'],
    ['protectConfigurationDefault', '1'],
    ['smsMonthlySpendLimitUsd', '0'],
    ['smsMonthlySpendLimitUsd', '12.5'],
    ['smsMonthlySpendLimitUsd', 'lots'],
    ['smsDeliveryStatusLogs', 'true'],
    ['smsDeliveryStatusLogs', 'All'],
    ['sendConcurrency', '-1'],
    ['sendConcurrency', '1001'],
    ['sendConcurrency', 'ten'],
  ])('fails on %s=%s, naming it', (name, value) => {
    expect(settings({ smsCountries: 'US', [name]: value })).toThrow(`Invalid context "${name}": `);
  });

  it.each([
    ...SMS_PROTECTION_SETTINGS.map(([name, value]) => [name, value]),
    ['smsMonthlyBudgetUsd', '50'],
    ['smsMonthlySpendLimitUsd', '50'],
    ['smsDeliveryStatusLogs', 'failures'],
  ])('refuses %s without smsCountries, as SMS is off', (name, value) => {
    expect(settings({ emailFrom: 'no-reply@acme.example', [name]: value })).toThrow(
      `Invalid context "${name}": needs smsCountries`,
    );
  });

  it('takes decimals of the conversion as written', () => {
    const breaker = (minConversion: string) =>
      settingsFromContext((name) => ({ smsCountries: 'US', breakerMinConversion: minConversion })[name]).breaker;
    expect(['0', '0.2', '.5', '1', '1.0'].map((value) => breaker(value).minConversion)).toEqual([0, 0.2, 0.5, 1, 1]);
  });

  it('requires API keys unless requireApiKey is false', () => {
    const requireApiKey = (value?: unknown) =>
      settingsFromContext((name) => ({ smsCountries: 'US', requireApiKey: value })[name]).requireApiKey;
    expect([requireApiKey(), requireApiKey('true'), requireApiKey('false'), requireApiKey(false)]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(settings({ smsCountries: 'US', requireApiKey: 'off' })).toThrow(
      'Invalid context "requireApiKey": must be true or false (got "off").',
    );
  });

  it('leaves expired items to TTL unless expirySweep is true', () => {
    const expirySweep = (value?: unknown) =>
      settingsFromContext((name) => ({ smsCountries: 'US', expirySweep: value })[name]).expirySweep;
    expect([expirySweep(), expirySweep('false'), expirySweep('true'), expirySweep(true)]).toEqual([
      false,
      false,
      true,
      true,
    ]);
    expect(settings({ smsCountries: 'US', expirySweep: 'hourly' })).toThrow(
      'Invalid context "expirySweep": must be true or false (got "hourly").',
    );
  });

  it('derives the SES identity from the sender address', () => {
    expect(settingsFromContext((name) => ({ emailFrom: 'Acme <no-reply@acme.example>' })[name]).sesIdentity).toBe(
      'acme.example',
    );
  });
});

const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const CUSTOM_DOMAIN = { domainName: 'otp.acme.example', certificateArn: CERTIFICATE };

describe('OtpStack gateway: logs, throttles, TLS, custom domain', () => {
  const stageOf = (t: Template) =>
    Object.values(t.findResources('AWS::ApiGateway::Stage') as Record<string, Resource>)[0]?.Properties;

  it('logs the path the client sent, the route, the status, what the gateway refused it as and the latencies', () => {
    const format = stageOf(template())?.AccessLogSetting.Format as string;
    const line = JSON.parse(format.replace(/\$context\.[a-zA-Z.]+/g, '0')) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual(expect.arrayContaining(['requestId', 'ip', 'status', 'path']));
    expect(format).toContain('"path":"$context.path"');
    expect(format).toContain('"resourcePath":"$context.resourcePath"');
    expect(format).toContain('"errorType":"$context.error.responseType"');
    expect(format).toContain('"responseLatency":$context.responseLatency');
    expect(format).toContain('"integrationLatency":"$context.integrationLatency"');
    expect(format).toContain('"wafStatus":"$context.waf.status"');
    // Nothing that may carry a token or a code: no query string, no header, no body.
    expect(format).not.toMatch(/querystring|header|input\.body|requestOverride/i);
  });

  it('takes the stage throttle from the context, and gives each route its share of it', () => {
    const settings = stageOf(template({ throttleRate: '500' }))?.MethodSettings as Record<string, unknown>[];
    const at = (path: string, method: string) =>
      settings.find((s) => s.ResourcePath === path && s.HttpMethod === method) as Record<string, number>;
    expect(at('/*', '*')).toMatchObject({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
    expect(at('/~1v1~1otp~1send', 'POST')).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
    expect(at('/~1v1~1otp~1verify', 'POST')).toMatchObject({ ThrottlingRateLimit: 150, ThrottlingBurstLimit: 300 });
    expect(at('/~1v1~1sessions', 'GET')).toMatchObject({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    const burst = stageOf(template({ throttleRate: '500', throttleBurst: '3000' }))?.MethodSettings;
    expect(burst).toEqual(
      expect.arrayContaining([expect.objectContaining({ ResourcePath: '/*', ThrottlingBurstLimit: 3000 })]),
    );
  });

  it.each([
    ['throttleRate', '9'],
    ['throttleRate', '10001'],
    ['throttleRate', '2.5'],
    ['throttleBurst', '0'],
    ['throttleBurst', '5001'],
    ['wafRateLimitAll', '5'],
    ['wafRateLimitSend', 'many'],
    ['wafRateLimitVerify', '2000000001'],
    ['wafRateLimitSession', '-1'],
    ['tableMaxReadRequestUnits', '24'],
    ['tableMaxWriteRequestUnits', '0'],
    ['tableMaxWriteRequestUnits', '2147483648'],
    ['tableMaxReadRequestUnits', '100.5'],
  ])('fails on %s=%s, naming it', (name, value) => {
    expect(() => settingsFromContext((n) => ({ smsCountries: 'US', [name]: value })[n])).toThrow(
      `Invalid context "${name}": must be a whole number from`,
    );
  });

  it('refuses WAF limits with the WAF off', () => {
    expect(() =>
      settingsFromContext((n) => ({ smsCountries: 'US', waf: 'false', wafRateLimitSend: '100' })[n]),
    ).toThrow('Invalid context "wafRateLimitSend": needs the WAF');
  });

  it('accepts TLS 1.2 or newer only, on the execute-api endpoint', () => {
    template().hasResourceProperties('AWS::ApiGateway::RestApi', { SecurityPolicy: 'TLS_1_2' });
    template().resourceCountIs('AWS::ApiGateway::DomainName', 0);
    expect(
      Object.values(template().findResources('AWS::ApiGateway::RestApi') as Record<string, Resource>)[0]?.Properties
        .DisableExecuteApiEndpoint,
    ).toBeFalsy();
  });

  it('serves a custom domain on TLS 1.2 or newer, mapped at its root to the stage, with execute-api off', () => {
    const t = template(CUSTOM_DOMAIN);
    t.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'otp.acme.example',
      RegionalCertificateArn: CERTIFICATE,
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'TLS_1_2',
    });
    t.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true, SecurityPolicy: 'TLS_1_2' });
    const [stageId] = Object.keys(t.findResources('AWS::ApiGateway::Stage'));
    t.hasResourceProperties('AWS::ApiGateway::BasePathMapping', { Stage: { Ref: stageId } });
    const [mapping] = Object.values(t.findResources('AWS::ApiGateway::BasePathMapping') as Record<string, Resource>);
    expect(mapping?.Properties.BasePath ?? '').toBe('');
    t.hasOutput('ApiUrl', { Value: 'https://otp.acme.example/' });
    t.hasOutput('CustomDomainTarget', { Value: Match.anyValue() });
    t.hasOutput('CustomDomainHostedZoneId', { Value: Match.anyValue() });
    // The issuer, and so the discovery document's URLs, are on the domain: execute-api is off.
    t.hasOutput('Issuer', { Value: 'https://otp.acme.example' });
    for (const variables of variablesOfEvery(t)) expect(variables.OTP_ISSUER).toBe('https://otp.acme.example');
  });

  it.each([
    [{ domainName: 'otp.acme.example' }, 'domainName', 'needs certificateArn'],
    [{ certificateArn: CERTIFICATE }, 'certificateArn', 'needs domainName'],
    [{ ...CUSTOM_DOMAIN, domainName: 'OTP.Acme.example' }, 'domainName', 'lower-case host name'],
    [{ ...CUSTOM_DOMAIN, domainName: 'https://otp.acme.example' }, 'domainName', 'lower-case host name'],
    [{ ...CUSTOM_DOMAIN, certificateArn: 'arn:aws:iam::123456789012:server-certificate/x' }, 'certificateArn', 'ACM'],
  ])('fails on %j naming %s', (context: Record<string, string>, name, problem) => {
    expect(() => settingsFromContext((n) => ({ smsCountries: 'US', ...context })[n])).toThrow(
      new RegExp(`Invalid context "${name}": .*${problem}`),
    );
  });

  it('refuses a certificate of another region than the stack', () => {
    const settings = settingsFromContext((n) => ({ smsCountries: 'US', ...CUSTOM_DOMAIN })[n as 'domainName']);
    expect(
      () => new OtpStack(testApp(), 'Elsewhere', { settings, env: { account: '123456789012', region: 'us-east-1' } }),
    ).toThrow(/certificateArn is in eu-west-1; a regional custom domain needs an ACM certificate in us-east-1/);
    expect(
      () => new OtpStack(testApp(), 'Same', { settings, env: { account: '123456789012', region: 'eu-west-1' } }),
    ).not.toThrow();
  });
});

describe('OtpStack outputs', () => {
  it('names the clients table in the output npm run clients looks up', () => {
    const t = template();
    expect(CLIENTS_TABLE_OUTPUT).toBe('ClientsTableName');
    t.hasOutput(CLIENTS_TABLE_OUTPUT, { Value: { Ref: tableIds().clients } });
    t.hasOutput('StateTableName', { Value: { Ref: tableIds().state } });
    t.hasOutput('CustomersTableName', { Value: { Ref: tableIds().customers } });
  });
});

describe('OtpStack logs', () => {
  it("lets each function write to its own log group only: no managed policy, no other group's streams", () => {
    const t = template({ emailFrom: 'no-reply@acme.example' });
    const functions = Object.values(
      t.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('^OTP service: ') },
      }) as Record<string, Resource>,
    );
    expect(functions).toHaveLength(HANDLERS.length + 1);
    const roles = t.findResources('AWS::IAM::Role') as Record<string, Resource>;
    for (const fn of functions) {
      const role = roles[fn.Properties.Role['Fn::GetAtt'][0] as string];
      const logGroup = fn.Properties.LoggingConfig.LogGroup as { Ref: string };
      expect(role?.Properties.ManagedPolicyArns, fn.Properties.Description).toBeUndefined();
      expect(role?.Properties.Policies).toEqual([
        {
          PolicyName: 'own-logs',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                Resource: { 'Fn::GetAtt': [logGroup.Ref, 'Arn'] },
              },
            ],
          },
        },
      ]);
    }
    // Nothing else in the roles' policies touches logs.
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).not.toContain('"logs:');
  });

  it.each([
    ['dev', 30, 'Delete'],
    ['prod', 90, 'Retain'],
  ])(
    'makes the execution log group of the %s stage with a retention of %i days, before the stage',
    (stage, days, policy) => {
      const { stack, template: t } = synth({ stage });
      const apiId = stack.getLogicalId(stack.service.api.node.defaultChild as CfnElement);
      const groups = t.findResources('AWS::Logs::LogGroup', {
        Properties: {
          LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: apiId }, `/${stage}`]] },
        },
      }) as Record<string, Resource>;
      const [[groupId, group] = []] = Object.entries(groups);
      expect(group?.Properties.RetentionInDays).toBe(days);
      expect(group?.DeletionPolicy).toBe(policy);
      const [stageResource] = Object.values(t.findResources('AWS::ApiGateway::Stage')) as { DependsOn?: string[] }[];
      expect(stageResource?.DependsOn).toContain(groupId);
    },
  );

  it('gives every log group of the stack a retention', () => {
    for (const context of [{}, { stage: 'prod' }] as Record<string, string>[]) {
      const groups = Object.values(template(context).findResources('AWS::Logs::LogGroup') as Record<string, Resource>);
      expect(groups.length).toBeGreaterThan(HANDLERS.length + 3);
      for (const group of groups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('logs what the WAF blocks or counts to aws-waf-logs-otp-service-<stage>-<stack>, with the secret headers redacted', () => {
    const t = template();
    const [aclId] = Object.keys(t.findResources('AWS::WAFv2::WebACL'));
    const [configuration] = Object.values(
      t.findResources('AWS::WAFv2::LoggingConfiguration') as Record<string, Resource>,
    );
    expect(configuration?.Properties.ResourceArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    expect(JSON.stringify(configuration?.Properties.LogDestinationConfigs)).toContain(
      ':log-group:aws-waf-logs-otp-service-dev-",{"Fn::Select":[2,{"Fn::Split":["/",{"Ref":"AWS::StackId"}]}]}',
    );
    expect(configuration?.Properties.RedactedFields).toEqual([
      { SingleHeader: { Name: 'authorization' } },
      { SingleHeader: { Name: 'x-api-key' } },
      { SingleHeader: { Name: 'x-otp-session' } },
    ]);
    expect(configuration?.Properties.LoggingFilter).toEqual({
      DefaultBehavior: 'DROP',
      Filters: [
        {
          Behavior: 'KEEP',
          Requirement: 'MEETS_ANY',
          Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
        },
      ],
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: { 'Fn::Join': ['', ['aws-waf-logs-otp-service-dev-', Match.anyValue()]] },
      RetentionInDays: 30,
    });
    template({ waf: 'false' }).resourceCountIs('AWS::WAFv2::LoggingConfiguration', 0);
  });
});

describe('OtpStack hard caps on SMS spend', () => {
  const sendFunction = (t: Template) =>
    Object.values(
      t.findResources('AWS::Lambda::Function', {
        Properties: { Description: 'OTP service: send-otp' },
      }) as Record<string, Resource>,
    )[0];

  it('reserves 10 concurrent sends by default, sendConcurrency of them when set, none with 0', () => {
    expect(sendFunction(template())?.Properties.ReservedConcurrentExecutions).toBe(10);
    expect(sendFunction(template({ sendConcurrency: '25' }))?.Properties.ReservedConcurrentExecutions).toBe(25);
    expect(sendFunction(template({ sendConcurrency: '0' }))?.Properties.ReservedConcurrentExecutions).toBeUndefined();
    // E-mail costs too: the cap holds without SMS.
    expect(
      sendFunction(template({ smsCountries: '', emailFrom: 'no-reply@acme.example' }))?.Properties
        .ReservedConcurrentExecutions,
    ).toBe(10);
    const others = Object.values(
      template().findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('^OTP service: (?!send-otp)') },
      }) as Record<string, Resource>,
    );
    expect(others).toHaveLength(HANDLERS.length);
    for (const fn of others) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('builds the functions without the X-Ray SDK and with credentials from the environment, unless xraySdkTracing', () => {
    const lean = synth().stack.service.bundling;
    // SMS only here: the send function is built without the SES client (CHANNEL_DEFINES).
    expect(lean.define).toEqual({ [XRAY_SDK_DEFINE]: '"off"', [CHANNEL_DEFINES.email]: '"off"' });
    // Credentials from the environment; the phone metadata of the SMS countries only (US here).
    expect(lean.esbuildArgs?.['--alias']).toEqual([
      expect.stringMatching(/^@aws-sdk\/credential-provider-node=\/.*\/functions\/adapters\/lambda-credentials\.ts$/),
      `${PHONE_METADATA_IMPORT}=${phoneMetadataAlias(['US'])[PHONE_METADATA_IMPORT]}`,
    ]);
    // E-mail only: no phone metadata at all, and no SNS client.
    const emailOnly = synth({ smsCountries: '', emailFrom: 'no-reply@acme.example' }).stack.service.bundling;
    expect(emailOnly.define).toEqual({ [XRAY_SDK_DEFINE]: '"off"', [CHANNEL_DEFINES.sms]: '"off"' });
    // Both channels: both clients.
    expect(synth({ emailFrom: 'no-reply@acme.example' }).stack.service.bundling.define).toEqual({
      [XRAY_SDK_DEFINE]: '"off"',
    });
    expect(emailOnly.esbuildArgs).toEqual({
      '--alias': [
        expect.stringMatching(/^@aws-sdk\/credential-provider-node=/),
        `${PHONE_METADATA_IMPORT}=${phoneMetadataAlias([])[PHONE_METADATA_IMPORT]}`,
      ],
    });
    const traced = synth({ xraySdkTracing: 'true' }).stack.service.bundling;
    expect(traced.define).toEqual({ [CHANNEL_DEFINES.email]: '"off"' });
    expect(traced.esbuildArgs).toEqual(lean.esbuildArgs);
    expect(() => synth({ xraySdkTracing: 'yes' })).toThrow(/xraySdkTracing/);
    // Lambda's own active tracing stays on either way.
    const functions = template().findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^OTP service: ') },
    }) as Record<string, Resource>;
    expect(Object.keys(functions)).toHaveLength(HANDLERS.length + 1); // and the cleanup
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  const smsAttributeCalls = (t: Template) =>
    Object.values(t.findResources('Custom::AWS') as Record<string, Resource>).filter(
      (call) => sdkCall(call.Properties.Create).action === 'SetSMSAttributes',
    );

  it("leaves the account's SNS SMS settings alone unless asked", () => {
    for (const context of [{}, { stage: 'prod' }, { protectConfigurationDefault: 'true' }] as Record<
      string,
      string
    >[]) {
      const t = template(context);
      expect(smsAttributeCalls(t), JSON.stringify(context)).toEqual([]);
      expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).not.toContain('sns:SetSMSAttributes');
    }
  });

  it("sets the account's MonthlySpendLimit with smsMonthlySpendLimitUsd, and leaves it on delete", () => {
    const t = template({ smsMonthlySpendLimitUsd: '200' });
    const [call] = smsAttributeCalls(t);
    const set = {
      service: '@aws-sdk/client-sns',
      action: 'SetSMSAttributes',
      parameters: { attributes: { MonthlySpendLimit: '200' } },
      physicalResourceId: { id: 'sns-sms-attributes' },
    };
    expect(sdkCall(call?.Properties.Create)).toEqual(set);
    expect(sdkCall(call?.Properties.Update)).toEqual(set);
    expect(call?.Properties.Delete).toBeUndefined();
    const statements = Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>)
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => JSON.stringify(statement.Action).includes('sns:SetSMSAttributes'));
    expect(statements).toEqual([{ Effect: 'Allow', Action: 'sns:SetSMSAttributes', Resource: '*' }]);
    expect(JSON.stringify(t.findResources('AWS::IAM::Role'))).not.toContain('sns.amazonaws.com');
  });

  it.each([
    ['failures', '0'],
    ['all', '100'],
  ])(
    'turns on SMS delivery-status logs (%s: success sampling %s) into two groups of the stack, through a role only SNS of this account may assume',
    (logs, rate) => {
      const { stack, template: t } = synth({ smsDeliveryStatusLogs: logs, smsMonthlySpendLimitUsd: '300' });
      const settings = stack.service.smsAccountSettings;
      const roleId = stack.getLogicalId(settings?.deliveryStatusRole?.node.defaultChild as CfnElement);
      const [call] = smsAttributeCalls(t);
      expect(sdkCall(call?.Properties.Create)).toMatchObject({
        parameters: {
          attributes: {
            MonthlySpendLimit: '300',
            DeliveryStatusIAMRole: 'ID',
            DeliveryStatusSuccessSamplingRate: rate,
          },
        },
      });
      expect(JSON.stringify(call?.Properties.Create)).toContain(JSON.stringify({ 'Fn::GetAtt': [roleId, 'Arn'] }));
      // The role goes with the stack: clear it, without failing the deletion on it.
      expect(sdkCall(call?.Properties.Delete)).toEqual({
        service: '@aws-sdk/client-sns',
        action: 'SetSMSAttributes',
        parameters: { attributes: { DeliveryStatusIAMRole: '' } },
        ignoreErrorCodesMatching: '.*',
      });
      const role = (t.findResources('AWS::IAM::Role') as Record<string, Resource>)[roleId];
      expect(role?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'sns.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
      expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
      const groups = settings?.deliveryLogGroups;
      const groupIds = [groups?.success, groups?.failure].map((group) =>
        stack.getLogicalId(group?.node.defaultChild as CfnElement),
      );
      expect(role?.Properties.Policies[0].PolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: groupIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
        },
      ]);
      const logGroups = t.findResources('AWS::Logs::LogGroup') as Record<string, Resource>;
      expect(groupIds.map((id) => JSON.stringify(logGroups[id]?.Properties.LogGroupName))).toEqual([
        JSON.stringify({
          'Fn::Join': [
            '',
            ['sns/', { Ref: 'AWS::Region' }, '/', { Ref: 'AWS::AccountId' }, '/DirectPublishToPhoneNumber'],
          ],
        }),
        JSON.stringify({
          'Fn::Join': [
            '',
            ['sns/', { Ref: 'AWS::Region' }, '/', { Ref: 'AWS::AccountId' }, '/DirectPublishToPhoneNumber/Failure'],
          ],
        }),
      ]);
      for (const id of groupIds) expect(logGroups[id]?.Properties.RetentionInDays).toBe(30);
      const passRole = Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>)
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
        .filter((statement) => statement.Action === 'iam:PassRole');
      expect(passRole).toEqual([
        {
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: { 'Fn::GetAtt': [roleId, 'Arn'] },
          Condition: { StringEquals: { 'iam:PassedToService': 'sns.amazonaws.com' } },
        },
      ]);
    },
  );
});
