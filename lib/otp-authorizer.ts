import { type CfnResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { IdentitySource, RequestAuthorizer } from 'aws-cdk-lib/aws-apigateway';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HEADERS_VARIABLE } from '../functions/http/authorizer-policy.js';
import { BUNDLING, FUNCTION_DEFAULTS, handlerEntry } from './function-defaults.js';
import { functionRole } from './otp-logs.js';
import { acknowledgeAuthorizerNagFindings } from './nag-acknowledgements.js';
import type { OtpService } from './otp-service.js';

/** The headers a session token or an access token may come in (API.md, GET /v1/session). */
export type OtpIdentityHeader = 'Authorization' | 'X-OTP-Session';

export interface OtpAuthorizerProps {
  /** The service whose sessions are checked: its state table, signing keys, issuer and settings. */
  readonly service: OtpService;
  /**
   * How long API Gateway keeps an answer for the same identity header value. A session revoked
   * meanwhile (logout, `DELETE /v1/session?all=true`, refresh-token reuse) keeps passing this
   * authorizer until its cached answer expires: revocation is honoured within this time. An
   * expired or revoked token is never cached as allowed beyond it. `Duration.seconds(0)` turns
   * caching off: every call is checked (one DynamoDB read each). At most one hour.
   * @default Duration.seconds(60)
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * The headers the token is read from. With caching on, API Gateway keys the cache on them and
   * answers 401 itself, without calling the function, to a request that lacks any of them: so a
   * cached authorizer takes exactly one (the function then reads only that one, so that a cached
   * answer never stands for a request it would have judged otherwise). With caching off, both can
   * be accepted, by the rules of GET /v1/session (both present and different: 401).
   * @default ['Authorization'] with caching on; ['Authorization', 'X-OTP-Session'] with caching off
   */
  readonly identityHeaders?: readonly OtpIdentityHeader[];
}

/** API Gateway's own limit on the results cache. */
const MAX_CACHE_TTL = Duration.hours(1);

/**
 * A Lambda REQUEST authorizer for a team's own REST API in the stack of an `OtpService`: it allows
 * a call that carries a live session token or access token of the service (checked as
 * GET /v1/session checks it, with one read) and hands the integration the customer id, session,
 * client, purpose, channel and time of the OTP (functions/handlers/authorizer.ts). Use
 * `authorizer` as the `authorizer` of the API's methods. API Gateway attaches an authorizer to one
 * REST API: make one `OtpAuthorizer` per API.
 *
 * The function may only read items of the state table (GetItem) and the signing-key secret
 * (GetSecretValue): not the pepper, the customers or the clients.
 */
export class OtpAuthorizer extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly authorizer: RequestAuthorizer;
  readonly resultsCacheTtl: Duration;
  readonly identityHeaders: readonly OtpIdentityHeader[];

  constructor(scope: Construct, id: string, props: OtpAuthorizerProps) {
    super(scope, id);
    const { service } = props;
    this.resultsCacheTtl = props.resultsCacheTtl ?? Duration.seconds(60);
    const ttl = this.resultsCacheTtl.toSeconds();
    if (ttl > MAX_CACHE_TTL.toSeconds()) {
      throw new Error(`OtpAuthorizer: resultsCacheTtl is at most one hour (got ${ttl} s).`);
    }
    const cached = ttl > 0;
    const defaults: OtpIdentityHeader[] = cached ? ['Authorization'] : ['Authorization', 'X-OTP-Session'];
    this.identityHeaders = [...new Set(props.identityHeaders ?? defaults)];
    if (this.identityHeaders.length === 0) throw new Error('OtpAuthorizer: identityHeaders is empty.');
    if (cached && this.identityHeaders.length > 1) {
      throw new Error(
        'OtpAuthorizer: a cached authorizer takes one identity header (API Gateway refuses, with 401, every ' +
          'request that lacks one of them); name one, or set resultsCacheTtl to Duration.seconds(0) to accept both.',
      );
    }

    // The service's settings (stage, tables, issuer, signing keys), without the pepper's secret,
    // which this function neither reads nor may read.
    const environment = Object.fromEntries(
      Object.entries(service.environment).filter(([name]) => name !== 'OTP_PEPPER_SECRET_ARN'),
    );
    this.logGroup = new LogGroup(this, 'logs', {
      retention: service.production ? RetentionDays.THREE_MONTHS : RetentionDays.ONE_MONTH,
      removalPolicy: service.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.fn = new NodejsFunction(this, 'authorizer', {
      ...FUNCTION_DEFAULTS,
      description: 'OTP service: authorizer',
      entry: handlerEntry('authorizer'),
      handler: 'handler',
      bundling: BUNDLING,
      environment: {
        ...environment,
        OTP_ISSUER: service.issuer,
        [HEADERS_VARIABLE]: this.identityHeaders.join(','),
      },
      logGroup: this.logGroup,
      role: functionRole(this, 'authorizer-role', this.logGroup),
    });
    // Checking a session token reads its session item, an access token its family item: both GetItem.
    this.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [service.tables.state.tableArn] }),
    );
    // The public keys that check access tokens (functions/wiring.ts withSigningKeys).
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [service.signingKeys.secretArn],
      }),
    );
    // Like the service's functions, it reads the keys when it starts: not before the first set exists.
    service.cleanup.onDeploy.executeBefore(this.fn);

    this.authorizer = new RequestAuthorizer(this, 'Authorizer', {
      handler: this.fn,
      resultsCacheTtl: this.resultsCacheTtl,
      identitySources: cached ? this.identityHeaders.map((name) => IdentitySource.header(name)) : [],
    });
    // Without caching, no identity source: API Gateway then calls the function for every request,
    // whichever of the headers it carries, and the function applies the rules itself. (The
    // property is left out rather than set to an empty string.)
    if (!cached) {
      (this.authorizer.node.defaultChild as CfnResource).addPropertyDeletionOverride('IdentitySource');
    }
    acknowledgeAuthorizerNagFindings(this);
  }
}
