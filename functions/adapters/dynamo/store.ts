import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IdempotencyStore, OtpStore } from '../../core/ports.js';
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

/*
 * The store on DynamoDB, one module per kind of item. Every rule that must hold under concurrency is
 * a condition expression evaluated by DynamoDB, never a read followed by a write, and expiry is
 * always part of the condition because TTL deletion is lazy.
 *
 * Built from parts: plain objects of arrow functions, so that a function given some of them
 * (functions/wiring.ts) carries only the modules and functions those call, and esbuild drops the
 * rest. A class with every method would carry every module into every function. Each part is what
 * one concern of the use cases calls, split where the functions differ (a send reserves, a
 * verification only locks, the authorizer only reads), so that no function carries a write it never
 * makes. Each method is in exactly one part; dynamoStore joins them all.
 */

/** The tables, and whether the expiry sweep is on (OtpConfig carries both). */
export type StoreTables = TableNames & { expirySweep?: boolean };

/**
 * The client and the tables every part works on. `expirySweep`: items list themselves in the `due`
 * index for the cleanup (OTP_EXPIRY_SWEEP).
 */
export function dynamoOf(client: DynamoDBClient, tables: StoreTables): Dynamo {
  return {
    client,
    tables: {
      stateTable: tables.stateTable,
      customersTable: tables.customersTable,
      clientsTable: tables.clientsTable,
    },
    expirySweep: tables.expirySweep === true,
  };
}

/** What checks a bearer token: a session token's session, an access token's family. */
export const bearerStore = (dynamo: Dynamo): Pick<OtpStore, 'getSession' | 'findSession'> => ({
  getSession: (tokenHash) => sessions.getSession(dynamo, tokenHash),
  findSession: (sid) => families.findSession(dynamo, sid),
});

/** Logging out: one session, or every session of a customer. */
export const logoutStore = (dynamo: Dynamo): Pick<OtpStore, 'revokeSession' | 'revokeCustomerSessions'> => ({
  revokeSession: (session, now) => sessions.revokeSession(dynamo, session, now),
  revokeCustomerSessions: (customerId, now) => families.revokeCustomerSessions(dynamo, customerId, now),
});

/** A customer's sessions, listed from their families. */
export const sessionListStore = (dynamo: Dynamo): Pick<OtpStore, 'listSessions'> => ({
  listSessions: (customerId, now, limit) => families.listSessions(dynamo, customerId, now, limit),
});

/** Refresh tokens and their rotation. */
export const refreshStore = (dynamo: Dynamo): Pick<OtpStore, 'findRefresh' | 'rotateRefresh'> => ({
  findRefresh: (refreshHash) => refresh.findRefresh(dynamo, refreshHash),
  rotateRefresh: (rotation) => refresh.rotateRefresh(dynamo, rotation),
});

/** Reading customers: by id, and who owns a target. */
export const ownerStore = (dynamo: Dynamo): Pick<OtpStore, 'findOwner' | 'getCustomer'> => ({
  findOwner: (target) => customers.findOwner(dynamo, target),
  getCustomer: (customerId) => customers.getCustomer(dynamo, customerId),
});

/** Moving a customer's identifiers: migrating, re-keying, linking a target. */
export const identityStore = (
  dynamo: Dynamo,
): Pick<OtpStore, 'migrateLegacyCustomer' | 'rekeyCustomer' | 'linkTarget'> => ({
  migrateLegacyCustomer: (target, legacy) => customers.migrateLegacyCustomer(dynamo, target, legacy),
  rekeyCustomer: (target, owner) => customers.rekeyCustomer(dynamo, target, owner.customerId, owner.previousKey),
  linkTarget: (link) => customers.linkTarget(dynamo, link),
});

/** The login transaction. */
export const loginStore = (dynamo: Dynamo): Pick<OtpStore, 'completeLogin'> => ({
  completeLogin: (completion) => login.completeLogin(dynamo, completion),
});

/** Counting a send against every limit. */
export const sendLimitStore = (dynamo: Dynamo): Pick<OtpStore, 'reserveSend'> => ({
  reserveSend: (request) => reserveSend(dynamo, request),
});

/** The locks a verification stamps on a mailbox's send counters. */
export const sendLockStore = (dynamo: Dynamo): Pick<OtpStore, 'lockSends' | 'bindNewCodes' | 'unbindNewCodes'> => ({
  lockSends: (mailboxKey, now, until, cooldown) => lockSends(dynamo, mailboxKey, now, until, cooldown),
  bindNewCodes: (mailboxKey, now, until, cooldown) =>
    lockSends(dynamo, mailboxKey, now, until, cooldown, 'tokenOnlyUntil'),
  unbindNewCodes: (mailboxKey, now) => endTokenOnly(dynamo, mailboxKey, now),
});

/** Storing a code, and taking back one that was not delivered. */
export const codeStore = (dynamo: Dynamo): Pick<OtpStore, 'saveCode' | 'discardCode'> => ({
  saveCode: (code) => codes.saveCode(dynamo, code),
  discardCode: (code, codeHash) => codes.discardCode(dynamo, code, codeHash),
});

/** Counting attempts on a code. */
export const attemptStore = (dynamo: Dynamo): Pick<OtpStore, 'recordAttempt' | 'releaseAttempt'> => ({
  recordAttempt: (code, now, max, tokenHash) => codes.recordAttempt(dynamo, code, now, max, tokenHash),
  releaseAttempt: (code, codeHash) => codes.releaseAttempt(dynamo, code, codeHash),
});

/** Runs of wrong codes. */
export const failureStore = (
  dynamo: Dynamo,
): Pick<OtpStore, 'failures' | 'reserveGuess' | 'settleWrongGuess' | 'releaseGuess' | 'clearFailures'> => ({
  failures: (mailboxKey, now) => failures.failures(dynamo, mailboxKey, now),
  reserveGuess: (request) => failures.reserveGuess(dynamo, request),
  settleWrongGuess: (guess, now, windowMs) => failures.settleWrongGuess(dynamo, guess, now, windowMs),
  releaseGuess: (guess) => failures.releaseGuess(dynamo, guess),
  clearFailures: (mailboxKey) => failures.clearFailures(dynamo, mailboxKey),
});

/** The conversion breaker as a send runs it: counting SMS, judging windows, pausing a country. */
export const breakerStore = (
  dynamo: Dynamo,
): Pick<
  OtpStore,
  'countSmsSent' | 'uncountSmsSent' | 'breakerWindows' | 'deferBreaker' | 'claimBreakerTrip' | 'pauseCountry'
> => ({
  countSmsSent: (breaker) => sms.countSmsSent(dynamo, breaker),
  uncountSmsSent: (breaker, shard) => sms.uncountSmsSent(dynamo, breaker, shard),
  breakerWindows: (breaker) => sms.breakerWindows(dynamo, breaker),
  deferBreaker: (breaker, shard, until) => sms.deferBreaker(dynamo, breaker, shard, until),
  claimBreakerTrip: (breaker, until) => sms.claimBreakerTrip(dynamo, breaker, until),
  pauseCountry: (country, now, until, shards) => sms.pauseCountry(dynamo, country, now, until, shards),
});

/** The conversion breaker as a verification feeds it: a verified SMS code. */
export const conversionStore = (dynamo: Dynamo): Pick<OtpStore, 'countSmsVerified'> => ({
  countSmsVerified: (breaker) => sms.countSmsVerified(dynamo, breaker),
});

/** The cleanup's removal of expired items. */
export const expiryStore = (dynamo: Dynamo): Pick<OtpStore, 'removeExpired'> => ({
  removeExpired: (now, limit, lookbackHours) => removeExpired(dynamo, now, limit, lookbackHours),
});

/** Idempotency-Key records of sends. */
export const idempotencyStore = (dynamo: Dynamo): IdempotencyStore => ({
  takeIdempotencyKey: (claim) => idempotency.takeIdempotencyKey(dynamo, claim),
  completeIdempotencyKey: (completion) => idempotency.completeIdempotencyKey(dynamo, completion),
  releaseIdempotencyKey: (recordKey, attempt) => idempotency.releaseIdempotencyKey(dynamo, recordKey, attempt),
});

/**
 * The whole store: for the local server, the tests and the tools that need every part. A function
 * of the stack takes only the parts its use cases call (functions/wiring.ts).
 */
export function dynamoStore(client: DynamoDBClient, tables: StoreTables): OtpStore {
  const dynamo = dynamoOf(client, tables);
  return {
    ...bearerStore(dynamo),
    ...logoutStore(dynamo),
    ...sessionListStore(dynamo),
    ...refreshStore(dynamo),
    ...ownerStore(dynamo),
    ...identityStore(dynamo),
    ...loginStore(dynamo),
    ...sendLimitStore(dynamo),
    ...sendLockStore(dynamo),
    ...codeStore(dynamo),
    ...attemptStore(dynamo),
    ...failureStore(dynamo),
    ...breakerStore(dynamo),
    ...conversionStore(dynamo),
    ...expiryStore(dynamo),
    ...idempotencyStore(dynamo),
  };
}
