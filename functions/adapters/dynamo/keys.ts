import type { Purpose } from '../../core/purposes.js';
import { CLIENTS_TABLE, CUSTOMERS_TABLE, STATE_TABLE } from '../../tables.js';

/**
 * Every key of the tables, defined once: the store writes items under these, and tests import them
 * instead of spelling keys out. Targets and source IPs appear only as opaque keyed hashes.
 */
export const stateKey = {
  /** The live code of a target for one purpose: a new code replaces the previous one. */
  code: (targetKey: string, purpose: Purpose) => `code#${targetKey}#${purpose}`,
  /** A send's Idempotency-Key record, by the keyed hash of the key (core/idempotency.ts idempotencyRecordKey). */
  idempotency: (recordKey: string) => `idem#${recordKey}`,
  /**
   * A mailbox's send counts (hour, day, cooldown, lock) for one UTC day, under the keyed hash of the
   * target's mailbox (targets.ts, mailboxOf): `ada+1@x.com` and `ada+2@x.com` count on `ada@x.com`'s.
   * An address without a tag is its own mailbox, so its key is its target key.
   */
  sendCounter: (mailboxKey: string, dayIndex: number) => `send#${mailboxKey}#${dayIndex}`,
  /** Sends from one network in one UTC hour. */
  ipCounter: (ipKey: string, hourIndex: number) => `ip#${ipKey}#${hourIndex}`,
  /**
   * SMS caps of one UTC hour: a country's (on one of its shards; also where the breaker's pause is
   * stamped), a number block's, the deployment's (sharded), and a client's own, all and per country.
   */
  smsCountry: (country: string, hourIndex: number, shard: number) => `smscountry#${country}#${hourIndex}#${shard}`,
  smsBlock: (blockKey: string, hourIndex: number) => `smsblock#${blockKey}#${hourIndex}`,
  smsDeployment: (hourIndex: number, shard: number) => `smsall#${hourIndex}#${shard}`,
  smsClient: (clientId: string, hourIndex: number, shard: number) => `smsclient#${clientId}#${hourIndex}#${shard}`,
  smsClientCountry: (clientId: string, country: string, hourIndex: number, shard: number) =>
    `smsclientcountry#${clientId}#${country}#${hourIndex}#${shard}`,
  /** A country's SMS sent and verified in one breaker window, on one of its shards. */
  breaker: (country: string, windowIndex: number, shard: number) => `breaker#${country}#${windowIndex}#${shard}`,
  /** A country's latest breaker trip: who claimed it, until when. */
  breakerTrip: (country: string) => `breakertrip#${country}`,
  /** A mailbox's run of wrong codes, across its tags (keyed like sendCounter). */
  failures: (mailboxKey: string) => `fails#${mailboxKey}`,
  /** A session, by the SHA-256 of its token. */
  session: (tokenHash: string) => `session#${tokenHash}`,
  /** A refresh token, by its SHA-256: leads to its family and the session issued with it. */
  refresh: (tokenHash: string) => `refresh#${tokenHash}`,
  /** A refresh family: which refresh token and session are current, its lifetimes, whether revoked. */
  family: (sid: string) => `family#${sid}`,
} as const;

/** The kind of a state item (code, send, ip, fails, session), as the cleanup counts them. */
export function kindOf(pk: string): string {
  return pk.slice(0, pk.indexOf('#'));
}

/** The partition of the `due` index that lists items expiring in one UTC hour, in one of its shards. */
export function dueBucket(hourIndex: number, shard: number): string {
  return `due#${hourIndex}#${shard}`;
}

/** The clients table: a client's item, and the item that leads from a key's SHA-256 to its client. */
export const clientsKey = {
  client: (clientId: string) => `client#${clientId}`,
  apiKey: (keyHash: string) => `apikey#${keyHash}`,
} as const;

/**
 * The customers table: a customer under its id, and one lookup item per identifier (e-mail, phone)
 * under the target's keyed hash, which is what makes a target belong to at most one customer.
 * Customers stored before keys were hashed sit under their plain target (`legacy`) until moved.
 */
export const customerKey = {
  customer: (customerId: string) => `customer#${customerId}`,
  target: (targetKey: string) => `target#${targetKey}`,
  legacy: (address: string) => address,
} as const;

export const STATE_PK = STATE_TABLE.partitionKey;
export const CUSTOMER_PK = CUSTOMERS_TABLE.partitionKey;
export const CLIENT_PK = CLIENTS_TABLE.partitionKey;
export const TTL = STATE_TABLE.timeToLiveAttribute;

/** Epoch seconds, as DynamoDB TTL wants them. */
export const ttlOf = (epochMs: number): number => Math.ceil(epochMs / 1000);
