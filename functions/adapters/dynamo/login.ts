import { PutItemCommand, type PutItemCommandInput, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { InvalidCodeError } from '../../core/errors.js';
import type { Customer, LoginCompletion, Owner, SessionRecord } from '../../core/ports.js';
import type { Dynamo } from './client.js';
import { consumeCode } from './codes.js';
import {
  CUSTOMER_TRIES,
  findOwner,
  getCustomer,
  loginUpdate,
  migrateLegacyCustomer,
  newCustomerItems,
  otherKeyChecks,
  ownerFromRefusedLookup,
  rekeyCustomer,
  refusedByOtherKey,
} from './customers.js';
import { STATE_PK } from './keys.js';
import { loginFamily } from './refresh.js';
import { cancellationReasons, transact } from './retry.js';
import { sessionItem } from './sessions.js';

/**
 * Consumes the code, writes the session and its family and creates the customer or updates its login
 * metadata, in one transaction: either the login happened or the code is still there. The code's
 * condition makes it single-use; the lookup item's makes find-or-create safe (a lost race hands the
 * session to the winner); the customer's condition that it still holds the target makes a login
 * racing an update-* go to whoever owns the target afterwards. The refresh token's own item is a
 * plain put beside the transaction (refresh.ts, loginFamily: without its family it leads nowhere);
 * should it fail where the transaction passed, it is written again before the login answers.
 */
export async function completeLogin(
  dynamo: Dynamo,
  login: LoginCompletion,
): Promise<{ customer: Customer; isNew: boolean }> {
  let owner: Owner | undefined = login.owner;
  for (let round = 1; ; round++) {
    if (owner?.legacy) owner = { customerId: await migrateLegacyCustomer(dynamo, login.target, owner.legacy) };
    // Found under the pepper before a rotation: moved to the current key first (customers.ts).
    if (owner?.previousKey !== undefined) {
      owner = { customerId: await rekeyCustomer(dynamo, login.target, owner.customerId, owner.previousKey) };
    }
    const session: SessionRecord = { ...login.session, customerId: owner?.customerId ?? login.newCustomer.id };
    const { items, refreshToken } = loginItems(dynamo, login, session);
    // Sent in each round, with the session of that round: the owner it names may have changed.
    const putRefreshToken = () =>
      refreshToken ? dynamo.client.send(new PutItemCommand(refreshToken)).then(() => undefined) : Promise.resolve();
    if (!owner) {
      const customer = afterLogin(login.newCustomer, login.now, session);
      const created = [...items.slice(0, 2), ...newCustomerItems(dynamo, login.target, customer), ...items.slice(2)];
      // During a pepper rotation, only if no other key holds the target either (customers.ts).
      const [written, kept] = await Promise.allSettled([
        transact(dynamo, [...created, ...otherKeyChecks(dynamo, login.target)]),
        putRefreshToken(),
      ]);
      if (written.status === 'fulfilled') {
        // Failed beside a transaction that passed: once more, after it (a rare third round trip).
        if (kept.status === 'rejected') await putRefreshToken();
        return { customer, isNew: true };
      }
      // Refused or failed: a refresh token written beside it leads nowhere (no family).
      const error: unknown = written.reason;
      const reasons = cancellationReasons(error);
      if (reasons[0]?.Code === 'ConditionalCheckFailed') throw new InvalidCodeError();
      if (round >= CUSTOMER_TRIES) throw error;
      // Another login created a customer for this target first: the session belongs to it.
      const winner = ownerFromRefusedLookup(reasons[2]);
      if (winner !== undefined) {
        owner = { customerId: winner };
        continue;
      }
      // The target has a customer under another pepper's key: find it there.
      if (!refusedByOtherKey(reasons, created.length)) throw error;
      owner = await findOwner(dynamo, login.target);
      continue;
    }
    const update = loginUpdate(dynamo, owner.customerId, login.target, { ...session, now: login.now });
    // The profile is read beside the transaction, not after it: the login costs no third round trip.
    const [written, read, kept] = await Promise.allSettled([
      transact(dynamo, [...items.slice(0, 2), update, ...items.slice(2)]),
      getCustomer(dynamo, owner.customerId),
      putRefreshToken(),
    ]);
    if (written.status === 'rejected') {
      const reasons = cancellationReasons(written.reason);
      if (reasons[0]?.Code === 'ConditionalCheckFailed') throw new InvalidCodeError();
      if (reasons[2]?.Code !== 'ConditionalCheckFailed' || round >= CUSTOMER_TRIES) throw written.reason;
      // The target left this customer (an update-*) between the find and the write: find it again.
      owner = await findOwner(dynamo, login.target);
      continue;
    }
    // Either failed beside a transaction that passed: once more, after it (a rare third round trip).
    const [stored] = await Promise.all([
      read.status === 'fulfilled' ? read.value : getCustomer(dynamo, owner.customerId),
      kept.status === 'rejected' ? putRefreshToken() : undefined,
    ]);
    if (!stored) throw new Error(`customer ${owner.customerId} vanished during its login`);
    // The read may have landed before or after the transaction; the login's sid tells which.
    return {
      customer: stored.lastLoginSid === session.sid ? stored : afterLogin(stored, login.now, session),
      isNew: false,
    };
  }
}

/**
 * The customer as the login left it. The count is the one read before the login plus one: logins of
 * one customer that run at the same moment may each report the same count, while the stored count
 * (an ADD) misses none.
 */
function afterLogin(customer: Customer, now: number, session: SessionRecord): Customer {
  return {
    ...customer,
    lastLoginAt: now,
    lastLoginSid: session.sid,
    loginCount: (customer.loginCount ?? 0) + 1,
    lastLogin: session.origin,
  };
}

/**
 * The transaction's items: the code, the session, then the session's family (refresh.ts); and beside
 * them, for a login with a refresh token, that token's put.
 */
function loginItems(
  dynamo: Dynamo,
  login: LoginCompletion,
  session: SessionRecord,
): { items: TransactWriteItem[]; refreshToken?: PutItemCommandInput } {
  const { family, refreshToken } = loginFamily(dynamo, session, login.refresh);
  const items: TransactWriteItem[] = [
    consumeCode(dynamo, login.code, login.codeHash, login.now),
    {
      Put: {
        TableName: dynamo.tables.stateTable,
        Item: marshall(sessionItem(session, dynamo), { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': STATE_PK },
      },
    },
    family,
  ];
  return { items, refreshToken };
}
