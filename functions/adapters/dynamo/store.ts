import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { OtpStore } from '../../core/ports.js';
import type { Dynamo, TableNames } from './client.js';
import * as codes from './codes.js';
import * as customers from './customers.js';
import { removeExpired } from './due-index.js';
import * as families from './families.js';
import * as idempotency from './idempotency.js';
import * as failures from './failures.js';
import * as login from './login.js';
import * as refresh from './refresh.js';
import { endTokenOnly, lockSends, reserveSend } from './send-limits.js';
import * as sessions from './sessions.js';
import * as sms from './sms-limits.js';

/**
 * The store on DynamoDB, one module per kind of item. Every rule that must hold under concurrency is
 * a condition expression evaluated by DynamoDB, never a read followed by a write, and expiry is
 * always part of the condition because TTL deletion is lazy.
 */
export class DynamoOtpStore implements OtpStore {
  private readonly dynamo: Dynamo;

  /** `expirySweep`: items list themselves in the `due` index for the cleanup (OTP_EXPIRY_SWEEP). */
  constructor(client: DynamoDBClient, tables: TableNames & { expirySweep?: boolean }) {
    this.dynamo = {
      client,
      tables: {
        stateTable: tables.stateTable,
        customersTable: tables.customersTable,
        clientsTable: tables.clientsTable,
      },
      expirySweep: tables.expirySweep === true,
    };
  }

  reserveSend: OtpStore['reserveSend'] = (request) => reserveSend(this.dynamo, request);
  lockSends: OtpStore['lockSends'] = (mailboxKey, now, until, cooldown) =>
    lockSends(this.dynamo, mailboxKey, now, until, cooldown);
  bindNewCodes: OtpStore['bindNewCodes'] = (mailboxKey, now, until, cooldown) =>
    lockSends(this.dynamo, mailboxKey, now, until, cooldown, 'tokenOnlyUntil');
  unbindNewCodes: OtpStore['unbindNewCodes'] = (mailboxKey, now) => endTokenOnly(this.dynamo, mailboxKey, now);
  saveCode: OtpStore['saveCode'] = (code) => codes.saveCode(this.dynamo, code);
  discardCode: OtpStore['discardCode'] = (code, codeHash) => codes.discardCode(this.dynamo, code, codeHash);
  recordAttempt: OtpStore['recordAttempt'] = (code, now, max, tokenHash) =>
    codes.recordAttempt(this.dynamo, code, now, max, tokenHash);
  findOwner: OtpStore['findOwner'] = (target) => customers.findOwner(this.dynamo, target);
  getCustomer: OtpStore['getCustomer'] = (customerId) => customers.getCustomer(this.dynamo, customerId);
  migrateLegacyCustomer: OtpStore['migrateLegacyCustomer'] = (target, legacy) =>
    customers.migrateLegacyCustomer(this.dynamo, target, legacy);
  rekeyCustomer: OtpStore['rekeyCustomer'] = (target, owner) =>
    customers.rekeyCustomer(this.dynamo, target, owner.customerId, owner.previousKey);
  completeLogin: OtpStore['completeLogin'] = (completion) => login.completeLogin(this.dynamo, completion);
  linkTarget: OtpStore['linkTarget'] = (link) => customers.linkTarget(this.dynamo, link);
  failures: OtpStore['failures'] = (mailboxKey, now) => failures.failures(this.dynamo, mailboxKey, now);
  reserveGuess: OtpStore['reserveGuess'] = (request) => failures.reserveGuess(this.dynamo, request);
  settleWrongGuess: OtpStore['settleWrongGuess'] = (guess, now, windowMs) =>
    failures.settleWrongGuess(this.dynamo, guess, now, windowMs);
  releaseGuess: OtpStore['releaseGuess'] = (guess) => failures.releaseGuess(this.dynamo, guess);
  releaseAttempt: OtpStore['releaseAttempt'] = (code, codeHash) => codes.releaseAttempt(this.dynamo, code, codeHash);
  clearFailures: OtpStore['clearFailures'] = (mailboxKey) => failures.clearFailures(this.dynamo, mailboxKey);
  countSmsSent: OtpStore['countSmsSent'] = (breaker) => sms.countSmsSent(this.dynamo, breaker);
  uncountSmsSent: OtpStore['uncountSmsSent'] = (breaker, shard) => sms.uncountSmsSent(this.dynamo, breaker, shard);
  countSmsVerified: OtpStore['countSmsVerified'] = (breaker) => sms.countSmsVerified(this.dynamo, breaker);
  breakerWindows: OtpStore['breakerWindows'] = (breaker) => sms.breakerWindows(this.dynamo, breaker);
  deferBreaker: OtpStore['deferBreaker'] = (breaker, shard, until) =>
    sms.deferBreaker(this.dynamo, breaker, shard, until);
  claimBreakerTrip: OtpStore['claimBreakerTrip'] = (breaker, until) =>
    sms.claimBreakerTrip(this.dynamo, breaker, until);
  pauseCountry: OtpStore['pauseCountry'] = (country, now, until, shards) =>
    sms.pauseCountry(this.dynamo, country, now, until, shards);
  getSession: OtpStore['getSession'] = (tokenHash) => sessions.getSession(this.dynamo, tokenHash);
  revokeSession: OtpStore['revokeSession'] = (tokenHash, now) => sessions.revokeSession(this.dynamo, tokenHash, now);
  findRefresh: OtpStore['findRefresh'] = (refreshHash) => refresh.findRefresh(this.dynamo, refreshHash);
  rotateRefresh: OtpStore['rotateRefresh'] = (rotation) => refresh.rotateRefresh(this.dynamo, rotation);
  findSession: OtpStore['findSession'] = (sid) => families.findSession(this.dynamo, sid);
  listSessions: OtpStore['listSessions'] = (customerId, now, limit) =>
    families.listSessions(this.dynamo, customerId, now, limit);
  revokeCustomerSessions: OtpStore['revokeCustomerSessions'] = (customerId, now) =>
    families.revokeCustomerSessions(this.dynamo, customerId, now);
  removeExpired: OtpStore['removeExpired'] = (now, limit, lookbackHours) =>
    removeExpired(this.dynamo, now, limit, lookbackHours);
  takeIdempotencyKey: OtpStore['takeIdempotencyKey'] = (claim) => idempotency.takeIdempotencyKey(this.dynamo, claim);
  completeIdempotencyKey: OtpStore['completeIdempotencyKey'] = (completion) =>
    idempotency.completeIdempotencyKey(this.dynamo, completion);
  releaseIdempotencyKey: OtpStore['releaseIdempotencyKey'] = (recordKey, attempt) =>
    idempotency.releaseIdempotencyKey(this.dynamo, recordKey, attempt);
}
